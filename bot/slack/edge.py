"""The HTTP edge: nothing reaches Bolt before its signature is checked on the raw bytes.

Bolt parses a body before verifying it and trusts its own unsigned ``x-slack-bolt-*``
headers. Here a request is refused (4xx, no handler run) unless it is small enough, signed
with the signing secret within five minutes, never seen before, and shaped like a slash
command or an interaction, down to the type of every field Bolt or a listener reads.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs

MAX_BODY_BYTES = 1024 * 1024
"""Slack's largest payloads (a modal of 100 blocks) are far below this."""

MAX_SKEW_SECONDS = 300
INTERNAL_HEADER_PREFIX = "x-slack-bolt-"
INTERACTION_TYPES = frozenset(
    {"view_submission", "view_closed", "block_actions", "block_suggestion", "shortcut", "message_action"}
)

# The fields Bolt reads to build its context, in every object it looks into.
_ID_OBJECTS = ("user", "team", "enterprise", "channel")
_ID_STRINGS = (
    "user_id",
    "team_id",
    "channel_id",
    "enterprise_id",
    "thread_ts",
    "trigger_id",
    "response_url",
    "function_execution_id",
    "api_app_id",
)
# Bolt would recurse into these, and none belongs in an interaction from this app's surfaces.
_FOREIGN = ("event", "authorizations", "function_data", "assistant_thread", "item", "previous_message")

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
"""How JSON writes a UTF-16 surrogate; only a payload holding one needs the costlier check."""


class Refusal(Exception):
    """Why a request is refused; ``reason`` is for the log, never echoed with request data."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class ReplayGuard:
    """Remembers the signatures seen within the skew window, so a captured request is not replayed."""

    def __init__(self, window: float = MAX_SKEW_SECONDS, capacity: int = 100_000) -> None:
        self._window = window
        self._capacity = capacity
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, signature: str, now: float) -> bool:
        with self._lock:
            while self._seen and (
                next(iter(self._seen.values())) < now - self._window or len(self._seen) >= self._capacity
            ):
                self._seen.popitem(last=False)
            if signature in self._seen:
                return False
            self._seen[signature] = now
            return True


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name)
    if value is None:
        raise Refusal(401, f"missing {name}")
    return value


def verify_signature(headers: Mapping[str, str], body: bytes, secret: bytes, now: float) -> str:
    """Check Slack's ``v0`` signature of ``body``; returns the signature for the replay guard."""
    timestamp = _header(headers, "x-slack-request-timestamp").strip()
    signature = _header(headers, "x-slack-signature").strip()
    if not _TIMESTAMP.fullmatch(timestamp):
        raise Refusal(401, "malformed timestamp")
    if abs(now - int(timestamp)) > MAX_SKEW_SECONDS:
        raise Refusal(401, "timestamp outside the five-minute window")
    if not _SIGNATURE.fullmatch(signature):
        raise Refusal(401, "malformed signature")
    expected = "v0=" + hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise Refusal(401, "signature mismatch")
    return signature


def check_shape(body: bytes) -> dict[str, Any]:
    """Decode a signed body and check it is a slash command or an interaction, at the form's level.

    Returns the form's fields, with an interaction's ``payload`` decoded; :func:`bolt_body`
    then checks the fields inside and gives what Bolt is handed.
    """
    try:
        text = body.decode("utf-8")
        form = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=200)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refusal(400, f"body is not a form: {type(exc).__name__}") from exc
    fields = {name: values[-1] for name, values in form.items()}
    if "payload" in fields:
        try:
            payload = json.loads(fields["payload"])
            # JSON may escape lone surrogates, which no later encoding to UTF-8 survives.
            if _SURROGATE_ESCAPE.search(fields["payload"]):
                json.dumps(payload, ensure_ascii=False).encode("utf-8")
        except (ValueError, RecursionError) as exc:
            # RecursionError: nesting deeper than the parser goes is no payload of Slack's.
            raise Refusal(400, "payload is not JSON in valid Unicode") from exc
        _check_interaction(payload)
        return {"payload": payload}
    if "command" in fields:
        for name in ("user_id", "channel_id", "team_id"):
            if not fields.get(name):
                raise Refusal(400, f"slash command without {name}")
        return fields
    if fields.get("ssl_check") == "1":
        return fields
    raise Refusal(400, "neither a slash command nor an interaction")


def _check_interaction(payload: object) -> None:
    if not isinstance(payload, dict):
        raise Refusal(400, "payload is not an object")
    kind = payload.get("type")
    if not isinstance(kind, str) or kind not in INTERACTION_TYPES:
        raise Refusal(400, "unknown interaction type")
    user = payload.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        raise Refusal(400, "interaction without user.id")
    view = payload.get("view")
    if kind.startswith("view_") and not (isinstance(view, dict) and isinstance(view.get("callback_id"), str)):
        raise Refusal(400, "view interaction without view.callback_id")
    if kind == "block_actions" and not isinstance(payload.get("actions"), list):
        raise Refusal(400, "block_actions without actions")
    if view is not None and not isinstance(view, dict):
        raise Refusal(400, "view is not an object")
    if isinstance(view, dict) and not isinstance(view.get("state", {}), dict):
        raise Refusal(400, "view.state is not an object")


def bolt_body(shape: Mapping[str, Any]) -> dict[str, Any]:
    """What Bolt is handed for a body :func:`check_shape` passed: the interaction or the command.

    Bolt indexes into a payload without checking types (``actions[0]``, ``view["type"]``,
    ``"id" in team``) and listeners read ``view.state.values`` as nested objects, so every
    field they read must have the type Slack sends, or the request is refused with 400
    instead of failing inside Bolt with a 500.
    """
    if "payload" in shape:
        payload: dict[str, Any] = shape["payload"]
        _check_ids(payload, "payload", objects=(dict,))
        if isinstance(payload.get("message"), dict):
            # A message names its user and team by ID strings, where an interaction has objects.
            _check_ids(payload["message"], "message", objects=(str, dict))
        _check_kind_fields(payload)
        return payload
    if "command" in shape:
        for name in ("command", "trigger_id", "response_url"):
            if not shape.get(name):
                raise Refusal(400, f"slash command without {name}")
        if not str(shape["response_url"]).startswith(("https://", "http://")):
            raise Refusal(400, "slash command whose response_url is not a URL")
    return dict(shape)


def _optional(value: object, types: tuple[type, ...], where: str) -> None:
    if value is not None and not isinstance(value, types):
        raise Refusal(400, f"{where} has the wrong type")


def _check_ids(obj: Mapping[str, Any], where: str, *, objects: tuple[type, ...]) -> None:
    for name in _FOREIGN:
        if name in obj:
            raise Refusal(400, f"{where}.{name} is not part of an interaction")
    for name in _ID_OBJECTS:
        value = obj.get(name)
        _optional(value, objects, f"{where}.{name}")
        if isinstance(value, dict):
            for key in ("id", "team_id", "enterprise_id"):
                _optional(value.get(key), (str,), f"{where}.{name}.{key}")
    for name in _ID_STRINGS:
        _optional(obj.get(name), (str,), f"{where}.{name}")
    _optional(obj.get("is_enterprise_install"), (bool, str), f"{where}.is_enterprise_install")
    urls = obj.get("response_urls")
    if urls is not None and not (
        isinstance(urls, list) and all(isinstance(u, dict) and isinstance(u.get("response_url"), str) for u in urls)
    ):
        raise Refusal(400, f"{where}.response_urls is not a list of response URLs")


def _check_kind_fields(payload: Mapping[str, Any]) -> None:
    kind = payload["type"]
    view = payload.get("view")
    if view is not None:
        _check_view(view, modal_only=kind.startswith("view_"))
    if kind == "block_actions":
        actions = payload["actions"]
        if not actions or not all(isinstance(a, dict) and isinstance(a.get("action_id"), str) for a in actions):
            raise Refusal(400, "block_actions without an action_id")
        for action in actions:
            for key in ("block_id", "value", "type"):
                _optional(action.get(key), (str,), f"actions.{key}")
    if kind == "block_suggestion":
        for key in ("action_id", "block_id", "value"):
            _optional(payload.get(key), (str,), key)
        if not isinstance(payload.get("action_id"), str):
            raise Refusal(400, "block_suggestion without action_id")
    if kind in ("shortcut", "message_action") and not isinstance(payload.get("callback_id"), str):
        raise Refusal(400, f"{kind} without callback_id")


def _check_view(view: Mapping[str, Any], *, modal_only: bool) -> None:
    kind = view.get("type")
    # A workflow_step view would send Bolt looking for a step definition this app does not have.
    if kind not in (("modal",) if modal_only else ("modal", "home")):
        raise Refusal(400, "view of an unexpected type")
    # Slack names every view it sends; listeners update a view by this ID.
    if not isinstance(view.get("id"), str) or not view["id"]:
        raise Refusal(400, "view without an id")
    for key in ("callback_id", "private_metadata", "hash", "team_id", "app_installed_team_id", "root_view_id"):
        _optional(view.get(key), (str,), f"view.{key}")
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    if values is None:
        return
    # Slack's shape: values[block_id][action_id] is one element's state object.
    if not isinstance(values, dict) or not all(
        isinstance(block, dict) and all(isinstance(element, dict) for element in block.values())
        for block in values.values()
    ):
        raise Refusal(400, "view.state.values is not Slack's block -> action -> state shape")


def forwarded_headers(headers: Mapping[str, str]) -> dict[str, str | Sequence[str]]:
    """The request's headers without Bolt's internal ones, which no outsider may set."""
    return {name: value for name, value in headers.items() if not name.lower().startswith(INTERNAL_HEADER_PREFIX)}


def now() -> float:
    return time.time()
