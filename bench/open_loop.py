"""One open-loop run: pre-signed requests at a fixed rate from the generator's own process."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.procs import Child
from bench.slack_requests import SignedRequest
from bench.stats import percentile, summary_ms

GENERATOR_LEAD_SECONDS = 1.5
"""Time for the generator to start and load its requests before the first one is due."""


@dataclass
class OpenLoopResult:
    rate: float
    results: list[dict[str, Any]]
    generator_cpu: float
    """The generator's CPU use over the run, as a fraction of one core."""
    server_cpu: float
    """The server's CPU use over the run, as a fraction of one core."""

    @property
    def latencies(self) -> list[float]:
        return [result["latency"] for result in self.results]

    @property
    def acknowledged(self) -> int:
        return sum(1 for result in self.results if result["status"] == 200)

    @property
    def failed(self) -> int:
        return len(self.results) - self.acknowledged

    def latency_ms(self) -> dict[str, float]:
        return summary_ms(self.latencies)

    def send_lag_p99_ms(self) -> float:
        return percentile([result["lag"] for result in self.results], 0.99) * 1000


def run(
    url: str,
    requests: Sequence[SignedRequest],
    rate: float,
    workdir: Path,
    name: str,
    server: Child,
) -> OpenLoopResult:
    requests_path = workdir / f"{name}.requests.json"
    out_path = workdir / f"{name}.results.json"
    requests_path.write_text(json.dumps([request.to_json() for request in requests]), encoding="utf-8")
    start = time.time() + GENERATOR_LEAD_SECONDS
    args = ["bench.loadgen", "--url", url, "--requests", str(requests_path), "--rate", f"{rate:g}"]
    generator = Child(f"loadgen-{name}", [*args, "--start", f"{start:.6f}", "--out", str(out_path)], workdir)

    generator.start()
    assert generator.process is not None
    while time.time() < start:
        time.sleep(0.01)
    server_before = server.cpu()
    wall_before = time.perf_counter()
    code = generator.process.wait(timeout=len(requests) / rate + 120)
    server_cpu = (server.cpu() - server_before) / (time.perf_counter() - wall_before)
    if code != 0:
        raise RuntimeError(f"the load generator failed (exit {code}):\n{generator.log_tail()}")

    report = json.loads(out_path.read_text(encoding="utf-8"))
    requests_path.unlink()
    return OpenLoopResult(
        rate=rate,
        results=report["results"],
        generator_cpu=report["cpu_seconds"] / report["wall_seconds"],
        server_cpu=server_cpu,
    )
