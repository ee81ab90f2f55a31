"""Logging, configured once at start-up: one line per event, each with the request ID.

The request ID is set when a Slack request arrives and travels, through the context, into
the COC call and the posted outcome, so one grep ties them together.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import uuid

from pythonjsonlogger.json import JsonFormatter

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

_TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
_JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"


def new_request_id() -> str:
    """Start a new request: a short random ID, set for everything this context does next."""
    value = uuid.uuid4().hex[:12]
    request_id.set(value)
    return value


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def configure(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter(_JSON_FIELDS, rename_fields={"asctime": "time", "levelname": "level"}))
    else:
        handler.setFormatter(logging.Formatter(_TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries' own per-request lines at INFO would repeat ours, and some carry full URLs.
    for noisy in ("httpx", "httpcore", "slack_sdk", "slack_bolt", "aiosqlite", "asyncio", "watchfiles"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
