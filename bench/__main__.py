"""``python -m bench``: load the bot as production does and print each figure against its target."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench import wrk
from bench.run import PHASES, Options, run_all


def _rates(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def _phases(text: str) -> list[str]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = set(chosen) - set(PHASES)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown phase(s) {', '.join(sorted(unknown))}; choose from {', '.join(PHASES)}"
        )
    return chosen


def _assignment(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"{text!r} is not NAME=VALUE")
    return name, value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--rates", type=_rates, default=[100.0], help="open-loop rates, req/s (default 100)")
    parser.add_argument("--latency-seconds", type=float, default=20, help="length of each open-loop run")
    parser.add_argument("--coc-delay", type=float, default=1.0, help="seconds COC takes to answer (default 1)")
    parser.add_argument("--saturation-seconds", type=float, default=10, help="length of each wrk run")
    parser.add_argument("--saturation-rounds", type=int, default=2, help="wrk runs per app, alternating")
    parser.add_argument(
        "--connections", type=int, default=64, help="wrk connections (default 64: enough to keep either app busy)"
    )
    parser.add_argument("--burst", type=int, default=500, help="submissions in the burst")
    parser.add_argument("--burst-seconds", type=float, default=10, help="the burst's length")
    parser.add_argument("--coc-calls", type=int, default=1000, help="enable calls per COC client")
    parser.add_argument("--coc-rounds", type=int, default=3, help="turns each COC client takes")
    parser.add_argument("--startups", type=int, default=3, help="cold starts of the bot to time")
    parser.add_argument(
        "--phases", type=_phases, default=list(PHASES), help=f"comma-separated, from {','.join(PHASES)} (default all)"
    )
    parser.add_argument(
        "--bot-env",
        type=_assignment,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra setting for the bot, e.g. LOG_LEVEL=WARNING or DATABASE_URL=postgresql://… (repeatable)",
    )
    parser.add_argument("--workdir", type=Path, help="where logs and the audit database go (default: a temp dir)")
    args = parser.parse_args(argv)

    try:
        wrk.executable()
    except wrk.WrkMissing as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="enable-schedule-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    options = Options(
        rates=args.rates,
        latency_seconds=args.latency_seconds,
        coc_delay=args.coc_delay,
        saturation_seconds=args.saturation_seconds,
        saturation_rounds=args.saturation_rounds,
        connections=args.connections,
        burst=args.burst,
        burst_seconds=args.burst_seconds,
        coc_calls=args.coc_calls,
        coc_rounds=args.coc_rounds,
        startups=args.startups,
        phases=args.phases,
        bot_env=dict(args.bot_env),
    )
    print(f"bench: logs and the audit database in {workdir}", file=sys.stderr)
    missed = run_all(options, workdir)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
