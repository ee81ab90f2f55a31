"""Run one enable: claim it in the audit store, call COC as the user's identity, report back.

The Slack handlers acknowledge first and then hand the request to :meth:`EnableService.submit`,
so nothing here delays an acknowledgement. The service keeps every running enable so that a
shutdown can let them finish and post their outcomes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable

from bot import messages
from bot.audit.store import DuplicateSubmission, Outcome, TaskInFlight
from bot.coc import answers
from bot.enabling import outcome
from bot.enabling.outcome import AttemptOutcome
from bot.enabling.parts import EnablingParts
from bot.enabling.request import EnableRequest
from bot.errors import CocError, CocUnavailable, CredentialsError, StoreError

log = logging.getLogger(__name__)


class EnableService:
    def __init__(
        self,
        parts: EnablingParts,
        *,
        in_flight_wait: float,
    ) -> None:
        self._parts = parts
        self._in_flight_wait = in_flight_wait
        self._running: set[asyncio.Task[None]] = set()
        self._records: set[int] = set()
        self._accepting = True

    @property
    def accepting(self) -> bool:
        return self._accepting

    @property
    def in_flight(self) -> int:
        return len(self._running)

    def submit(self, request: EnableRequest) -> None:
        """Start the enable in the background; the caller has already acknowledged Slack."""
        task = asyncio.get_running_loop().create_task(self._guarded(request), name=f"enable {request.task_id}")
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def drain(self, grace: float) -> int:
        """Stop accepting and wait up to ``grace`` seconds for running enables; returns how many did not finish."""
        self._accepting = False
        pending = set(self._running)
        if pending:
            log.info("waiting up to %.0f s for %d enable(s) in flight", grace, len(pending))
            _, pending = await asyncio.wait(pending, timeout=grace)
        for task in pending:
            # Cancelled, its record stays pending, so reconciliation completes it after the restart.
            log.error("enable still running at shutdown, left to reconciliation: %s", task.get_name())
            task.cancel()
        if pending:
            await asyncio.wait(pending)
        return len(pending)

    def holds(self, record_id: int) -> bool:
        """Whether this process is still working on ``record_id`` (so it is not abandoned)."""
        return record_id in self._records

    async def _guarded(self, request: EnableRequest) -> None:
        try:
            await self.enable(request)
        except Exception:
            log.exception("enable of task %s failed unexpectedly", request.task_id)
            # The user must hear something even when the bot itself failed.
            with contextlib.suppress(Exception):
                await self._parts.delivery.to_user(
                    request.audience, messages.INTERNAL_ERROR.format(task_id=request.task_id)
                )

    async def enable(self, request: EnableRequest) -> None:
        try:
            record = await self._parts.store.begin(request.attempt(), lease=self._parts.lease)
        except DuplicateSubmission as exc:
            log.info(
                "submission %s for task %s delivered again; already handled as record %s",
                request.submission_key,
                request.task_id,
                exc.existing.id,
            )
            return
        except TaskInFlight as exc:
            await self._wait_for_holder(request, exc)
            return
        except StoreError:
            log.exception("audit store unavailable; task %s not enabled", request.task_id)
            await self._parts.delivery.to_user(request.audience, messages.STORE_DOWN)
            return

        self._records.add(record.id)
        try:
            try:
                result = await self._with_lease(record.id, self._call_coc(request))
            except Exception:
                await self._finish(record.id, request, Outcome.UNKNOWN, note="the bot failed during the enable")
                raise
            await self._finish(
                record.id,
                request,
                result.outcome,
                error_code=result.error_code,
                error_msg=result.error_msg,
                request_id=result.request_id,
                note=result.note,
            )
        finally:
            # Only now may a reconciler see the record: it is finished, or this process gave up on it.
            self._records.discard(record.id)
        log.info(
            "task %s: %s as %s (record %s)", request.task_id, result.outcome.value, request.identity.name, record.id
        )
        await self._parts.delivery.to_channel(request.audience, result.text)

    async def _with_lease(self, record_id: int, call: Awaitable[AttemptOutcome]) -> AttemptOutcome:
        """Run ``call`` while renewing the record's lease, so no process takes it over meanwhile."""

        async def renew() -> None:
            while True:
                await asyncio.sleep(self._parts.lease.total_seconds() / 3)
                try:
                    await self._parts.store.extend(record_id, lease=self._parts.lease)
                except StoreError as exc:
                    log.warning("could not renew the lease of record %s: %s", record_id, exc)

        renewing = asyncio.create_task(renew(), name=f"lease {record_id}")
        try:
            return await call
        finally:
            renewing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewing

    async def _finish(self, record_id: int, request: EnableRequest, outcome_: Outcome, **details: str | None) -> None:
        try:
            await self._parts.store.finish(record_id, outcome_, **details)
        except StoreError:
            log.exception("could not complete audit record %s for task %s", record_id, request.task_id)

    async def _call_coc(self, request: EnableRequest) -> AttemptOutcome:
        identity_map = self._parts.identity_map()
        renewed = False
        while True:
            try:
                credentials = await self._parts.credentials.credentials_for(
                    request.identity, identity_map, request.slack_user
                )
            except CredentialsError as exc:
                log.warning("identity %s has no credentials: %s", request.identity.name, exc.reason)
                return outcome.no_credentials(request, exc)
            try:
                result = await self._parts.coc.enable_task(
                    request.task_id, request.tickets, credentials, request.identity.domain_id
                )
            except CocError as exc:
                if answers.credentials_rejected(exc) and credentials.temporary and not renewed:
                    # Temporary credentials can be revoked or expire early; renew once and retry.
                    log.info("COC refused temporary credentials of %s; renewing once", request.identity.name)
                    self._parts.credentials.invalidate(request.identity.name, request.slack_user)
                    renewed = True
                    continue
                if exc.error_code == answers.ALREADY_ENABLED and exc.earlier_may_have_acted:
                    return outcome.enabled(request, exc.request_id, note=messages.ALREADY_ENABLED_AFTER_RETRY)
                return outcome.coc_refused(request, exc)
            except CocUnavailable as exc:
                return outcome.coc_unreachable(request, exc)
            return outcome.enabled(request, result.request_id)

    async def _wait_for_holder(self, request: EnableRequest, busy: TaskInFlight) -> None:
        holder = busy.holder
        try:
            await self._parts.store.refuse(
                request.attempt(), error_code=None, error_msg=f"task was being enabled by {holder.slack_user}"
            )
        except StoreError:
            log.exception("could not record the refused attempt on task %s", request.task_id)
        await self._parts.delivery.to_user(request.audience, messages.in_flight(request.task_id, holder.slack_user))
        finished = await self._parts.store.wait_finished(holder.id, timeout=self._in_flight_wait)
        if finished is None or finished.outcome is Outcome.PENDING:
            text = messages.in_flight_still_running(request.task_id, holder.slack_user)
        else:
            detail = finished.error_code and f"{finished.error_code}: {finished.error_msg or ''}"
            text = messages.in_flight_outcome(request.task_id, holder.slack_user, finished.outcome.value, detail)
        await self._parts.delivery.to_user(request.audience, text)
