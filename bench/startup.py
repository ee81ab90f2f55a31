"""Start-up time of ``python -m bot`` until ``/healthz`` answers 200."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bench.stack import Bot, Peers


def startup_times(peers: Peers, workdir: Path, log_dir: Path, runs: int, extra_env: Mapping[str, str]) -> list[float]:
    """The first start creates the audit database; later ones find it, as after a restart."""
    times = []
    for run in range(runs):
        bot = Bot(peers, workdir / "startup", log_dir, name=f"bot-startup-{run}", extra_env=extra_env)
        try:
            times.append(bot.start().startup_seconds)
        finally:
            bot.stop()
    return times
