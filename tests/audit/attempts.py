"""Attempts for the audit tests, varied by keyword, and a way to let their leases pass."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from bot.audit.store import Attempt, AuditRecord
from bot.coc.tasks import Ticket, TicketType

TASK = "ST0123456789abcdefABCDEF01"
OTHER_TASK = "ST9876543210zyxwvuZYXWVU98"

_BASE = Attempt(
    slack_team="T0TEAM",
    slack_user="U0ALICE",
    channel="C0OPS",
    identity="ops-prod",
    task_id=TASK,
    tickets=(Ticket(TicketType.CHANGE, "CH-2024-001", target_id="app-1", scope_id="cn-north-4"),),
    submission_key="V0SUBMISSION",
)


def attempt(**changes: Any) -> Attempt:
    return replace(_BASE, **changes)


async def outlive_lease(record: AuditRecord) -> None:
    """Wait, by the wall clock the store uses, until ``record``'s (tiny) lease has passed."""
    assert record.lease_until is not None
    while datetime.now(UTC) <= record.lease_until:
        await asyncio.sleep(0.005)


# The keys of `python -m bot audit --json`, one object per line: the format auditors rely on.
JSON_KEYS = {
    "at",
    "slack_team",
    "slack_user",
    "channel",
    "identity",
    "task_id",
    "tickets",
    "outcome",
    "error_code",
    "error_msg",
    "request_id",
}
