"""Bounded, jittered retries of one HTTP request, shared by the COC, IAM and Slack clients.

A request is tried again only when the other side surely did not act on it or asked to
be asked again: a refused or timed-out connection (nothing was sent), HTTP 429, 502,
503 or 504, or a gateway's throttling code in the body. A connection that broke before
any answer came (most often a kept-alive connection the server had just closed) is tried
again only where the caller says a repeat is harmless. A read timeout is never retried:
the other side may still be carrying out the first try.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx
from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt, wait_exponential, wait_random

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 502, 503, 504})
THROTTLE_CODES = frozenset({"APIG.0308", "APIGW.0308"})
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)
"""Transport errors raised before any byte of the request left, so a retry is safe."""
BROKEN = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)
"""The connection broke before an answer: the request may or may not have been acted on."""

MAX_WAIT_SECONDS = 8.0
"""The longest pause between two tries, whatever ``Retry-After`` asks."""

_BACKOFF = wait_exponential(multiplier=0.25) + wait_random(0, 0.25)


@dataclass
class Attempts:
    """What :func:`send` did with one request; pass one in to read it afterwards."""

    made: int = 0
    answered: list[int] = field(default_factory=list)
    """The HTTP status of each try that got an answer, in order."""
    broken: int = 0
    """How many tries lost their connection before an answer came."""

    @property
    def retried(self) -> bool:
        return self.made > 1


def is_throttled(response: httpx.Response) -> bool:
    """Whether the body carries a gateway throttling code, whatever the status."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("error_code") in THROTTLE_CODES


def should_retry(response: httpx.Response) -> bool:
    return response.status_code in RETRY_STATUSES or is_throttled(response)


def retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds, or ``None`` when absent or given as a date."""
    value = response.headers.get("retry-after", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


async def send(
    client: httpx.AsyncClient,
    request: httpx.Request,
    *,
    retries: int,
    auth: httpx.Auth | None = None,
    max_wait: float = MAX_WAIT_SECONDS,
    attempts: Attempts | None = None,
    retry_broken: bool = False,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> httpx.Response:
    """Send ``request``, trying again up to ``retries`` times; return the last response.

    ``auth`` runs on every try, so a signature and its date are fresh each time. Waits
    grow exponentially with jitter, or follow ``Retry-After``, never beyond ``max_wait``
    seconds. Transport errors propagate once retries are spent or cannot help.
    """
    tally = attempts if attempts is not None else Attempts()

    async def attempt() -> httpx.Response:
        tally.made += 1
        sent = client.send(request) if auth is None else client.send(request, auth=auth)
        try:
            response = await sent
        except BROKEN:
            tally.broken += 1
            raise
        tally.answered.append(response.status_code)
        return response

    def wait(state: RetryCallState) -> float:
        outcome = state.outcome
        if outcome is not None and not outcome.failed:
            asked = retry_after(outcome.result())
            if asked is not None:
                return min(asked, max_wait)
        return min(_BACKOFF(state), max_wait)

    def retryable(state: RetryCallState) -> bool:
        outcome = state.outcome
        if outcome is None:
            return False
        if outcome.failed:
            failure = outcome.exception()
            return isinstance(failure, NOT_SENT) or (retry_broken and isinstance(failure, BROKEN))
        return should_retry(outcome.result())

    def log_retry(state: RetryCallState) -> None:
        outcome = state.outcome
        if outcome is None:
            return
        why = type(outcome.exception()).__name__ if outcome.failed else f"HTTP {outcome.result().status_code}"
        seconds = state.next_action.sleep if state.next_action is not None else 0.0
        logger.warning(
            "Retrying %s %s after %s, in %.2fs (try %d of %d)",
            request.method,
            request.url.path,
            why,
            seconds,
            state.attempt_number + 1,
            retries + 1,
        )

    retrying = AsyncRetrying(
        stop=stop_after_attempt(retries + 1),
        wait=wait,
        retry=retryable,
        before_sleep=log_retry,
        sleep=sleep,
        # Once retries are spent, hand back the last answer or raise the last error.
        retry_error_callback=lambda state: state.outcome.result() if state.outcome else None,
    )
    response: httpx.Response = await retrying(attempt)
    return response
