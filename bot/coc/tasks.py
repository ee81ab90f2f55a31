"""Task IDs and change-management tickets, validated before anything reaches COC."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

TASK_ID_LENGTH = 26
_TASK_ID = re.compile(r"ST[A-Za-z0-9]{24}")
_TICKET_FIELD = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class TicketType(StrEnum):
    CHANGE = "CHANGE"
    INCIDENT = "INCIDENT"
    WARROOM = "WARROOM"


class InvalidTaskId(ValueError):
    """A task ID that COC would not accept; ``problem`` says why in a user's words."""

    def __init__(self, value: str, problem: str) -> None:
        super().__init__(f"Invalid task ID {value[:40]!r}: {problem}")
        self.problem = problem


def parse_task_id(value: str) -> str:
    """Return ``value`` stripped if it is a COC scheduled-task ID, else raise :class:`InvalidTaskId`.

    A task ID is exactly 26 ASCII letters and digits starting with ``ST``. Checking the
    whole shape here is what keeps ``../``, ``%2F`` or look-alike characters out of the URL
    path the ID is put in.
    """
    candidate = value.strip()
    if not candidate:
        raise InvalidTaskId(value, "it is empty")
    if not candidate.startswith("ST"):
        raise InvalidTaskId(value, "it must start with ST")
    if len(candidate) != TASK_ID_LENGTH:
        raise InvalidTaskId(value, f"it must be exactly {TASK_ID_LENGTH} characters, not {len(candidate)}")
    if not _TASK_ID.fullmatch(candidate):
        raise InvalidTaskId(value, "it may hold only the letters A-Z, a-z and the digits 0-9")
    return candidate


def is_task_id(value: str) -> bool:
    try:
        parse_task_id(value)
    except InvalidTaskId:
        return False
    return True


@dataclass(frozen=True)
class Ticket:
    """One change-management ticket, as COC's ``ticket_infos`` item."""

    ticket_type: TicketType
    ticket_id: str
    target_id: str | None = None
    scope_id: str | None = None

    def to_api(self) -> dict[str, str]:
        body = {"ticket_id": self.ticket_id, "ticket_type": self.ticket_type.value}
        if self.target_id:
            body["target_id"] = self.target_id
        if self.scope_id:
            body["scope_id"] = self.scope_id
        return body

    def describe(self) -> str:
        return f"{self.ticket_type.value} {self.ticket_id}"


def is_ticket_field(value: str) -> bool:
    """Whether ``value`` fits a ticket, application or region ID: 1-64 of ``A-Z a-z 0-9 . _ : -``."""
    return _TICKET_FIELD.fullmatch(value) is not None
