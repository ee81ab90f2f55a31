"""The COC client over loopback HTTP against the COC peer."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pydantic import SecretStr

from bot import messages
from bot.coc import answers, client
from bot.coc.client import CocClient
from bot.coc.tasks import InvalidTaskId, Ticket, TicketType
from bot.errors import CocError, CocUnavailable
from bot.identities.credentials import Credentials
from tests.coc.conftest import ACCESS_KEY, DOMAIN, OTHER_TASK_ID, SECRET_KEY, TASK_ID, TIMEOUT
from tests.peers.coc import CocPeer, Fault
from tests.peers.keyring import Key, Keyring
from tests.peers.server import free_port

ENABLE = f"/v1/schedule/task/{TASK_ID}/enable"
TICKETS = [
    Ticket(TicketType.CHANGE, "CH-20240101-0001", target_id="app-42", scope_id="cn-north-4"),
    Ticket(TicketType.INCIDENT, "IN-7"),
]
UNKNOWN_TASK_ID = "ST0000000000000000000000zz"


async def test_enable_returns_the_task_and_cocs_request_id(
    coc: CocClient, credentials: Credentials, peer: CocPeer
) -> None:
    result = await coc.enable_task(TASK_ID, TICKETS, credentials, DOMAIN)

    (call,) = peer.calls_to("POST", ENABLE)
    assert (result.task_id, result.request_id, result.attempts) == (TASK_ID, call.request_id, 1)
    assert peer.task(TASK_ID).enabled


async def test_enable_sends_tickets_as_ticket_infos(coc: CocClient, credentials: Credentials, peer: CocPeer) -> None:
    await coc.enable_task(TASK_ID, TICKETS, credentials, DOMAIN)

    (call,) = peer.calls_to("POST", ENABLE)
    assert call.body == {
        "ticket_infos": [
            {"ticket_id": "CH-20240101-0001", "ticket_type": "CHANGE", "target_id": "app-42", "scope_id": "cn-north-4"},
            {"ticket_id": "IN-7", "ticket_type": "INCIDENT"},
        ]
    }
    assert call.headers["content-type"] == "application/json;charset=utf-8"
    assert call.access_key == ACCESS_KEY


async def test_enable_without_tickets_sends_an_empty_object(
    coc: CocClient, credentials: Credentials, peer: CocPeer
) -> None:
    await coc.enable_task(TASK_ID, [], credentials, DOMAIN)

    (call,) = peer.calls_to("POST", ENABLE)
    assert call.raw_body == b"{}"


async def test_enable_with_temporary_credentials_sends_the_security_token(
    coc: CocClient, keyring: Keyring, peer: CocPeer
) -> None:
    expires = datetime.now(UTC) + timedelta(hours=1)
    keyring.add(Key("TEMPAK0000000001", "temp-secret", DOMAIN, security_token="token-abc", expires_at=expires))
    temporary = Credentials("TEMPAK0000000001", SecretStr("temp-secret"), SecretStr("token-abc"), expires)

    await coc.enable_task(TASK_ID, [], temporary, DOMAIN)

    (call,) = peer.calls_to("POST", ENABLE)
    assert call.access_key == "TEMPAK0000000001"
    assert call.headers["x-security-token"] == "token-abc"


@pytest.mark.parametrize(
    ("task_id", "code"),
    [(UNKNOWN_TASK_ID, answers.TASK_NOT_FOUND), (OTHER_TASK_ID, answers.OTHER_ACCOUNT)],
)
async def test_enable_refused_by_coc_raises_its_code(
    coc: CocClient, credentials: Credentials, peer: CocPeer, task_id: str, code: str
) -> None:
    with pytest.raises(CocError) as refused:
        await coc.enable_task(task_id, [], credentials, DOMAIN)

    (call,) = peer.calls
    assert (refused.value.status, refused.value.error_code) == (400, code)
    assert refused.value.error_msg
    assert refused.value.request_id == call.request_id
    assert messages.hint(refused.value.error_code, refused.value.status)


async def test_enable_of_an_enabled_task_raises_already_enabled(
    coc: CocClient, credentials: Credentials, peer: CocPeer
) -> None:
    peer.add_task(TASK_ID, "nightly-cleanup", DOMAIN, enabled=True)

    with pytest.raises(CocError) as refused:
        await coc.enable_task(TASK_ID, [], credentials, DOMAIN)

    assert refused.value.error_code == answers.ALREADY_ENABLED
    assert refused.value.attempts == 1  # type: ignore[attr-defined]


async def test_already_enabled_after_a_throttled_try_counts_both_attempts(
    coc: CocClient, credentials: Credentials, peer: CocPeer
) -> None:
    peer.add_task(TASK_ID, "nightly-cleanup", DOMAIN, enabled=True)
    peer.faults.append(Fault.throttle(retry_after=0.1))

    with pytest.raises(CocError) as refused:
        await coc.enable_task(TASK_ID, [], credentials, DOMAIN)

    assert refused.value.error_code == answers.ALREADY_ENABLED
    assert refused.value.attempts == 2  # type: ignore[attr-defined]


async def test_wrong_secret_key_is_refused_by_the_gateway(coc: CocClient, peer: CocPeer) -> None:
    wrong = Credentials(ACCESS_KEY, SecretStr(SECRET_KEY + "x"))

    with pytest.raises(CocError) as refused:
        await coc.enable_task(TASK_ID, [], wrong, DOMAIN)

    (call,) = peer.calls
    assert (refused.value.status, refused.value.error_code) == (401, "APIGW.0301")
    assert refused.value.request_id == call.request_id
    assert answers.credentials_rejected(refused.value)
    assert not peer.task(TASK_ID).enabled


async def test_expired_temporary_credentials_are_rejected(coc: CocClient, keyring: Keyring) -> None:
    expired = datetime.now(UTC) - timedelta(minutes=1)
    keyring.add(Key("TEMPAK0000000002", "temp-secret", DOMAIN, security_token="token", expires_at=expired))
    temporary = Credentials("TEMPAK0000000002", SecretStr("temp-secret"), SecretStr("token"), expired)

    with pytest.raises(CocError) as refused:
        await coc.enable_task(TASK_ID, [], temporary, DOMAIN)

    assert answers.credentials_rejected(refused.value)


async def test_coded_error_from_coc_raises_coc_error(coc: CocClient, credentials: Credentials, peer: CocPeer) -> None:
    peer.faults.append(Fault.error(403, "COC.00040301", "Ticket CH-1 does not authorize this operation"))

    with pytest.raises(CocError) as refused:
        await coc.enable_task(TASK_ID, TICKETS, credentials, DOMAIN)

    assert (refused.value.status, refused.value.error_code) == (403, "COC.00040301")
    assert refused.value.error_msg == "Ticket CH-1 does not authorize this operation"
    assert refused.value.request_id == peer.calls[0].request_id


async def test_throttled_enable_is_retried_then_succeeds(
    coc: CocClient, credentials: Credentials, peer: CocPeer
) -> None:
    peer.faults.append(Fault.throttle(retry_after=0.2))

    result = await coc.enable_task(TASK_ID, [], credentials, DOMAIN)

    assert [call.status for call in peer.calls_to("POST", ENABLE)] == [429, 200]
    assert result.attempts == 2


async def test_unavailable_enable_is_retried_then_succeeds(
    coc: CocClient, credentials: Credentials, peer: CocPeer
) -> None:
    peer.faults.append(Fault.status(503))

    result = await coc.enable_task(TASK_ID, [], credentials, DOMAIN)

    assert [call.status for call in peer.calls_to("POST", ENABLE)] == [503, 200]
    assert result.attempts == 2
    assert peer.task(TASK_ID).enabled


async def test_retries_are_bounded_then_the_503_surfaces(
    http: httpx.AsyncClient, coc_url: str, credentials: Credentials, peer: CocPeer
) -> None:
    peer.faults.extend([Fault.status(503)] * 5)

    with pytest.raises(CocUnavailable) as unavailable:
        await CocClient(http, coc_url, retries=1).enable_task(TASK_ID, [], credentials, DOMAIN)

    assert len(peer.calls) == 2
    assert (unavailable.value.status, unavailable.value.may_have_acted) == (503, True)


async def test_throttling_that_outlasts_retries_raises_the_throttle_code(
    coc: CocClient, credentials: Credentials, peer: CocPeer
) -> None:
    peer.faults.extend([Fault.throttle(retry_after=0)] * 3)

    with pytest.raises(CocError) as refused:
        await coc.enable_task(TASK_ID, [], credentials, DOMAIN)

    assert len(peer.calls) == 3
    assert refused.value.error_code in answers.THROTTLED
    assert refused.value.attempts == 3  # type: ignore[attr-defined]


async def test_a_connection_that_keeps_dropping_may_have_acted(
    coc: CocClient, credentials: Credentials, peer: CocPeer
) -> None:
    peer.faults.extend([Fault.drop()] * 3)

    with pytest.raises(CocUnavailable) as unavailable:
        await coc.enable_task(TASK_ID, [], credentials, DOMAIN)

    assert unavailable.value.may_have_acted
    assert len(peer.calls) == 3


async def test_one_dropped_connection_is_tried_again(coc: CocClient, credentials: Credentials, peer: CocPeer) -> None:
    peer.faults.append(Fault.drop())

    result = await coc.enable_task(TASK_ID, [], credentials, DOMAIN)

    assert result.attempts == 2 and len(peer.calls) == 2


async def test_already_enabled_after_a_dropped_try_counts_as_ours(
    coc: CocClient, credentials: Credentials, peer: CocPeer
) -> None:
    peer.add_task(TASK_ID, "nightly-cleanup", DOMAIN, enabled=True)
    peer.faults.append(Fault.drop())

    with pytest.raises(CocError) as refused:
        await coc.enable_task(TASK_ID, [], credentials, DOMAIN)

    assert refused.value.error_code == answers.ALREADY_ENABLED
    assert refused.value.earlier_may_have_acted


async def test_refused_connection_surely_did_not_act(http: httpx.AsyncClient, credentials: Credentials) -> None:
    closed = CocClient(http, f"http://127.0.0.1:{free_port()}", retries=0)

    with pytest.raises(CocUnavailable) as unavailable:
        await closed.enable_task(TASK_ID, [], credentials, DOMAIN)

    assert not unavailable.value.may_have_acted
    assert "could not be reached" in unavailable.value.reason


async def test_unknown_host_surely_did_not_act(http: httpx.AsyncClient, credentials: Credentials) -> None:
    nowhere = CocClient(http, "http://coc.invalid", retries=0)

    with pytest.raises(CocUnavailable) as unavailable:
        await nowhere.enable_task(TASK_ID, [], credentials, DOMAIN)

    assert not unavailable.value.may_have_acted


class RefusesAfterFirst(httpx.AsyncBaseTransport):
    """Sends the first try over loopback, then refuses each later one as a vanished host would."""

    def __init__(self) -> None:
        self.tries = 0
        self._loopback = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.tries += 1
        if self.tries == 1:
            return await self._loopback.handle_async_request(request)
        raise httpx.ConnectError("Connection refused", request=request)

    async def aclose(self) -> None:
        await self._loopback.aclose()


async def test_refused_retry_after_an_answer_may_have_acted(
    credentials: Credentials, coc_url: str, peer: CocPeer
) -> None:
    # The first try reached COC and got a 502; a later try that cannot connect does not undo that.
    peer.faults.append(Fault.status(502))
    transport = RefusesAfterFirst()

    async with httpx.AsyncClient(transport=transport, timeout=TIMEOUT) as flaky:
        with pytest.raises(CocUnavailable) as unavailable:
            await CocClient(flaky, coc_url, retries=1).enable_task(TASK_ID, [], credentials, DOMAIN)

    assert transport.tries == 2
    assert unavailable.value.may_have_acted


@pytest.mark.parametrize("status", [200, 502])
async def test_non_json_answer_is_unavailable(
    coc: CocClient, credentials: Credentials, peer: CocPeer, status: int
) -> None:
    peer.faults.extend([Fault.non_json(status)] * 3)

    with pytest.raises(CocUnavailable) as unavailable:
        await coc.enable_task(TASK_ID, [], credentials, DOMAIN)

    assert unavailable.value.status == status
    assert unavailable.value.may_have_acted
    assert "Bad Gateway" in unavailable.value.reason


async def test_answer_slower_than_the_timeout_is_unavailable(
    coc: CocClient, credentials: Credentials, peer: CocPeer
) -> None:
    peer.delay = TIMEOUT + 1

    with pytest.raises(CocUnavailable) as unavailable:
        await coc.enable_task(TASK_ID, [], credentials, DOMAIN)

    assert unavailable.value.may_have_acted
    assert "in time" in unavailable.value.reason
    assert len(peer.calls) == 1
    # Why "may have acted": COC enabled the task, the answer just came too late.
    assert peer.task(TASK_ID).enabled


@pytest.mark.parametrize(
    "task_id",
    [
        "../../v1/schedule/task",
        "ST%2F..%2F..%2Fv1%2Fdomain0",
        "ST2024010100000000000000\x00a",
        "ST2024010100000000000000/a",
        "S\u04222024010100000000000000a1",  # Cyrillic Te in place of T
        "ST\uff12024010100000000000000a1",  # fullwidth digit two
        "ST2024010100000000000000a",
        "ST2024010100000000000000a12",
        "",
    ],
)
async def test_invalid_task_ids_never_reach_coc(
    coc: CocClient, credentials: Credentials, peer: CocPeer, task_id: str
) -> None:
    with pytest.raises(InvalidTaskId):
        await coc.enable_task(task_id, [], credentials, DOMAIN)
    with pytest.raises(InvalidTaskId):
        await coc.get_task(task_id, credentials, DOMAIN)

    assert peer.calls == []


async def test_get_task_reads_details_and_whether_enabled(
    coc: CocClient, credentials: Credentials, peer: CocPeer
) -> None:
    before = await coc.get_task(TASK_ID, credentials, DOMAIN)
    await coc.enable_task(TASK_ID, [], credentials, DOMAIN)
    after = await coc.get_task(TASK_ID, credentials, DOMAIN)

    assert (before.task_id, before.name, before.enabled) == (TASK_ID, "nightly-cleanup", False)
    assert after.enabled
    assert before.risk_level == "LOW"


async def test_get_task_of_another_account_raises_its_code(coc: CocClient, credentials: Credentials) -> None:
    with pytest.raises(CocError) as refused:
        await coc.get_task(OTHER_TASK_ID, credentials, DOMAIN)

    assert refused.value.error_code == answers.OTHER_ACCOUNT


async def test_list_tasks_filters_by_name_and_limit(coc: CocClient, credentials: Credentials, peer: CocPeer) -> None:
    peer.add_task("ST2024010100000000000000c3", "nightly-backup", DOMAIN, enabled=True)
    peer.add_task("ST2024010100000000000000d4", "weekly-report", DOMAIN)

    nightly = await coc.list_tasks(credentials, DOMAIN, limit=10, task_name="nightly")
    one = await coc.list_tasks(credentials, DOMAIN)

    assert {(task.task_id, task.enabled) for task in nightly} == {
        (TASK_ID, False),
        ("ST2024010100000000000000c3", True),
    }
    assert len(one) == 1
    assert peer.calls[0].query == [("limit", "10"), ("task_name", "nightly")]


async def test_list_tasks_sends_names_with_spaces_and_symbols_intact(
    coc: CocClient, credentials: Credentials, peer: CocPeer
) -> None:
    await coc.list_tasks(credentials, DOMAIN, limit=5, task_name="a b+c&d=é")

    (call,) = peer.calls
    assert ("task_name", "a b+c&d=é") in call.query
    assert call.access_key == ACCESS_KEY


async def test_one_log_line_per_call_without_secrets(
    coc: CocClient, credentials: Credentials, peer: CocPeer, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=client.__name__):
        await coc.enable_task(TASK_ID, TICKETS, credentials, DOMAIN)

    (line,) = [record.getMessage() for record in caplog.records if record.name == client.__name__]
    (call,) = peer.calls
    assert f"POST {ENABLE} answered 200 (request id {call.request_id})" in line
    assert "1 attempt(s)" in line
    assert SECRET_KEY not in line
    assert call.headers["authorization"] not in line
    assert "CH-20240101-0001" not in line
