"""Completing audit records that a crash left pending.

A record is written before the COC call and completed after it. One still pending when its
lease has passed belongs to a process that died mid-call: ask COC, under the same identity,
whether the task is now enabled, complete the record, and tell the channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot import messages
from bot.audit.store import AuditRecord, Outcome
from bot.enabling.parts import EnablingParts
from bot.errors import CocError, CocUnavailable, CredentialsError
from bot.slack.delivery import Audience
from bot.slack.escape import escape

log = logging.getLogger(__name__)

NOTE = "reconciled after a restart"


class Reconciler:
    def __init__(
        self,
        parts: EnablingParts,
        *,
        held_here: Callable[[int], bool],
    ) -> None:
        self._parts = parts
        self._held_here = held_here

    async def run_once(self) -> int:
        """Reconcile every abandoned record this process wins; returns how many it completed."""
        done = 0
        for record in await self._parts.store.abandoned():
            if self._held_here(record.id) or not await self._parts.store.take_over(record.id, lease=self._parts.lease):
                continue  # still being worked on here, or another process took it
            try:
                await self._reconcile(record)
            except Exception:
                # One record must not stop the others; this one stays taken until its lease passes.
                log.exception("could not reconcile record %s for task %s", record.id, record.task_id)
                continue
            done += 1
        return done

    async def _reconcile(self, record: AuditRecord) -> None:
        outcome, state, reason = await self._ask_coc(record)
        await self._parts.store.finish(record.id, outcome, error_msg=reason, note=NOTE)
        log.info("reconciled record %s for task %s: %s", record.id, record.task_id, outcome.value)
        text = messages.reconciled(record.task_id, record.slack_user, record.identity or "?", state)
        await self._parts.delivery.to_channel(Audience(record.channel, record.slack_user), text)

    async def _ask_coc(self, record: AuditRecord) -> tuple[Outcome, str, str | None]:
        identity_map = self._parts.identity_map()
        identity = identity_map.identities.get(record.identity or "")
        if identity is None:
            reason = f"identity {record.identity!r} is no longer in the identity map"
            return Outcome.UNKNOWN, messages.RECONCILED_UNKNOWN.format(reason=escape(reason)), reason
        try:
            credentials = await self._parts.credentials.credentials_for(identity, identity_map, record.slack_user)
            details = await self._parts.coc.get_task(record.task_id, credentials, identity.domain_id)
        except (CocError, CocUnavailable, CredentialsError) as exc:
            reason = _describe(exc)
            return Outcome.UNKNOWN, messages.RECONCILED_UNKNOWN.format(reason=escape(reason)), reason
        if details.enabled:
            return Outcome.ENABLED, messages.RECONCILED_ENABLED, None
        return Outcome.FAILED, messages.RECONCILED_DISABLED, "task still disabled after a restart"


def _describe(exc: CocError | CocUnavailable | CredentialsError) -> str:
    if isinstance(exc, CocError):
        return f"COC answered {exc.error_code}: {exc.error_msg}"
    return exc.reason
