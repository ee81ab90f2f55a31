"""Acknowledgement latency at fixed rates, and what became of every submitted enable."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import enables, open_loop, slack_requests
from bench.stack import Bot, Peers


@dataclass
class SubmissionRun:
    run: open_loop.OpenLoopResult
    tally: enables.Tally
    task_ids: list[str]


def commands(bot: Bot, peers: Peers, workdir: Path, *, rate: float, seconds: float) -> open_loop.OpenLoopResult:
    count = round(rate * seconds)
    triggers, response_url = peers.triggers(count)
    timestamp = int(time.time())
    requests = [slack_requests.slash_command(trigger, response_url, timestamp) for trigger in triggers]
    return open_loop.run(bot.events_url, requests, rate, workdir, f"commands-{rate:g}", bot.child)


def submissions(
    bot: Bot,
    peers: Peers,
    workdir: Path,
    view: dict[str, Any],
    *,
    rate: float,
    count: int,
    coc_delay: float,
    name: str,
) -> SubmissionRun:
    task_ids = [slack_requests.new_task_id(f"{name[:1].upper()}{index:06d}") for index in range(count)]
    peers.coc.post("tasks", {"ids": task_ids})
    peers.coc.post("delay", {"seconds": coc_delay})
    timestamp = int(time.time())
    requests = [slack_requests.view_submission(view, task_id, timestamp) for task_id in task_ids]
    coc_calls_before = len(peers.coc.get("calls"))
    since = time.time()

    run = open_loop.run(bot.events_url, requests, rate, workdir, name, bot.child)

    enables.wait_for_outcomes(peers, since, task_ids)
    due = {task_id: result["due"] for task_id, result in zip(task_ids, run.results, strict=True)}
    tally = enables.tally(peers, bot.database_url, since, coc_calls_before, due, coc_delay)
    return SubmissionRun(run, tally, task_ids)
