"""Bounded retries over real HTTP against a loopback peer that answers from a script."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from bot import retry
from bot.retry import Attempts, send
from tests.peers.coc import CocPeer, Fault
from tests.peers.keyring import Keyring
from tests.peers.server import free_port, serve


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class ScriptedPeer:
    """Answers each request with the next scripted answer; the last one repeats."""

    def __init__(self) -> None:
        self.script: list[Answer] = [Answer()]
        self.seen: list[dict[str, str]] = []
        self._lock = threading.Lock()

    def answer(self, *answers: Answer) -> None:
        self.script = list(answers)

    @property
    def calls(self) -> int:
        with self._lock:
            return len(self.seen)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        await request.body()
        with self._lock:
            self.seen.append(dict(request.headers))
            answer = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if answer.delay:
            await asyncio.sleep(answer.delay)
        await Response(answer.body, answer.status, answer.headers, media_type="application/json")(scope, receive, send)


class Waits:
    """Stands in for asyncio.sleep so tests read the waits instead of spending them."""

    def __init__(self) -> None:
        self.asked: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.asked.append(seconds)


class NumberedAuth(httpx.Auth):
    def __init__(self) -> None:
        self.runs = 0

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.runs += 1
        request.headers["X-Try"] = str(self.runs)
        yield request


THROTTLED = json.dumps({"error_code": "APIGW.0308", "error_msg": "The throttling threshold has been reached"}).encode()


@pytest.fixture
def peer() -> ScriptedPeer:
    return ScriptedPeer()


@pytest.fixture
def url(peer: ScriptedPeer) -> Iterator[str]:
    with serve(peer) as base:
        yield base + "/v1/thing"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(0.5)) as http:
        yield http


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_retryable_status_is_retried_until_success(
    client: httpx.AsyncClient, url: str, peer: ScriptedPeer, status: int
) -> None:
    peer.answer(Answer(status, b""), Answer(200))
    attempts = Attempts()

    response = await send(client, client.build_request("POST", url), retries=2, attempts=attempts, sleep=Waits())

    assert response.status_code == 200
    assert peer.calls == 2
    assert (attempts.made, attempts.answered, attempts.retried) == (2, [status, 200], True)


@pytest.mark.parametrize("status", [200, 400, 403])
async def test_gateway_throttling_code_is_retried_whatever_the_status(
    client: httpx.AsyncClient, url: str, peer: ScriptedPeer, status: int
) -> None:
    peer.answer(Answer(status, THROTTLED), Answer(200, b'{"data": "ok"}'))

    response = await send(client, client.build_request("GET", url), retries=1, sleep=Waits())

    assert response.json() == {"data": "ok"}
    assert peer.calls == 2


async def test_retries_are_bounded_and_the_last_answer_returned(
    client: httpx.AsyncClient, url: str, peer: ScriptedPeer
) -> None:
    peer.answer(Answer(503, b"first"), Answer(503, b"second"), Answer(503, b"last"))
    attempts = Attempts()

    response = await send(client, client.build_request("GET", url), retries=2, attempts=attempts, sleep=Waits())

    assert (response.status_code, response.content) == (503, b"last")
    assert peer.calls == 3
    assert attempts.made == 3


@pytest.mark.parametrize("status", [400, 401, 404, 500])
async def test_other_answers_are_not_retried(
    client: httpx.AsyncClient, url: str, peer: ScriptedPeer, status: int
) -> None:
    peer.answer(Answer(status, b'{"error_code": "COC.00014102"}'))

    response = await send(client, client.build_request("POST", url), retries=3, sleep=Waits())

    assert response.status_code == status
    assert peer.calls == 1


async def test_zero_retries_sends_once(client: httpx.AsyncClient, url: str, peer: ScriptedPeer) -> None:
    peer.answer(Answer(503))

    response = await send(client, client.build_request("GET", url), retries=0, sleep=Waits())

    assert response.status_code == 503
    assert peer.calls == 1


async def test_retry_after_is_honoured(client: httpx.AsyncClient, url: str, peer: ScriptedPeer) -> None:
    peer.answer(Answer(429, THROTTLED, {"Retry-After": "3"}), Answer(200))
    waits = Waits()

    await send(client, client.build_request("GET", url), retries=2, sleep=waits)

    assert waits.asked == [3.0]


async def test_retry_after_is_capped_at_max_wait(client: httpx.AsyncClient, url: str, peer: ScriptedPeer) -> None:
    peer.answer(Answer(503, b"", {"Retry-After": "3600"}), Answer(200))
    waits = Waits()

    await send(client, client.build_request("GET", url), retries=2, max_wait=5.0, sleep=waits)

    assert waits.asked == [5.0]


async def test_backoff_grows_with_jitter_within_max_wait(
    client: httpx.AsyncClient, url: str, peer: ScriptedPeer
) -> None:
    peer.answer(Answer(503))
    waits = Waits()

    await send(client, client.build_request("GET", url), retries=5, max_wait=1.0, sleep=waits)

    assert len(waits.asked) == 5
    assert all(0 < wait <= 1.0 for wait in waits.asked)
    assert waits.asked[0] < waits.asked[2]


async def test_auth_runs_on_every_try(client: httpx.AsyncClient, url: str, peer: ScriptedPeer) -> None:
    peer.answer(Answer(502), Answer(503), Answer(200))
    auth = NumberedAuth()

    await send(client, client.build_request("POST", url, json={}), retries=2, auth=auth, sleep=Waits())

    assert [seen["x-try"] for seen in peer.seen] == ["1", "2", "3"]


async def test_refused_connection_is_retried_then_raised(client: httpx.AsyncClient) -> None:
    closed = f"http://127.0.0.1:{free_port()}/v1/thing"
    attempts = Attempts()

    with pytest.raises(httpx.ConnectError):
        await send(client, client.build_request("POST", closed), retries=2, attempts=attempts, sleep=Waits())

    assert (attempts.made, attempts.answered) == (3, [])


async def test_read_timeout_is_not_retried(client: httpx.AsyncClient, url: str, peer: ScriptedPeer) -> None:
    peer.answer(Answer(200, delay=1.5))
    attempts = Attempts()

    with pytest.raises(httpx.ReadTimeout):
        await send(client, client.build_request("POST", url), retries=3, attempts=attempts, sleep=Waits())

    assert attempts.made == 1
    assert peer.calls == 1


async def test_one_log_line_per_retry_without_headers(
    client: httpx.AsyncClient, url: str, peer: ScriptedPeer, caplog: pytest.LogCaptureFixture
) -> None:
    peer.answer(Answer(503), Answer(429, THROTTLED), Answer(200))
    request = client.build_request("POST", url + "?q=1", headers={"Authorization": "secret-signature"}, json={"k": 1})

    with caplog.at_level(logging.WARNING, logger=retry.__name__):
        await send(client, request, retries=2, sleep=Waits())

    lines = [record.getMessage() for record in caplog.records if record.name == retry.__name__]
    assert len(lines) == 2
    assert "POST /v1/thing after HTTP 503" in lines[0]
    assert "after HTTP 429" in lines[1]
    assert not any("secret-signature" in line or '"k"' in line for line in lines)


async def test_a_broken_connection_is_retried_only_where_the_caller_says_a_repeat_is_harmless(
    client: httpx.AsyncClient,
) -> None:
    peer = CocPeer(Keyring())  # hangs up on a request when told to
    with serve(peer) as base:
        peer.faults.append(Fault.drop())
        kept = Attempts()
        with pytest.raises(retry.BROKEN):
            await send(client, client.build_request("POST", f"{base}/v1/x"), retries=2, attempts=kept, sleep=Waits())

        peer.faults.append(Fault.drop())
        repeated = Attempts()
        response = await send(
            client,
            client.build_request("POST", f"{base}/v1/x"),
            retries=2,
            attempts=repeated,
            sleep=Waits(),
            retry_broken=True,
        )

    assert (kept.made, kept.broken) == (1, 1)
    assert (repeated.made, repeated.broken) == (2, 1)
    assert response.status_code == 401  # an answer: the peer refuses the unsigned request
