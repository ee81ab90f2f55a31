"""The HTTP edge: nothing reaches Bolt before its signature is checked on the raw bytes.

Bolt parses a body before verifying it and trusts its own unsigned ``x-slack-bolt-*``
headers. Here a request is refused (4xx, no handler run) unless it is small enough, signed
with the signing secret within five minutes, never seen before, and shaped like a slash
command or an interaction.
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

_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


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
    """Decode a signed body and check it is a slash command or an interaction Bolt can route."""
    try:
        text = body.decode("utf-8")
        form = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=200)
    except (UnicodeDecodeError, ValueError) as exc:
        raise Refusal(400, f"body is not a form: {type(exc).__name__}") from exc
    fields = {name: values[-1] for name, values in form.items()}
    if "payload" in fields:
        try:
            payload = json.loads(fields["payload"])
        except ValueError as exc:
            raise Refusal(400, "payload is not JSON") from exc
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
    if kind not in INTERACTION_TYPES:
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


def forwarded_headers(headers: Mapping[str, str]) -> dict[str, str | Sequence[str]]:
    """The request's headers without Bolt's internal ones, which no outsider may set."""
    return {name: value for name, value in headers.items() if not name.lower().startswith(INTERNAL_HEADER_PREFIX)}


def now() -> float:
    return time.time()
