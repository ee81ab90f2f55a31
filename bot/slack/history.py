"""``/enable-schedule history``: the channel's recent audit records, for the asking user."""

from __future__ import annotations

from bot import messages
from bot.audit.store import AuditStore
from bot.errors import StoreError

HISTORY_LIMIT = 10


async def channel_history(store: AuditStore, channel_id: str, task_id: str | None) -> str:
    try:
        records = await store.query(channel=channel_id, task_id=task_id, limit=HISTORY_LIMIT)
    except StoreError:
        return messages.STORE_DOWN
    lines = [
        messages.history_line(
            record.created_at.strftime("%Y-%m-%d %H:%M UTC"),
            record.slack_user,
            record.task_id,
            record.identity,
            record.outcome.value,
            record.error_code,
        )
        for record in records
    ]
    return messages.history(lines, task_id)
