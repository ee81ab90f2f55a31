"""Fuzz the bot's request endpoint over HTTP, as production runs it.

    .venv/bin/python -m fuzz.fuzz_edge --examples 2000

Starts ``python -m bot`` with its Slack, COC and IAM peers on loopback (as the integration
tests do), then sends it ``--examples`` generated requests (see :mod:`fuzz.requests`), for
at most ``--seconds``. It fails, printing the request, on the first 5xx or transport error,
and at the end if the bot stopped answering ``/healthz``, exited, or logged a traceback.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import itertools
import secrets
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, given, seed, settings

from fuzz.requests import FuzzRequest, requests
from tests.hostile.forge import FORM, Forge
from tests.hostile.observe import TRACEBACK_MARKS, has_traceback
from tests.integration.stack import SIGNING_SECRET, Stack, running_stack

HEALTH_EVERY = 200
_SEND_NUMBER = itertools.count()


def headers_for(request: FuzzRequest, now: int) -> dict[str, str]:
    """The request's headers: Slack's signature as ``request.signing`` says, then its extras.

    Each send is signed at a different second of the last four minutes, so that Hypothesis
    replaying an example while it shrinks a failure is not refused as a replay.
    """
    now -= next(_SEND_NUMBER) % 240
    timestamp = {"stale": now - 3600, "future": now + 3600}.get(request.signing, now)
    secret = b"not-the-signing-secret" if request.signing == "wrong-secret" else SIGNING_SECRET.encode()
    digest = hmac.new(secret, f"v0:{timestamp}:".encode() + request.body, hashlib.sha256).hexdigest()
    if request.signing == "flipped":
        digest = ("1" if digest[0] == "0" else "0") + digest[1:]
    headers = {"Content-Type": FORM, "X-Slack-Request-Timestamp": str(timestamp), "X-Slack-Signature": f"v0={digest}"}
    if request.signing == "missing":
        del headers["X-Slack-Signature"]
    if request.signing == "junk":
        headers["X-Slack-Signature"] = "v0=" + request.body[:64].hex()
    return {**headers, **request.headers}


def templates(stack: Stack) -> tuple[dict[str, str], list[dict[str, Any]]]:
    """A real slash command's fields and real payloads of the bot's own modal and button."""
    forge = Forge(stack, stack.driver.open_modal(""))
    try:
        submission = forge.submission_payload(
            {"task": {"task_id": {"type": "plain_text_input", "value": "ST" + "a" * 24}}}
        )
        return forge.command_fields(""), [submission, forge.action_payload("add_ticket")]
    finally:
        forge.close()


def fuzz(stack: Stack, examples: int, seconds: float, chosen_seed: int) -> Counter[str]:
    statuses: Counter[str] = Counter()
    deadline = time.monotonic() + seconds
    command, interactions = templates(stack)
    client = httpx.Client(timeout=15)

    @seed(chosen_seed)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        report_multiple_bugs=False,
    )
    @given(requests(command, interactions))
    def probe(request: FuzzRequest) -> None:
        if time.monotonic() > deadline:
            return
        try:
            answer = client.post(
                stack.bot.url + "/slack/events", content=request.body, headers=headers_for(request, int(time.time()))
            )
        except (httpx.LocalProtocolError, UnicodeEncodeError):
            return  # a header value HTTP itself forbids: no client can send it, so the edge never sees it
        except httpx.TransportError as exc:
            raise AssertionError(f"no answer to {request!r}: {type(exc).__name__}") from exc
        statuses[str(answer.status_code)] += 1
        assert answer.status_code < 500, f"HTTP {answer.status_code} for {request!r}: {answer.text[:200]}"
        if statuses.total() % HEALTH_EVERY == 0:
            assert stack.bot.running and _healthy(stack), f"the bot stopped answering after {request!r}"

    try:
        probe()
    finally:
        client.close()
    return statuses


def _healthy(stack: Stack) -> bool:
    try:
        return httpx.get(stack.bot.url + "/healthz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.fuzz_edge", description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500, help="how many requests to generate (default 500)")
    parser.add_argument("--seconds", type=float, default=300.0, help="stop sending after this long (default 300)")
    parser.add_argument("--seed", type=int, help="the generator's seed, to repeat a run (default: a new one)")
    args = parser.parse_args(argv)
    chosen_seed = args.seed if args.seed is not None else secrets.randbelow(2**32)
    print(f"fuzzing with --seed {chosen_seed}", flush=True)

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="fuzz-edge-") as workdir, running_stack(Path(workdir)) as stack:
        try:
            statuses = fuzz(stack, args.examples, args.seconds, chosen_seed)
        # A group when Hypothesis could not reproduce a failure while shrinking it.
        except (AssertionError, ExceptionGroup) as failure:
            print(f"FAIL (--seed {chosen_seed}): {failure}", file=sys.stderr)
            return 1
        logs = stack.bot.logs()
        alive = stack.bot.running and _healthy(stack)

    elapsed = time.monotonic() - started
    summary = ", ".join(f"{count} x {status}" for status, count in sorted(statuses.items()))
    print(f"sent {statuses.total()} requests in {elapsed:.0f} s: {summary or 'none'}")
    problems = []
    if not alive:
        problems.append("the bot is no longer answering /healthz")
    if has_traceback(logs):
        problems.append("the bot logged a traceback:\n" + _traceback_excerpt(logs))
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    return 1 if problems else 0


def _traceback_excerpt(logs: str) -> str:
    start = min((logs.find(mark) for mark in TRACEBACK_MARKS if mark in logs), default=0)
    return logs[max(0, start - 400) : start + 3000]


if __name__ == "__main__":
    sys.exit(main())
