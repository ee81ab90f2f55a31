"""The COC client: enable a scheduled task, read one, list them, under a given identity.

Every call is signed with the caller's credentials and sent over the one pooled
:class:`httpx.AsyncClient` the application owns, which also sets the timeouts.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from bot import retry
from bot.coc import answers
from bot.coc.signing import HuaweiSigner
from bot.coc.tasks import Ticket, parse_task_id
from bot.errors import CocUnavailable
from bot.identities.credentials import Credentials

logger = logging.getLogger(__name__)

JSON_UTF8 = "application/json;charset=utf-8"
"""What Huawei's own COC client sends with a body: COC's declared type, lower-cased."""
JSON = "application/json"
"""What Huawei's own COC client sends without a body."""

# Transport errors raised before the request could reach COC: those worth a retry, and
# those no retry would help.
_NEVER_SENT = (*retry.NOT_SENT, httpx.PoolTimeout, httpx.ProxyError, httpx.UnsupportedProtocol)


@dataclass(frozen=True)
class EnableResult:
    task_id: str
    request_id: str | None
    attempts: int
    """How many times the request was sent; above 1, an earlier try may have acted."""


@dataclass(frozen=True)
class TaskDetails:
    task_id: str
    name: str
    enabled: bool
    """Read from COC's task list: the details answer has no such field."""
    agency_name: str | None = None
    risk_level: str | None = None
    task_type: str | None = None
    created_user_name: str | None = None


@dataclass(frozen=True)
class TaskSummary:
    task_id: str
    name: str
    enabled: bool | None
    scheduled_type: str | None = None
    risk_level: str | None = None
    region_id: str | None = None


@dataclass(frozen=True)
class _Answer:
    response: httpx.Response
    body: Any
    attempts: int


def _optional_str(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) else None


class CocClient:
    """COC's scheduled-task API, one method per call the bot makes."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, *, retries: int = 2) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._retries = retries

    async def enable_task(
        self,
        task_id: str,
        tickets: Sequence[Ticket],
        credentials: Credentials,
        domain_id: str,
    ) -> EnableResult:
        """Enable a scheduled task; raise :class:`CocError` or :class:`CocUnavailable` if not.

        Without tickets the body is ``{}``, as Huawei's client sends for an empty
        ``EnableScheduledTaskRequestBody``; ``ticket_infos`` is optional unless the
        account's change control demands a ticket.
        """
        task_id = parse_task_id(task_id)
        body: dict[str, Any] = {}
        if tickets:
            body["ticket_infos"] = [ticket.to_api() for ticket in tickets]

        answer = await self._call("POST", f"/v1/schedule/task/{task_id}/enable", credentials, domain_id, body=body)

        data = answer.body.get("data") if isinstance(answer.body, dict) else ""
        if data is not None and not isinstance(data, str):
            raise answers.unexpected(answer.response, 'a JSON object such as {"data": "ST…"}')
        return EnableResult(task_id, answers.request_id(answer.response, answer.body), answer.attempts)

    async def get_task(self, task_id: str, credentials: Credentials, domain_id: str) -> TaskDetails:
        """A task's details, and whether it is enabled."""
        task_id = parse_task_id(task_id)

        answer = await self._call("GET", f"/v1/schedule/task/{task_id}", credentials, domain_id)
        details = answer.body
        if not isinstance(details, dict) or not isinstance(details.get("id"), str):
            raise answers.unexpected(answer.response, "a task object with an id")
        # Until COC's task details carry the enabled flag, it is read from the task list.
        listed = await self._list(credentials, domain_id, {"task_id": task_id, "limit": "1"})
        enabled = next((task.enabled for task in listed if task.task_id == task_id), None)
        if enabled is None:
            raise CocUnavailable(f"COC's task list did not say whether task {task_id} is enabled", may_have_acted=True)

        return TaskDetails(
            task_id=details["id"],
            name=_optional_str(details, "name") or "",
            enabled=enabled,
            agency_name=_optional_str(details, "agency_name"),
            risk_level=_optional_str(details, "risk_level"),
            task_type=_optional_str(details, "task_type"),
            created_user_name=_optional_str(details, "created_user_name"),
        )

    async def list_tasks(
        self,
        credentials: Credentials,
        domain_id: str,
        *,
        limit: int = 1,
        task_name: str | None = None,
    ) -> list[TaskSummary]:
        """Up to ``limit`` tasks, those whose name matches ``task_name`` when given."""
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        params = {"limit": str(limit)}
        if task_name:
            params["task_name"] = task_name
        return await self._list(credentials, domain_id, params)

    async def _list(self, credentials: Credentials, domain_id: str, params: dict[str, str]) -> list[TaskSummary]:
        answer = await self._call("GET", "/v1/schedule/task", credentials, domain_id, params=params)

        listed = answer.body.get("scheduled_tasks", []) if isinstance(answer.body, dict) else None
        if not isinstance(listed, list) or not all(
            isinstance(item, dict) and isinstance(item.get("id"), str) for item in listed
        ):
            raise answers.unexpected(answer.response, 'a JSON object with a "scheduled_tasks" list')
        return [
            TaskSummary(
                task_id=item["id"],
                name=_optional_str(item, "name") or "",
                enabled=item["enabled"] if isinstance(item.get("enabled"), bool) else None,
                scheduled_type=_optional_str(item, "scheduled_type"),
                risk_level=_optional_str(item, "risk_level"),
                region_id=_optional_str(item, "region_id"),
            )
            for item in listed
        ]

    async def _call(
        self,
        method: str,
        path: str,
        credentials: Credentials,
        domain_id: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> _Answer:
        content = None if body is None else json.dumps(body, separators=(",", ":")).encode("utf-8")
        request = self._http.build_request(
            method,
            self._base_url + path,
            params=params,
            content=content,
            headers={"Content-Type": JSON if content is None else JSON_UTF8},
        )
        tally = retry.Attempts()
        started = time.monotonic()

        try:
            response = await retry.send(
                self._http,
                request,
                retries=self._retries,
                auth=HuaweiSigner(credentials, domain_id),
                attempts=tally,
                # Repeating an enable is harmless: COC answers "already enabled", which counts
                # as ours when an earlier try broke; reads are harmless by nature.
                retry_broken=True,
            )
        except httpx.HTTPError as exc:
            elapsed = (time.monotonic() - started) * 1000
            logger.warning(
                "COC %s %s failed after %.0f ms and %d attempt(s): %s",
                method,
                path,
                elapsed,
                tally.made,
                exc.__class__.__name__,
            )
            # An earlier try that got an answer reached COC even if the last one did not.
            reached = bool(tally.answered) or tally.broken > 0 or not isinstance(exc, _NEVER_SENT)
            raise CocUnavailable(_transport_reason(exc), may_have_acted=reached) from exc

        parsed = answers.parse_json(response)
        logger.info(
            "COC %s %s answered %s (request id %s) in %.0f ms after %d attempt(s)",
            method,
            path,
            response.status_code,
            answers.request_id(response, parsed),
            (time.monotonic() - started) * 1000,
            tally.made,
        )
        # A throttled try did nothing; one that met a 5xx or lost its connection may have been carried out.
        earlier = tally.broken > 0 or any(status >= 500 for status in tally.answered[:-1])
        answers.raise_for_answer(response, parsed, attempts=tally.made, earlier_may_have_acted=earlier)
        if parsed is None:
            raise answers.unexpected(response, "JSON")
        return _Answer(response, parsed, tally.made)


def _transport_reason(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ProxyError):
        return f"the proxy did not carry the call to COC ({str(exc)[:120]})"
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
        return f"COC could not be reached ({exc.__class__.__name__}: {str(exc)[:120]})"
    if isinstance(exc, httpx.TimeoutException):
        return f"COC did not answer in time ({exc.__class__.__name__})"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "COC closed the connection without a complete answer"
    return f"COC could not be called ({exc.__class__.__name__}: {str(exc)[:120]})"
