"""A loopback stand-in for Slack's Web API and response URLs.

Serve it with ``with SlackPeer(token).serve() as peer:`` and point the bot at
``SLACK_API_URL=peer.api_url``. It answers ``auth.test``, ``views.open``, ``views.update``,
``views.push``, ``chat.postMessage``, ``chat.postEphemeral`` and ``users.info`` in Slack's
shapes, over form or JSON bodies, and records every call for the test to read back.

Knobs a test may set at any time (the peer runs in a background thread; what it records
sits behind a lock, and the knobs are plain dicts read one key at a time):

- ``peer.users[user_id] = {"name": …, "real_name": …, "email": …}``: the directory
  ``users.info`` reads (a ``profile`` dict may be given instead of ``email``);
- ``peer.channel_errors[channel] = "not_in_channel"``: what posting there answers;
- ``peer.rate_limit(method, times, retry_after)``: HTTP 429 that many times;
- ``peer.delay[method] = seconds``: how long the peer waits before answering.

Response URLs take five posts within thirty minutes, as Slack documents. Slack does not
document what it answers past those limits; until it does, the peer answers 404 with
``used_url`` or ``expired_url``, so a bot must treat any non-200 there as "not delivered".
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.peers.server import serve
from tests.peers.slack_views import complete_view, too_large, view_problems

RESPONSE_URL = "response_url"
"""The method name under which posts to response URLs are recorded."""

TRIGGER_TTL = 3.0
RESPONSE_URL_TTL = 30 * 60.0
RESPONSE_URL_POSTS = 5
MAX_VIEW_STACK = 3
_JSON_FIELDS = ("view", "blocks", "attachments", "metadata")
_ID_ALPHABET = string.ascii_uppercase + string.digits

Answer = tuple[int, dict[str, Any], dict[str, str]]


@dataclass(frozen=True)
class Call:
    """One request the peer received, with what it answered."""

    method: str
    params: dict[str, Any]
    """Query and body merged; ``view``, ``blocks``, ``attachments`` decoded from JSON."""
    headers: dict[str, str]
    """Lower-case names; ``authorization`` is left out."""
    at: float
    """``time.time()`` when the request arrived."""
    status: int
    response: dict[str, Any]
    response_id: str | None = None
    """For :data:`RESPONSE_URL` calls: the id of the response URL posted to."""


@dataclass
class _Trigger:
    expires_at: float
    view_id: str | None
    used: bool = False


@dataclass
class _ResponseUrl:
    expires_at: float
    limit: int
    posts: list[dict[str, Any]] = field(default_factory=list)


def _ok(**fields: Any) -> Answer:
    return 200, {"ok": True, **fields}, {}


def _fail(error: str, *, status: int = 200, **fields: Any) -> Answer:
    return status, {"ok": False, "error": error, **fields}, {}


def _invalid(*messages: str) -> Answer:
    return _fail("invalid_arguments", response_metadata={"messages": list(messages)})


def _random_id(prefix: str, length: int = 10) -> str:
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def _decode_json_fields(params: dict[str, Any]) -> None:
    for name in _JSON_FIELDS:
        value = params.get(name)
        if isinstance(value, str):
            # Left as the string when it does not parse; the method answers with its own error.
            with contextlib.suppress(json.JSONDecodeError):
                params[name] = json.loads(value)


async def _read_params(request: Request) -> dict[str, Any] | None:
    """Query and body as one dict, or None when a JSON body does not parse."""
    params: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            decoded = json.loads(body or b"{}")
        except json.JSONDecodeError:
            return None
        if not isinstance(decoded, dict):
            return None
        params.update(decoded)
    elif body:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    _decode_json_fields(params)
    return params


class SlackPeer:
    """Slack's Web API for one workspace with one bot installed."""

    def __init__(
        self,
        bot_token: str,
        *,
        team_id: str = "T0TEAM001",
        team_domain: str = "example-ops",
        app_id: str = "A0APPID001",
        bot_id: str = "B0BOTID001",
        bot_user_id: str = "U0BOTUSER1",
    ) -> None:
        self.bot_token = bot_token
        self.team_id = team_id
        self.team_domain = team_domain
        self.app_id = app_id
        self.bot_id = bot_id
        self.bot_user_id = bot_user_id
        self.url: str | None = None
        """Base URL once served; :meth:`serve` sets it."""

        self.users: dict[str, dict[str, Any]] = {}
        self.channel_errors: dict[str, str] = {}
        self.delay: dict[str, float] = {}
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._triggers: dict[str, _Trigger] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._ephemerals: dict[str, list[dict[str, Any]]] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._rate_limits: dict[str, tuple[int, int]] = {}
        self._ts_counter = 0
        self._methods: dict[str, Callable[[dict[str, Any]], Answer]] = {
            "auth.test": self._auth_test,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.push": self._views_push,
            "chat.postMessage": self._post_message,
            "chat.postEphemeral": self._post_ephemeral,
            "users.info": self._users_info,
        }
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._api, methods=["GET", "POST"]),
                Route("/response/{response_id}", self._response, methods=["POST"]),
            ]
        )

    # Serving

    @contextmanager
    def serve(self) -> Iterator[SlackPeer]:
        with serve(self.app) as url:
            self.url = url
            try:
                yield self
            finally:
                self.url = None

    @property
    def api_url(self) -> str:
        """The value for ``SLACK_API_URL``."""
        return f"{self._base_url()}/api/"

    def _base_url(self) -> str:
        if self.url is None:
            raise RuntimeError("The Slack peer is not served yet; use `with peer.serve():` first.")
        return self.url

    # What a test hands the bot

    def issue_trigger(self, *, ttl: float = TRIGGER_TTL, view_id: str | None = None) -> str:
        """A fresh trigger id, usable once within ``ttl`` seconds; ``view_id`` is the modal it came from."""
        trigger_id = f"{int(time.time())}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"
        with self._lock:
            self._triggers[trigger_id] = _Trigger(time.monotonic() + ttl, view_id)
        return trigger_id

    def response_url(self, *, ttl: float = RESPONSE_URL_TTL, limit: int = RESPONSE_URL_POSTS) -> str:
        response_id = secrets.token_urlsafe(12)
        with self._lock:
            self._response_urls[response_id] = _ResponseUrl(time.monotonic() + ttl, limit)
        return f"{self._base_url()}/response/{response_id}"

    def rate_limit(self, method: str, times: int, retry_after: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with HTTP 429 and ``Retry-After``."""
        with self._lock:
            self._rate_limits[method] = (times, retry_after)

    # What a test reads back

    def calls(self, method: str | None = None) -> list[Call]:
        with self._lock:
            return [call for call in self._calls if method is None or call.method == method]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 10,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Every ``method`` call (matching ``where``) once there are at least ``count``."""
        deadline = time.monotonic() + timeout
        while True:
            found = [call for call in self.calls(method) if where is None or where(call)]
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                seen = [call.method for call in self.calls()]
                raise AssertionError(
                    f"Expected {count} {method} call(s) within {timeout} s, got {len(found)}; calls so far: {seen}"
                )
            time.sleep(0.02)

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages posted to ``channel`` with ``chat.postMessage``, oldest first."""
        with self._lock:
            return copy.deepcopy(self._messages.get(channel, []))

    def ephemerals(self, channel: str) -> list[dict[str, Any]]:
        """Messages posted to ``channel`` with ``chat.postEphemeral``, each with its ``user``."""
        with self._lock:
            return copy.deepcopy(self._ephemerals.get(channel, []))

    def response_posts(self, response_url: str) -> list[dict[str, Any]]:
        """What was accepted at a response URL, given as the URL or its last path segment."""
        response_id = response_url.rstrip("/").rsplit("/", 1)[-1]
        with self._lock:
            entry = self._response_urls.get(response_id)
            return copy.deepcopy(entry.posts) if entry else []

    def view(self, view_id: str) -> dict[str, Any]:
        """The view as Slack holds it now (after any update), with its current hash."""
        with self._lock:
            if view_id not in self._views:
                raise KeyError(f"No view {view_id!r} was opened; open views: {list(self._views)}")
            return copy.deepcopy(self._views[view_id])

    def views(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(list(self._views.values()))

    def reset(self) -> None:
        """Forget calls, views, triggers, messages, response URLs and knobs; keep the users."""
        with self._lock:
            for kept in (
                self._calls,
                self._triggers,
                self._views,
                self._messages,
                self._ephemerals,
                self._response_urls,
                self._rate_limits,
                self.channel_errors,
                self.delay,
            ):
                kept.clear()

    # HTTP

    async def _api(self, request: Request) -> JSONResponse:
        received = time.time()
        method = request.path_params["method"]
        params = await _read_params(request)
        await asyncio.sleep(self.delay.get(method, 0))

        if params is None:
            status, body, headers = _fail("invalid_json")
        else:
            status, body, headers = self._answer(method, params, request.headers.get("authorization"))

        recorded_headers = {name: value for name, value in request.headers.items() if name != "authorization"}
        with self._lock:
            self._calls.append(Call(method, params or {}, recorded_headers, received, status, body))
        return JSONResponse(body, status_code=status, headers=headers)

    def _answer(self, method: str, params: dict[str, Any], authorization: str | None) -> Answer:
        with self._lock:
            times, retry_after = self._rate_limits.get(method, (0, 0))
            if times > 0:
                self._rate_limits[method] = (times - 1, retry_after)
        if times > 0:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}

        if not authorization:
            return _fail("not_authed")
        if authorization != f"Bearer {self.bot_token}":
            return _fail("invalid_auth")

        handler = self._methods.get(method)
        if handler is None:
            return _fail("unknown_method", status=404, req_method=method)
        return handler(params)

    async def _response(self, request: Request) -> JSONResponse:
        received = time.time()
        response_id = request.path_params["response_id"]
        await asyncio.sleep(self.delay.get(RESPONSE_URL, 0))
        try:
            payload = json.loads(await request.body())
        except json.JSONDecodeError:
            payload = None

        status, body = self._accept_response_post(response_id, payload)
        headers = {name: value for name, value in request.headers.items() if name != "authorization"}
        call = Call(
            RESPONSE_URL,
            payload if isinstance(payload, dict) else {},
            headers,
            received,
            status,
            body,
            response_id,
        )
        with self._lock:
            self._calls.append(call)
        return JSONResponse(body, status_code=status)

    def _accept_response_post(self, response_id: str, payload: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(payload, dict):
            return 400, {"ok": False, "error": "invalid_payload"}
        has_content = payload.get("text") or payload.get("blocks") or payload.get("delete_original")
        with self._lock:
            entry = self._response_urls.get(response_id)
            if entry is None or time.monotonic() > entry.expires_at:
                return 404, {"ok": False, "error": "expired_url"}
            if len(entry.posts) >= entry.limit:
                return 404, {"ok": False, "error": "used_url"}
            if not has_content:
                return 400, {"ok": False, "error": "no_text"}
            entry.posts.append(copy.deepcopy(payload))
        return 200, {"ok": True}

    # Methods

    def _auth_test(self, params: dict[str, Any]) -> Answer:
        return _ok(
            url=f"https://{self.team_domain}.slack.com/",
            team=self.team_domain,
            user="enable-schedule",
            team_id=self.team_id,
            user_id=self.bot_user_id,
            bot_id=self.bot_id,
            is_enterprise_install=False,
        )

    def _use_trigger(self, trigger_id: Any) -> tuple[str | None, _Trigger | None]:
        """The error the trigger earns, or None and the trigger, now spent."""
        with self._lock:
            trigger = self._triggers.get(trigger_id) if isinstance(trigger_id, str) else None
            if trigger is None or time.monotonic() > trigger.expires_at:
                return "expired_trigger_id", None
            if trigger.used:
                return "exchanged_trigger_id", None
            trigger.used = True
            return None, trigger

    def _view_failure(self, view: Any) -> Answer | None:
        problems = view_problems(view)
        if problems:
            return _invalid(*problems)
        if too_large(view):
            return _fail("view_too_large")
        return None

    def _store_view(
        self,
        view: dict[str, Any],
        *,
        view_id: str | None = None,
        root_view_id: str | None = None,
        previous_view_id: str | None = None,
    ) -> dict[str, Any]:
        view_id = view_id or _random_id("V")
        stored = complete_view(
            view,
            id=view_id,
            team_id=self.team_id,
            hash=f"{int(time.time())}.{secrets.token_hex(4)}",
            root_view_id=root_view_id or view_id,
            previous_view_id=previous_view_id,
            app_id=self.app_id,
            app_installed_team_id=self.team_id,
            bot_id=self.bot_id,
        )
        with self._lock:
            self._views[view_id] = stored
        return copy.deepcopy(stored)

    def _views_open(self, params: dict[str, Any]) -> Answer:
        if "trigger_id" not in params:
            return _invalid("[ERROR] missing required field: trigger_id [json-pointer:/trigger_id]")
        failure = self._view_failure(params.get("view"))
        if failure:
            return failure
        error, _ = self._use_trigger(params["trigger_id"])
        if error:
            return _fail(error)
        return _ok(view=self._store_view(params["view"]))

    def _views_push(self, params: dict[str, Any]) -> Answer:
        if "trigger_id" not in params:
            return _invalid("[ERROR] missing required field: trigger_id [json-pointer:/trigger_id]")
        failure = self._view_failure(params.get("view"))
        if failure:
            return failure
        error, trigger = self._use_trigger(params["trigger_id"])
        if error or trigger is None:
            return _fail(error or "expired_trigger_id")

        with self._lock:
            parent = self._views.get(trigger.view_id or "")
            depth, cursor = 0, parent
            while cursor is not None:
                depth += 1
                cursor = self._views.get(cursor.get("previous_view_id") or "")
        if depth >= MAX_VIEW_STACK:
            return _fail("push_limit_reached")
        root = parent["root_view_id"] if parent else None
        previous = parent["id"] if parent else None
        return _ok(view=self._store_view(params["view"], root_view_id=root, previous_view_id=previous))

    def _views_update(self, params: dict[str, Any]) -> Answer:
        with self._lock:
            current = self._views.get(params.get("view_id") or "")
            if current is None and params.get("external_id"):
                current = next(
                    (view for view in self._views.values() if view["external_id"] == params["external_id"]),
                    None,
                )
            current = copy.deepcopy(current)
        if current is None:
            return _fail("not_found")
        if params.get("hash") and params["hash"] != current["hash"]:
            return _fail("hash_conflict")
        failure = self._view_failure(params.get("view"))
        if failure:
            return failure
        stored = self._store_view(
            params["view"],
            view_id=current["id"],
            root_view_id=current["root_view_id"],
            previous_view_id=current["previous_view_id"],
        )
        return _ok(view=stored)

    def _message_problem(self, params: dict[str, Any]) -> str | None:
        channel = params.get("channel")
        if not channel:
            return "channel_not_found"
        if channel in self.channel_errors:
            return self.channel_errors[channel]
        blocks = params.get("blocks")
        if not params.get("text") and not blocks and not params.get("attachments"):
            return "no_text"
        if isinstance(blocks, str):
            return "invalid_blocks_format"
        if blocks is not None and (not isinstance(blocks, list) or len(blocks) > 50):
            return "invalid_blocks"
        if len(str(params.get("text") or "")) > 40_000:
            return "msg_too_long"
        return None

    def _next_ts(self) -> str:
        with self._lock:
            self._ts_counter += 1
            return f"{int(time.time())}.{self._ts_counter:06d}"

    def _post_message(self, params: dict[str, Any]) -> Answer:
        problem = self._message_problem(params)
        if problem:
            return _fail(problem)

        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "text": params.get("text") or "",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": ts,
        }
        for optional in ("blocks", "attachments", "thread_ts", "metadata"):
            if optional in params:
                message[optional] = params[optional]
        with self._lock:
            self._messages.setdefault(params["channel"], []).append(message)
        return _ok(channel=params["channel"], ts=ts, message=copy.deepcopy(message))

    def _post_ephemeral(self, params: dict[str, Any]) -> Answer:
        if not params.get("user"):
            return _invalid("[ERROR] missing required field: user [json-pointer:/user]")
        problem = self._message_problem(params)
        if problem:
            return _fail(problem)

        ts = self._next_ts()
        message = {"user": params["user"], "text": params.get("text") or "", "ts": ts}
        if "blocks" in params:
            message["blocks"] = params["blocks"]
        with self._lock:
            self._ephemerals.setdefault(params["channel"], []).append(message)
        return _ok(message_ts=ts)

    def _users_info(self, params: dict[str, Any]) -> Answer:
        user_id = params.get("user")
        entry = self.users.get(user_id) if isinstance(user_id, str) else None
        if entry is None:
            return _fail("user_not_found")

        entry = copy.deepcopy(entry)
        profile = entry.pop("profile", {})
        if "email" in entry:
            profile["email"] = entry.pop("email")
        name = entry.get("name", str(user_id).lower())
        real_name = entry.get("real_name", name)
        profile.setdefault("real_name", real_name)
        profile.setdefault("display_name", name)
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "real_name": real_name,
            "deleted": False,
            "is_bot": False,
            **entry,
            "profile": profile,
        }
        return _ok(user=user)
