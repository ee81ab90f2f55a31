"""What a hostile test reads back from a running stack: calls made, log lines, audit records."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import httpx

from tests.bot_process import REPO, run_bot_command
from tests.integration.stack import Stack

TRACEBACK_MARKS = ("Traceback (most recent call last)", "Exception in ASGI application")
RECORD_START = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} [A-Z]+ ")


@dataclass(frozen=True)
class Snapshot:
    """How much had happened when it was taken, to tell what a request caused."""

    coc_calls: int
    slack_calls: int
    log_chars: int


def snapshot(stack: Stack) -> Snapshot:
    return Snapshot(len(stack.coc.calls), len(stack.slack.calls()), len(stack.bot.stderr()))


def log_since(stack: Stack, before: Snapshot) -> str:
    return stack.bot.stderr()[before.log_chars :]


def log_lines_since(stack: Stack, before: Snapshot) -> list[str]:
    return [line for line in log_since(stack, before).splitlines() if line.strip()]


def warnings_since(stack: Stack, before: Snapshot) -> list[str]:
    """Log records at WARNING or above since ``before``; a record's continuation lines count apart."""
    lines = log_lines_since(stack, before)
    return [line for line in lines if not RECORD_START.match(line) or " WARNING " in line or " ERROR " in line]


def has_traceback(text: str) -> bool:
    return any(mark in text for mark in TRACEBACK_MARKS)


def healthz(stack: Stack) -> int:
    return httpx.get(f"{stack.bot.url}/healthz", timeout=5).status_code


def audit_records(stack: Stack, task_id: str | None = None) -> list[dict[str, Any]]:
    """``python -m bot audit --json`` against the stack's store, newest first."""
    args = ["audit", "--json", "--limit", "500"] + (["--task", task_id] if task_id else [])
    done = run_bot_command(args, {"DATABASE_URL": stack.env["DATABASE_URL"]}, REPO)
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def only_record(stack: Stack, task_id: str) -> dict[str, Any]:
    records = audit_records(stack, task_id)
    assert len(records) == 1, records
    return records[0]
