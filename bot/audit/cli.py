"""``python -m bot audit``: who enabled which task, when, under which identity and ticket."""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bot.audit.records import AuditRecord
from bot.audit.store import AuditStore
from bot.coc.tasks import InvalidTaskId, parse_task_id
from bot.errors import ConfigError, StoreError

_DURATION = re.compile(r"(\d+)\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DETAIL_WIDTH = 60


async def main(argv: list[str], database_url: str) -> int:
    """Print audit records newest first; the exit status is 0, 1 (store) or 2 (arguments)."""
    try:
        args = parser().parse_args(argv)
    except SystemExit as exit_:
        # argparse has printed its message already; the caller owns the process's exit.
        return exit_.code if isinstance(exit_.code, int) else 2

    try:
        async with await AuditStore.open(database_url) as store:
            records = await store.query(
                task_id=args.task,
                slack_user=args.user,
                channel=args.channel,
                since=args.since,
                limit=args.limit,
            )
    except (ConfigError, StoreError) as exc:
        print(f"python -m bot audit: {exc}", file=sys.stderr)
        return 1

    if args.json:
        for record in records:
            print(json.dumps(record.to_json(), ensure_ascii=False))
    else:
        print(render_table(records))
    return 0


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot audit",
        description="Show the audit trail of task enables, newest first.",
    )
    parser.add_argument("--task", type=_task_id, help="only this COC task ID (ST…)")
    parser.add_argument("--user", help="only this Slack user ID (U…)")
    parser.add_argument("--channel", help="only this Slack channel ID (C…)")
    parser.add_argument(
        "--since",
        type=since,
        help="only records from this time on: an ISO date or datetime (UTC unless it says "
        "otherwise), or a duration back from now such as 30m, 2h, 7d or 2w",
    )
    parser.add_argument("--limit", type=_positive, default=50, help="at most this many records (default 50)")
    parser.add_argument("--json", action="store_true", help="print one JSON object per line")
    return parser


def since(value: str, now: datetime | None = None) -> datetime:
    """``--since``: a duration back from ``now``, or an ISO date or datetime."""
    text = value.strip()
    duration = _DURATION.fullmatch(text)
    if duration:
        amount, unit = duration.groups()
        return (now or datetime.now(UTC)) - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{value!r} is neither a duration (30m, 2h, 7d, 2w) nor an ISO date or datetime "
            "(2025-01-31, 2025-01-31T08:00Z)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def render_table(records: Sequence[AuditRecord]) -> str:
    """The records as aligned columns, for people at a terminal."""
    if not records:
        return "No audit records match."
    header = ("AT (UTC)", "OUTCOME", "TASK", "IDENTITY", "USER", "CHANNEL", "TICKETS", "REQUEST ID", "DETAIL")
    rows = [header, *(_row(record) for record in records)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = ("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows)
    return "\n".join(lines)


def _row(record: AuditRecord) -> tuple[str, ...]:
    detail = ": ".join(part for part in (record.error_code, record.error_msg) if part)
    if record.note:
        detail = f"{detail} ({record.note})" if detail else record.note
    detail = " ".join(detail.split())
    if len(detail) > _DETAIL_WIDTH:
        detail = detail[: _DETAIL_WIDTH - 1] + "…"
    return (
        record.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S"),
        record.outcome.value,
        record.task_id,
        record.identity or "-",
        record.slack_user,
        record.channel,
        ", ".join(ticket.describe() for ticket in record.tickets) or "-",
        record.request_id or "-",
        detail or "-",
    )


def _task_id(value: str) -> str:
    try:
        return parse_task_id(value)
    except InvalidTaskId as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a COC task ID: {exc.problem}") from None


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of at least 1")
    return number
