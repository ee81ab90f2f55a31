"""The whole benchmark, phase by phase, and the figures each phase yields."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import coc_cost, latency, throughput
from bench.enables import Tally
from bench.open_loop import OpenLoopResult
from bench.report import Figure, at_least, at_most, exactly, info, no_more_than, table
from bench.stack import BareBolt, Bot, Peers, running_peers
from bench.startup import startup_times
from bench.stats import summary_ms
from bench.warmup import warm_up

SATURATION_REQUESTS_PER_SECOND = 3000
"""Pre-signed requests per second of a wrk run: more than either app has come near."""

PHASES = ("startup", "throughput", "commands", "submissions", "burst", "coc")
LOAD_PHASES = frozenset({"throughput", "commands", "submissions", "burst"})
"""The phases that load one long-running bot."""

Section = tuple[str, list[Figure]]


@dataclass(frozen=True)
class Options:
    rates: list[float]
    latency_seconds: float
    coc_delay: float
    saturation_seconds: float
    saturation_rounds: int
    connections: int
    burst: int
    burst_seconds: float
    coc_calls: int
    coc_rounds: int
    startups: int
    phases: list[str]
    bot_env: dict[str, str]


def _say(text: str) -> None:
    print(f"bench: {text}", file=sys.stderr, flush=True)


def run_all(options: Options, workdir: Path) -> bool:
    """Run the chosen phases, print the table; returns whether any target was missed."""
    chosen = set(options.phases)
    sections: list[Section] = []
    memory: list[Figure] = []
    with running_peers(workdir) as peers:
        if "startup" in chosen:
            _say(f"timing {options.startups} start(s) of python -m bot")
            starts = startup_times(peers, workdir, workdir, options.startups, options.bot_env)
            memory += [
                at_most("start-up to /healthz 200, slowest", max(starts) * 1000, 2000, "ms"),
                info("start-up, median", statistics.median(starts) * 1000, "ms"),
            ]

        if chosen & LOAD_PHASES:
            bot = Bot(peers, workdir / "bot", workdir, extra_env=options.bot_env).start()
            try:
                time.sleep(1.0)
                memory.append(info("resident memory, idle", bot.child.rss(), "MB"))
                _say("warming up through the real flow")
                view = warm_up(bot, peers)
                if "throughput" in chosen:
                    sections.append(_throughput(options, bot, peers, workdir))
                if "commands" in chosen:
                    sections.append(_commands(options, bot, peers, workdir))
                if "submissions" in chosen:
                    sections.append(_submissions(options, bot, peers, workdir, view))
                if "burst" in chosen:
                    sections.append(_burst(options, bot, peers, workdir, view))
                    memory.append(at_most("resident memory after the burst", bot.child.rss(), 150, "MB"))
            finally:
                bot.stop()
        sections.append(("start-up and memory", memory))

        if "coc" in chosen:
            _say(f"COC client cost: {options.coc_rounds} x {options.coc_calls} enable calls per client")
            peers.coc.post("delay", {"seconds": 0})
            costs = coc_cost.measure(peers.coc, workdir, options.coc_calls, options.coc_rounds)
            sections.append(_coc_cost(costs))

    print(table(sections))
    return any(figure.met is False for _, figures in sections for figure in figures)


def _throughput(options: Options, bot: Bot, peers: Peers, workdir: Path) -> Section:
    bare = BareBolt(peers, workdir).start()
    count = round(SATURATION_REQUESTS_PER_SECOND * options.saturation_seconds)
    rounds: list[throughput.Round] = []
    try:
        for number in range(options.saturation_rounds):
            for app, url, server in (("bot", bot.events_url, bot.child), ("bare", bare.events_url, bare.child)):
                _say(f"saturation round {number + 1}: {app}, wrk -c{options.connections}")
                rounds.append(
                    throughput.one_round(
                        app,
                        url,
                        server,
                        peers,
                        workdir,
                        seconds=options.saturation_seconds,
                        connections=options.connections,
                        count=count,
                    )
                )
    finally:
        bare.stop()

    def mean(app: str, value: Callable[[throughput.Round], float]) -> float:
        return statistics.mean(value(one) for one in rounds if one.app == app)

    refused = sum(one.result.status_errors + one.result.socket_errors for one in rounds)
    bot_rate, bare_rate = mean("bot", lambda one: one.result.rate), mean("bare", lambda one: one.result.rate)
    return (
        "slash commands at saturation (wrk, closed loop)",
        [
            at_least("throughput, bot / bare Bolt", bot_rate / bare_rate, 0.8, "x"),
            info("bot: acknowledged commands", bot_rate, "req/s"),
            info("bare Bolt: acknowledged commands", bare_rate, "req/s"),
            info("bot: modals opened", mean("bot", lambda one: one.modals_per_second), "/s"),
            info("bare Bolt: modals opened", mean("bare", lambda one: one.modals_per_second), "/s"),
            info("bot: CPU", mean("bot", lambda one: one.server_cpu) * 100, "% core"),
            info("bare Bolt: CPU", mean("bare", lambda one: one.server_cpu) * 100, "% core"),
            info("Slack peer CPU, bot rounds", mean("bot", lambda one: one.slack_peer_cpu) * 100, "% core"),
            info("Slack peer CPU, bare rounds", mean("bare", lambda one: one.slack_peer_cpu) * 100, "% core"),
            exactly("refused or failed requests", refused, 0),
        ],
    )


def _ack_figures(label: str, run: OpenLoopResult, p99_limit_ms: float) -> list[Figure]:
    latency_ms = run.latency_ms()
    return [
        at_most(f"{label}: ack p99", latency_ms["p99"], p99_limit_ms, "ms"),
        info(f"{label}: ack p50", latency_ms["p50"], "ms"),
        info(f"{label}: ack max", latency_ms["max"], "ms"),
        exactly(f"{label}: not acknowledged with 200", run.failed, 0),
        info(f"{label}: generator CPU", run.generator_cpu * 100, "% core"),
        info(f"{label}: generator send lag p99", run.send_lag_p99_ms(), "ms"),
        info(f"{label}: bot CPU", run.server_cpu * 100, "% core"),
    ]


def _commands(options: Options, bot: Bot, peers: Peers, workdir: Path) -> Section:
    figures: list[Figure] = []
    for rate in options.rates:
        _say(f"slash commands at {rate:g}/s for {options.latency_seconds:g} s")
        run = latency.commands(bot, peers, workdir, rate=rate, seconds=options.latency_seconds)
        figures += _ack_figures(f"commands @{rate:g}/s", run, 100)
    return ("slash commands, open loop", figures)


def _exactly_once(label: str, tally: Tally, task_ids: list[str]) -> list[Figure]:
    kinds = {"COC enable calls": tally.coc_calls, "outcomes": tally.outcomes, "audit records": tally.audit_records}
    lost = {kind: tally.lost(counts, task_ids) for kind, counts in kinds.items()}
    duplicated = {kind: tally.duplicated(counts, task_ids) for kind, counts in kinds.items()}
    figures = [
        exactly(f"{label}: COC enable calls", sum(tally.coc_calls.values()), len(task_ids)),
        exactly(f"{label}: outcomes posted", sum(tally.outcomes.values()), len(task_ids)),
        exactly(f"{label}: audit records", sum(tally.audit_records.values()), len(task_ids)),
        exactly(f"{label}: audit records 'enabled'", tally.enabled_records, len(task_ids)),
        exactly(f"{label}: lost enables", max(lost.values()), 0),
        exactly(f"{label}: duplicated enables", max(duplicated.values()), 0),
    ]
    # Which of the three went missing or came twice says where to look.
    figures += [info(f"{label}: tasks without {kind}", count, "count") for kind, count in lost.items() if count]
    figures += [info(f"{label}: tasks with 2+ {kind}", count, "count") for kind, count in duplicated.items() if count]
    figures.append(info(f"{label}: outcomes sent elsewhere", tally.other_deliveries, "count"))
    return figures


def _overhead_figures(label: str, tally: Tally, coc_delay: float) -> list[Figure]:
    overhead = summary_ms(tally.overheads)
    before = summary_ms(tally.before_coc)
    return [
        at_most(f"{label}: outcome overhead beyond COC's {coc_delay:g} s, p50", overhead["p50"], 50, "ms"),
        info(f"{label}: outcome overhead p99", overhead["p99"], "ms"),
        info(f"{label}: submission to COC call, p50", before["p50"], "ms"),
        info(f"{label}: submission to COC call, p99", before["p99"], "ms"),
    ]


def _submissions(options: Options, bot: Bot, peers: Peers, workdir: Path, view: dict[str, object]) -> Section:
    figures: list[Figure] = []
    for rate in options.rates:
        _say(f"modal submissions at {rate:g}/s for {options.latency_seconds:g} s, COC at {options.coc_delay:g} s")
        done = latency.submissions(
            bot,
            peers,
            workdir,
            dict(view),
            rate=rate,
            count=round(rate * options.latency_seconds),
            coc_delay=options.coc_delay,
            name=f"submissions-{rate:g}",
        )
        label = f"submissions @{rate:g}/s"
        figures += _ack_figures(label, done.run, 100)
        figures += _overhead_figures(label, done.tally, options.coc_delay)
        figures += _exactly_once(label, done.tally, done.task_ids)
    return ("modal submissions, open loop", figures)


def _burst(options: Options, bot: Bot, peers: Peers, workdir: Path, view: dict[str, object]) -> Section:
    rate = options.burst / options.burst_seconds
    _say(f"burst: {options.burst} submissions in {options.burst_seconds:g} s, COC at {options.coc_delay:g} s")
    done = latency.submissions(
        bot,
        peers,
        workdir,
        dict(view),
        rate=rate,
        count=options.burst,
        coc_delay=options.coc_delay,
        name="burst",
    )
    label = "burst"
    figures = _ack_figures(label, done.run, 1000)
    figures += _exactly_once(label, done.tally, done.task_ids)
    figures += _overhead_figures(label, done.tally, options.coc_delay)
    return (f"burst: {options.burst} submissions in {options.burst_seconds:g} s", figures)


def _coc_cost(costs: list[coc_cost.ClientCost]) -> Section:
    ours, official = (next(cost for cost in costs if cost.client == name) for name in ("ours", "official"))
    return (
        f"COC client CPU per enable call ({ours.calls} calls each)",
        [
            no_more_than("bot client / official client", ours.cpu_per_call_ms / official.cpu_per_call_ms, 1.0, "x"),
            info("bot client (bot.coc.client.CocClient)", ours.cpu_per_call_ms, "ms"),
            info("official client (huaweicloudsdkcoc)", official.cpu_per_call_ms, "ms"),
        ],
    )
