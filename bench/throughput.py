"""Slash commands at saturation: the bot against the bare Bolt app, round after round."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from bench import slack_requests, wrk
from bench.procs import Child
from bench.stack import Peers

SETTLE_SECONDS = 30.0


@dataclass
class Round:
    app: str
    result: wrk.WrkResult
    modals_per_second: float
    """``views.open`` calls answered ok while wrk ran, per second: modals actually opened."""
    server_cpu: float
    slack_peer_cpu: float


def _settle(peers: Peers, since: float) -> None:
    """Wait until the app's ``views.open`` calls stop arriving, so no backlog spills into the next round."""
    deadline = time.monotonic() + SETTLE_SECONDS
    last = -1
    while time.monotonic() < deadline:
        count = len(peers.slack.get("calls", method="views.open", since=since))
        if count == last:
            return
        last = count
        time.sleep(0.5)


def one_round(
    app: str, url: str, server: Child, peers: Peers, workdir: Path, *, seconds: float, connections: int, count: int
) -> Round:
    triggers, response_url = peers.triggers(count)
    timestamp = int(time.time())
    requests = [slack_requests.slash_command(trigger, response_url, timestamp) for trigger in triggers]
    requests_file = workdir / f"wrk-{app}.tsv"
    wrk.write_requests(requests_file, requests)

    since = time.time()
    server_before, peer_before = server.cpu(), peers.slack.child.cpu()
    result = wrk.run(url, requests_file, seconds=seconds, connections=connections)
    server_cpu = (server.cpu() - server_before) / result.seconds
    peer_cpu = (peers.slack.child.cpu() - peer_before) / result.seconds
    window_end = since + result.seconds
    _settle(peers, since)
    opened = [call for call in peers.slack.get("calls", method="views.open", since=since) if call["at"] <= window_end]
    requests_file.unlink()
    peers.slack.post("reset")
    return Round(app, result, sum(1 for call in opened if call["ok"]) / result.seconds, server_cpu, peer_cpu)
