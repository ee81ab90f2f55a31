"""SIGTERM with an enable in flight: stop taking requests, finish the enable, post it, exit 0."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx

from tests.hostile.observe import only_record
from tests.integration.stack import CHANNEL, running_stack

COC_DELAY = 3.0
SHUTDOWN_LIMIT = 30.0


def _refuses_connections(url: str, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            # A fresh connection each time: only a new client shows whether the port still listens.
            httpx.get(f"{url}/healthz", timeout=1)
        except httpx.TransportError:
            return True
        time.sleep(0.05)
    return False


def test_sigterm_lets_the_enable_in_flight_finish_and_post_then_exits_zero(tmp_path: Path):
    with running_stack(tmp_path) as stack:
        task_id = stack.add_task()
        stack.coc.delay = COC_DELAY
        stack.submit(task_id)
        deadline = time.monotonic() + 10
        while not stack.enable_calls(task_id) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stack.enable_calls(task_id), "the enable never reached COC"

        stack.bot.process.send_signal(signal.SIGTERM)

        assert _refuses_connections(stack.bot.url, within=COC_DELAY)
        posted_early = [m for m in stack.slack.messages(CHANNEL) if task_id in m["text"]]
        assert posted_early == [], "the outcome came before new requests were refused"
        assert stack.bot.wait(SHUTDOWN_LIMIT) == 0
        text = stack.outcome(task_id, timeout=1).params["text"]
        assert "enabled scheduled task" in text and stack.coc.task(task_id).enabled
        assert len(stack.enable_calls(task_id)) == 1
        assert only_record(stack, task_id)["outcome"] == "enabled"
        assert "Traceback" not in stack.bot.logs()
