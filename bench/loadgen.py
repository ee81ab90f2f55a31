"""An open-loop load generator: sends pre-signed requests at fixed times, in its own process.

Request ``i`` is due at ``start + i / rate`` whether or not earlier ones were answered, and
its latency is measured from that due time, not from when it was actually sent; a stalled
server therefore shows its stall in every request that waited behind it (no coordinated
omission). The generator reports how late it was in sending and its own CPU use, so a run
where the generator itself fell behind can be recognised.

``python -m bench.loadgen --url URL --requests IN.json --rate R --start UNIX_TIME --out OUT.json``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

import aiohttp

ANSWER_TIMEOUT = 30.0


async def _send(
    session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str], due: float, to_wall: float
) -> dict[str, Any]:
    sent = time.perf_counter()
    error = None
    try:
        async with session.post(url, data=body, headers=headers) as response:
            await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        status = 0
        error = type(exc).__name__
    done = time.perf_counter()
    return {
        "due": due + to_wall,
        "sent": sent + to_wall,
        "done": done + to_wall,
        "latency": done - due,
        "lag": sent - due,
        "status": status,
        "error": error,
    }


async def run(url: str, requests: list[list[Any]], rate: float, start: float) -> dict[str, Any]:
    prepared = [(body.encode(), dict(headers)) for body, headers in requests]
    # aiohttp's C parser and its connection pool keep the generator's cost per request low.
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=ANSWER_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        # One request outside the schedule opens a connection, as a warm Slack would have.
        async with session.get(url.rsplit("/slack/", 1)[0] + "/healthz") as warm:
            await warm.read()
        to_wall = time.time() - time.perf_counter()
        first_due = max(start - to_wall, time.perf_counter())
        cpu_before = time.process_time()
        wall_before = time.perf_counter()
        sends = []
        for index, (body, headers) in enumerate(prepared):
            due = first_due + index / rate
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            sends.append(asyncio.create_task(_send(session, url, body, headers, due, to_wall)))
        results = await asyncio.gather(*sends)
        cpu = time.process_time() - cpu_before
        wall = time.perf_counter() - wall_before
    return {"results": results, "cpu_seconds": cpu, "wall_seconds": wall}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loadgen", description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--requests", type=Path, required=True, help="JSON list of [body, headers]")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--start", type=float, default=0.0, help="Unix time of the first request")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    requests = json.loads(args.requests.read_text(encoding="utf-8"))
    report = asyncio.run(run(args.url, requests, args.rate, args.start))
    args.out.write_text(json.dumps(report), encoding="utf-8")


if __name__ == "__main__":
    main()
