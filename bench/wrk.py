"""Saturation throughput with ``wrk``, fed pre-signed requests by ``cycle.lua``."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.slack_requests import SignedRequest

SCRIPT = Path(__file__).with_name("cycle.lua")
INSTALL_HINT = "wrk is not installed; install it with `apt-get install -y wrk` (Debian) and run again."
_MARK = "WRK_RESULT "


class WrkMissing(RuntimeError):
    pass


@dataclass(frozen=True)
class WrkResult:
    seconds: float
    requests: int
    status_errors: int
    socket_errors: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def executable() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkMissing(INSTALL_HINT)
    return found


def write_requests(path: Path, requests: Sequence[SignedRequest]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for request in requests:
            timestamp = request.headers["X-Slack-Request-Timestamp"]
            signature = request.headers["X-Slack-Signature"]
            out.write(f"{timestamp}\t{signature}\t{request.body}\n")


def run(url: str, requests_file: Path, *, seconds: float, connections: int, threads: int = 1) -> WrkResult:
    command = [
        executable(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPT),
        url,
        "--",
        str(requests_file),
        str(threads),
    ]
    finished = subprocess.run(command, capture_output=True, text=True, check=False, timeout=seconds + 60)
    line = next((line for line in finished.stdout.splitlines() if line.startswith(_MARK)), None)
    if finished.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {finished.returncode}):\n{finished.stdout}\n{finished.stderr}")
    data = json.loads(line[len(_MARK) :])
    return WrkResult(
        seconds=data["duration_us"] / 1e6,
        requests=data["requests"],
        status_errors=data["status_errors"],
        socket_errors=data["socket_errors"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )
