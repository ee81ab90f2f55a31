"""What an audit record holds: the attempt the bot is about to make, and how it ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from bot.coc.tasks import Ticket, TicketType


class Outcome(StrEnum):
    """How an attempt to enable a task ended, or ``pending`` while it is under way."""

    PENDING = "pending"
    ENABLED = "enabled"
    FAILED = "failed"
    REFUSED = "refused"
    """The bot declined before calling COC (unmapped user, guardrail, bad input)."""
    UNKNOWN = "unknown"
    """COC may or may not have acted: the answer was lost or unreadable."""


@dataclass(frozen=True)
class Attempt:
    """What the bot knows about an enable before it calls COC."""

    slack_team: str
    slack_user: str
    channel: str
    identity: str | None
    """The identity's name; ``None`` when the bot refused before one was known."""
    task_id: str
    tickets: tuple[Ticket, ...] = ()
    submission_key: str | None = None
    """Slack's view ID of the submitted modal: the same submission delivered twice shares it."""


@dataclass(frozen=True)
class AuditRecord:
    """One row of the audit trail."""

    id: int
    created_at: datetime
    finished_at: datetime | None
    slack_team: str
    slack_user: str
    channel: str
    identity: str | None
    task_id: str
    tickets: tuple[Ticket, ...]
    outcome: Outcome
    error_code: str | None
    error_msg: str | None
    request_id: str | None
    note: str | None
    submission_key: str | None
    lease_until: datetime | None

    @property
    def finished(self) -> bool:
        return self.outcome is not Outcome.PENDING

    def lease_passed(self, now: datetime | None = None) -> bool:
        """Whether this is a pending record whose holder stopped renewing it."""
        if self.finished or self.lease_until is None:
            return False
        return self.lease_until <= (now or datetime.now(UTC))

    def to_json(self) -> dict[str, object]:
        """The record as ``python -m bot audit --json`` prints it."""
        return {
            "at": self.created_at.astimezone(UTC).isoformat(),
            "slack_team": self.slack_team,
            "slack_user": self.slack_user,
            "channel": self.channel,
            "identity": self.identity,
            "task_id": self.task_id,
            "tickets": tickets_to_json(self.tickets),
            "outcome": self.outcome.value,
            "error_code": self.error_code,
            "error_msg": self.error_msg,
            "request_id": self.request_id,
        }


def tickets_to_json(tickets: tuple[Ticket, ...]) -> list[dict[str, str | None]]:
    return [
        {
            "ticket_type": ticket.ticket_type.value,
            "ticket_id": ticket.ticket_id,
            "target_id": ticket.target_id,
            "scope_id": ticket.scope_id,
        }
        for ticket in tickets
    ]


def tickets_from_json(items: object) -> tuple[Ticket, ...]:
    """Read back what :func:`tickets_to_json` stored; anything else is a corrupt row."""
    if not isinstance(items, list):
        raise TypeError(f"tickets must be stored as a JSON list, not {type(items).__name__}")
    return tuple(
        Ticket(
            ticket_type=TicketType(item["ticket_type"]),
            ticket_id=item["ticket_id"],
            target_id=item.get("target_id"),
            scope_id=item.get("scope_id"),
        )
        for item in items
    )
