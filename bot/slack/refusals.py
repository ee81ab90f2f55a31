"""Telling a user why the bot will not act for them, and keeping that in the audit trail."""

from __future__ import annotations

import logging

from bot import messages
from bot.audit.store import Attempt, AuditStore
from bot.errors import StoreError
from bot.identities.resolver import RefusalReason, Refused

log = logging.getLogger(__name__)


def refusal_text(refused: Refused, user_id: str) -> str:
    if refused.reason is RefusalReason.LOOKUP_FAILED:
        return messages.LOOKUP_FAILED
    if refused.identity is not None:
        return messages.channel_not_allowed(refused.identity, refused.allowed_channels)
    return messages.unmapped(user_id)


def refusal_inline(refused: Refused, user_id: str) -> str:
    if refused.reason is RefusalReason.LOOKUP_FAILED:
        return messages.LOOKUP_FAILED_INLINE
    if refused.identity is not None:
        return messages.channel_not_allowed_inline(refused.identity)
    return messages.unmapped_inline(user_id)


async def record_refusal(store: AuditStore, attempt: Attempt, refused: Refused) -> None:
    try:
        await store.refuse(attempt, error_code=None, error_msg=refused.reason.value)
    except StoreError:
        log.exception("could not record a refusal for task %s", attempt.task_id)
