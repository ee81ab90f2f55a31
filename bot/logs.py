"""Logging, configured once at start-up: one entry per event, each with the request ID.

The request ID is set when a Slack request arrives and travels, through the context, into
the COC call and the posted outcome, so one grep ties them together. Lines logged outside
any request carry ``-``.

``text`` (the default) is for people: a timestamp, the level, the logger, the request ID in
brackets, the message. A message or traceback that spans lines has its continuation lines
indented, so that no line can pass for a new entry. ``json`` is for log pipelines: one JSON
object per line with ``time`` (ISO 8601, UTC), ``level``, ``name``, ``request_id`` and
``message``, plus ``exc_info`` when there is a traceback.

Libraries log through the same handler: uvicorn is started with ``log_config=None`` and
alembic is never handed a logging configuration, so their lines come out in the same form.
"""

from __future__ import annotations

import contextvars
import logging
import sys
import uuid

from pythonjsonlogger.json import JsonFormatter

NO_REQUEST = "-"

request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default=NO_REQUEST)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
JSON_FIELDS = ("levelname", "name", "request_id", "message")
JSON_RENAMES = {"levelname": "level"}

_CONTINUATION = "\n    "

# Libraries whose own per-request lines at INFO would repeat ours; some carry full URLs,
# and slack_sdk's DEBUG lines carry whole Socket Mode envelopes.
_QUIET = ("httpx", "httpcore", "slack_sdk", "slack_bolt", "asyncio", "watchfiles", "aiohttp")


def new_request_id() -> str:
    """Start a new request: a short random ID, set for everything this context does next."""
    value = uuid.uuid4().hex[:12]
    request_id.set(value)
    return value


class _RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class _QuietLibraries(logging.Filter):
    """Drops the quiet libraries' lines below ``threshold``, whatever level their loggers have.

    Setting their loggers' levels is not enough: Bolt copies the root level onto the
    loggers it creates, after start-up has configured logging.
    """

    def __init__(self, threshold: int) -> None:
        super().__init__()
        self._threshold = threshold

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self._threshold or record.name.partition(".")[0] not in _QUIET


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record).rstrip("\r\n")
        return text.replace("\r\n", "\n").replace("\r", "\n").replace("\n", _CONTINUATION)


def formatter(fmt: str) -> logging.Formatter:
    """The formatter for ``LOG_FORMAT``: ``text`` or ``json``."""
    if fmt == "json":
        return JsonFormatter(list(JSON_FIELDS), rename_fields=JSON_RENAMES, timestamp="time")
    return _TextFormatter(TEXT_FORMAT)


def configure(level: str, fmt: str) -> None:
    """Send every logger's lines to stderr at ``level`` (``LOG_LEVEL``) in ``fmt`` (``LOG_FORMAT``)."""
    threshold = max(logging.WARNING, logging.getLevelNamesMapping()[level])
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_QuietLibraries(threshold))
    handler.addFilter(_RequestIdFilter())
    handler.setFormatter(formatter(fmt))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in _QUIET:
        logging.getLogger(name).setLevel(threshold)
    # A DeprecationWarning printed raw would be the one line a JSON pipeline cannot read.
    logging.captureWarnings(True)
