"""The result table: each figure, its target and whether it was met."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    name: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None
    """``None`` for a figure shown for context, with no target of its own."""

    @property
    def verdict(self) -> str:
        if self.met is None:
            return ""
        return "PASS" if self.met else "MISS"

    def shown_value(self) -> str:
        if math.isnan(self.value):
            return "n/a"
        if self.unit == "count":
            return f"{self.value:,.0f}"
        digits = 0 if abs(self.value) >= 100 else 1 if abs(self.value) >= 10 else 2
        return f"{self.value:,.{digits}f} {self.unit}".rstrip()


def at_most(name: str, value: float, limit: float, unit: str) -> Figure:
    return Figure(name, value, unit, f"< {limit:g} {unit}".rstrip(), not math.isnan(value) and value < limit)


def no_more_than(name: str, value: float, limit: float, unit: str) -> Figure:
    return Figure(name, value, unit, f"<= {limit:g} {unit}".rstrip(), not math.isnan(value) and value <= limit)


def at_least(name: str, value: float, limit: float, unit: str) -> Figure:
    return Figure(name, value, unit, f">= {limit:g} {unit}".rstrip(), not math.isnan(value) and value >= limit)


def exactly(name: str, value: float, wanted: float, unit: str = "count") -> Figure:
    return Figure(name, value, unit, f"= {wanted:g}", value == wanted)


def info(name: str, value: float, unit: str) -> Figure:
    return Figure(name, value, unit)


def table(sections: Sequence[tuple[str, Sequence[Figure]]]) -> str:
    rows = [(figure.name, figure.shown_value(), figure.target, figure.verdict) for _, f in sections for figure in f]
    widths = [max([len(header), *(len(row[i]) for row in rows)]) for i, header in enumerate(_HEADERS)]
    rule = "  ".join("-" * width for width in widths)
    lines = ["  ".join(header.ljust(width) for header, width in zip(_HEADERS, widths, strict=True)), rule]
    for title, figures in sections:
        if not figures:
            continue
        lines.append(f"[{title}]")
        for figure in figures:
            cells = (figure.name, figure.shown_value(), figure.target, figure.verdict)
            lines.append("  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip())
    return "\n".join(lines)


_HEADERS = ("figure", "value", "target", "")
