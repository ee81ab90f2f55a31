"""A loopback stand-in for Huawei Cloud COC's scheduled-task API and its API gateway.

``CocPeer(keyring)`` is an ASGI app; serve it with :func:`tests.peers.server.serve`. It
checks every request's signature with :mod:`tests.peers.huawei_verify`, then answers as
COC does:

- ``POST /v1/schedule/task/{id}/enable``: 200 ``{"data": id}``; 400 ``COC.00014110`` when
  already enabled, ``COC.00014102`` when unknown, ``COC.00014121`` when the task is in
  another account than the caller's;
- ``POST /v1/schedule/task/{id}/disable``, ``GET /v1/schedule/task/{id}`` (details) and
  ``GET /v1/schedule/task`` (list), shaped as the SDK's response models;
- 401 ``APIGW.0301`` with a ``request_id`` for a bad signature, 404 ``APIGW.0101`` for any
  other path; an ``X-Request-Id`` header on every answer.

Knobs a test may set while the peer runs in its background thread:

- ``peer.add_task(task_id, name, domain_id, enabled=False)``, and ``peer.task(task_id)``
  for a snapshot of its state;
- ``peer.faults.append(Fault.status(503))``: each fault answers one request, in order,
  before its signature is checked;
- ``peer.delay = seconds``: the peer acts, then waits that long before answering.

``peer.calls`` lists every request that arrived, with what was answered. COC does not
document its code for a malformed ``ticket_infos``; until it does, the peer answers
``COC.00014100``.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from tests.peers.huawei_verify import SignatureRejected, query_pairs, verify
from tests.peers.keyring import Key, Keyring

ALREADY_ENABLED = "COC.00014110"
TASK_NOT_FOUND = "COC.00014102"
OTHER_ACCOUNT = "COC.00014121"
INVALID_PARAMETER = "COC.00014100"
TICKET_TYPES = frozenset({"CHANGE", "INCIDENT", "WARROOM"})

_TASK_PATH = re.compile(r"/v1/schedule/task/(?P<task_id>[^/]+)(?:/(?P<action>enable|disable))?")
_LIST_PATH = "/v1/schedule/task"


@dataclass
class PeerTask:
    name: str
    domain_id: str
    enabled: bool = False
    tickets: list[dict[str, Any]] = field(default_factory=list)
    """The ``ticket_infos`` of the last enable."""


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    raw_path: str
    raw_query: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    """Lower-case names, as they arrived."""
    body: Any
    """The parsed JSON body; ``None`` when empty or not JSON."""
    raw_body: bytes
    access_key: str | None
    """The key that signed it, when the signature was checked and good."""
    status: int | None
    """``None`` when the peer dropped the connection instead of answering."""
    request_id: str | None
    at: datetime


@dataclass(frozen=True)
class Fault:
    kind: Literal["status", "throttle", "non_json", "drop", "error"]
    http_status: int = 0
    retry_after: float | None = None
    error_code: str = ""
    error_msg: str = ""

    @classmethod
    def status(cls, status: int) -> Fault:
        return cls("status", status)

    @classmethod
    def throttle(cls, retry_after: float | None = 1, status: int = 429) -> Fault:
        return cls(
            "throttle",
            status,
            retry_after,
            "APIG.0308",
            "The throttling threshold has been reached: policy user over ratelimit",
        )

    @classmethod
    def non_json(cls, status: int = 502) -> Fault:
        return cls("non_json", status)

    @classmethod
    def drop(cls) -> Fault:
        return cls("drop")

    @classmethod
    def error(cls, status: int, error_code: str, error_msg: str) -> Fault:
        return cls("error", status, None, error_code, error_msg)


class CocPeer:
    """COC's scheduled-task API on loopback, for the bot's client and Huawei's own."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self.tasks: dict[str, PeerTask] = {}
        self.faults: deque[Fault] = deque()
        self.delay: float = 0.0
        self._calls: list[Call] = []
        self._lock = threading.Lock()

    # What tests drive and read.

    def add_task(self, task_id: str, name: str, domain_id: str, *, enabled: bool = False) -> None:
        with self._lock:
            self.tasks[task_id] = PeerTask(name, domain_id, enabled)

    def task(self, task_id: str) -> PeerTask:
        with self._lock:
            return replace(self.tasks[task_id], tickets=list(self.tasks[task_id].tickets))

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str, path: str) -> list[Call]:
        return [call for call in self.calls if call.method == method and call.path == path]

    # The ASGI app.

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        body = await request.body()
        request_id = uuid.uuid4().hex
        fault = self.faults.popleft() if self.faults else None

        if fault is not None and fault.kind == "drop":
            self._record(request, body, None, None, None)
            await _drop_connection(send)
            return
        if fault is not None:
            response, key = _fault_answer(fault, request_id), None
        else:
            response, key = self._answer(request, body, request_id)
        response.headers["X-Request-Id"] = request_id
        self._record(request, body, key, response.status_code, request_id)

        if self.delay:
            await asyncio.sleep(self.delay)
        await response(scope, receive, send)

    def _answer(self, request: Request, body: bytes, request_id: str) -> tuple[Response, Key | None]:
        headers = _headers(request)
        try:
            key = verify(
                request.method,
                _raw_path(request),
                request.scope.get("query_string", b""),
                headers,
                body,
                self.keyring,
            )
        except SignatureRejected as exc:
            return _gateway_error(401, exc.error_code, exc.error_msg, request_id), None

        path = request.url.path
        match = _TASK_PATH.fullmatch(path)
        if request.method == "GET" and path == _LIST_PATH:
            return self._list(key, query_pairs(request.scope.get("query_string", b""))), key
        if match is not None and request.method == "GET" and match["action"] is None:
            return self._details(key, match["task_id"]), key
        if match is not None and request.method == "POST" and match["action"] == "enable":
            return self._enable(key, match["task_id"], body), key
        if match is not None and request.method == "POST" and match["action"] == "disable":
            return self._disable(key, match["task_id"]), key
        return (
            _gateway_error(404, "APIGW.0101", "The API does not exist or has not been published", request_id),
            key,
        )

    def _enable(self, key: Key, task_id: str, body: bytes) -> Response:
        tickets, problem = _tickets(body)
        if problem is not None:
            return _coc_error(400, INVALID_PARAMETER, problem)
        with self._lock:
            task, refusal = self._owned(key, task_id)
            if task is None:
                return refusal
            if task.enabled:
                return _coc_error(400, ALREADY_ENABLED, f"The scheduled task {task_id} is already enabled")
            task.enabled = True
            task.tickets = tickets
        return JSONResponse({"data": task_id})

    def _disable(self, key: Key, task_id: str) -> Response:
        with self._lock:
            task, refusal = self._owned(key, task_id)
            if task is None:
                return refusal
            task.enabled = False
        return JSONResponse({"data": task_id})

    def _details(self, key: Key, task_id: str) -> Response:
        with self._lock:
            task, refusal = self._owned(key, task_id)
            if task is None:
                return refusal
            return JSONResponse(_details(task_id, task))

    def _list(self, key: Key, query: list[tuple[str, str]]) -> Response:
        params = dict(query)
        try:
            limit = int(params.get("limit", "10"))
            offset = int(params.get("offset", "0"))
        except ValueError:
            return _coc_error(400, INVALID_PARAMETER, "limit and offset must be integers")
        with self._lock:
            found = [
                (task_id, replace(task))
                for task_id, task in self.tasks.items()
                if task.domain_id == key.domain_id
                and params.get("task_id", task_id) == task_id
                and params.get("task_name", "") in task.name
            ]
        page = found[offset : offset + limit]
        return JSONResponse(
            {
                "count": len(found),
                "next_maker": page[-1][0] if offset + limit < len(found) else None,
                "scheduled_tasks": [_summary(task_id, task) for task_id, task in page],
            }
        )

    def _owned(self, key: Key, task_id: str) -> tuple[PeerTask | None, Response]:
        task = self.tasks.get(task_id)
        if task is None:
            return None, _coc_error(400, TASK_NOT_FOUND, f"The scheduled task {task_id} does not exist")
        if task.domain_id != key.domain_id:
            return None, _coc_error(400, OTHER_ACCOUNT, f"The scheduled task {task_id} belongs to another account")
        return task, Response()

    def _record(
        self, request: Request, body: bytes, key: Key | None, status: int | None, request_id: str | None
    ) -> None:
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        call = Call(
            method=request.method,
            path=request.url.path,
            raw_path=_raw_path(request),
            raw_query=request.scope.get("query_string", b"").decode("ascii"),
            query=query_pairs(request.scope.get("query_string", b"")),
            headers=_headers(request),
            body=parsed,
            raw_body=body,
            access_key=key.access_key if key else None,
            status=status,
            request_id=request_id,
            at=datetime.now(UTC),
        )
        with self._lock:
            self._calls.append(call)


def _tickets(body: bytes) -> tuple[list[dict[str, Any]], str | None]:
    """The ``ticket_infos`` of an enable body, or why they are malformed."""
    if not body:
        return [], None
    try:
        parsed = json.loads(body)
    except ValueError:
        return [], "The request body is not JSON"
    if not isinstance(parsed, dict):
        return [], "The request body must be a JSON object"
    tickets = parsed.get("ticket_infos", [])
    if not isinstance(tickets, list):
        return [], "ticket_infos must be a list"
    for ticket in tickets:
        if not isinstance(ticket, dict):
            return [], "each ticket_infos item must be an object"
        if ticket.get("ticket_type") not in TICKET_TYPES:
            return [], f"ticket_type must be one of {', '.join(sorted(TICKET_TYPES))}"
        if not isinstance(ticket.get("ticket_id"), str) or not ticket["ticket_id"]:
            return [], "ticket_id is required"
    return tickets, None


def _details(task_id: str, task: PeerTask) -> dict[str, Any]:
    """Shaped as ``ShowScheduledTaskResponse``."""
    return {
        "id": task_id,
        "enterprise_project_id": "0",
        "name": task.name,
        "agency_name": "coc_scheduled_agency",
        "trigger_time": {"time_zone": "Asia/Shanghai", "policy": "CRON", "cron": "0 2 * * *"},
        "version_no": "1",
        "task_type": "SCRIPT",
        "associated_task_id": "SC20240101000000000000000001",
        "associated_task_name": "nightly-cleanup",
        "associated_task_type": "CUSTOMIZATION",
        "risk_level": "LOW",
        "input_param": "{}",
        "enable_approve": False,
        "created_user_name": "ops-admin",
        "approve_status": "PASSED",
        "target_instances": "[]",
        "enable_message_notification": False,
    }


def _summary(task_id: str, task: PeerTask) -> dict[str, Any]:
    """Shaped as ``ScheduledTaskBasicInfo``."""
    return {
        "id": task_id,
        "enterprise_project_id": "0",
        "name": task.name,
        "scheduled_type": "CRON",
        "task_type": "SCRIPT",
        "associated_task_type": "CUSTOMIZATION",
        "risk_level": "LOW",
        "created_by": "ops-admin",
        "created_user_name": "ops-admin",
        "approve_status": "PASSED",
        "execution_count": 0,
        "enabled": task.enabled,
        "created_time": 1704067200000,
        "modified_time": 1704067200000,
        "region_id": "cn-north-4",
        "associated_task_name": "nightly-cleanup",
    }


def _coc_error(status: int, code: str, message: str) -> Response:
    return JSONResponse({"error_code": code, "error_msg": message}, status_code=status)


def _gateway_error(status: int, code: str, message: str, request_id: str) -> Response:
    return JSONResponse({"error_code": code, "error_msg": message, "request_id": request_id}, status_code=status)


def _fault_answer(fault: Fault, request_id: str) -> Response:
    if fault.kind == "throttle":
        response = _gateway_error(fault.http_status, fault.error_code, fault.error_msg, request_id)
        if fault.retry_after is not None:
            response.headers["Retry-After"] = f"{fault.retry_after:g}"
        return response
    if fault.kind == "error":
        return _coc_error(fault.http_status, fault.error_code, fault.error_msg)
    if fault.kind == "non_json":
        return Response("<html><body>Bad Gateway</body></html>", fault.http_status, media_type="text/html")
    return PlainTextResponse("Service Unavailable", fault.http_status)


def _headers(request: Request) -> dict[str, str]:
    return {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in request.scope["headers"]}


def _raw_path(request: Request) -> str:
    raw = request.scope.get("raw_path")
    return raw.decode("ascii") if raw else request.url.path


async def _drop_connection(send: Send) -> None:
    """Close the connection without a byte of answer, as a crashed gateway would."""
    # uvicorn hands the app its protocol cycle's bound ``send``, which holds the transport.
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("Fault.drop needs the peer served directly by uvicorn")
    transport.abort()
    # Let uvicorn see the loss before the app returns, so it does not try a 500 answer.
    for _ in range(100):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)
