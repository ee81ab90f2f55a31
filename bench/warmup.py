"""Warming the bot up through the real flow, which also yields the modal that submissions reuse."""

from __future__ import annotations

import time
from typing import Any

import httpx

from bench import enables, slack_requests
from bench.stack import Bot, Peers

WARMUP_COMMANDS = 50
WARMUP_SUBMISSIONS = 20


def warm_up(bot: Bot, peers: Peers) -> dict[str, Any]:
    """Open modals and enable tasks one at a time; returns the modal as Slack stored it."""
    triggers, response_url = peers.triggers(WARMUP_COMMANDS)
    timestamp = int(time.time())
    with httpx.Client(timeout=10) as client:
        for trigger in triggers:
            request = slack_requests.slash_command(trigger, response_url, timestamp)
            client.post(bot.events_url, content=request.body, headers=request.headers).raise_for_status()
        deadline = time.monotonic() + 30
        while len(peers.slack.get("calls", method="views.open")) < WARMUP_COMMANDS:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the bot opened no modal for its warm-up commands:\n{bot.child.log_tail()}")
            time.sleep(0.1)
        view: dict[str, Any] = peers.slack.get("views")[0]

        task_ids = [slack_requests.new_task_id(f"W{index:04d}") for index in range(WARMUP_SUBMISSIONS)]
        peers.coc.post("tasks", {"ids": task_ids})
        peers.coc.post("delay", {"seconds": 0})
        since = time.time()
        for task_id in task_ids:
            request = slack_requests.view_submission(view, task_id, timestamp)
            client.post(bot.events_url, content=request.body, headers=request.headers).raise_for_status()
    enables.wait_for_outcomes(peers, since, task_ids, timeout=30)
    return view
