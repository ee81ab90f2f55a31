"""Our COC client against Huawei's own ``huaweicloudsdkcoc`` client, both talking to the peer."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from huaweicloudsdkcoc.v1 import (
    CocClient as OfficialCocClient,
)
from huaweicloudsdkcoc.v1 import (
    EnableScheduledTaskRequest,
    EnableScheduledTaskRequestBody,
    ListScheduledTaskRequest,
    ShowScheduledTaskRequest,
    TicketInfo,
)
from huaweicloudsdkcore.auth.credentials import GlobalCredentials
from huaweicloudsdkcore.http.http_config import HttpConfig

from bot.coc import signing
from bot.coc.client import CocClient
from bot.coc.tasks import Ticket, TicketType
from bot.identities.credentials import Credentials
from tests.coc.conftest import ACCESS_KEY, DOMAIN, SECRET_KEY, TASK_ID
from tests.peers.coc import Call, CocPeer

ENABLE = f"/v1/schedule/task/{TASK_ID}/enable"
TICKETS = [
    Ticket(TicketType.CHANGE, "CH-20240101-0001", target_id="app-42", scope_id="cn-north-4"),
    Ticket(TicketType.WARROOM, "WR-9"),
]


@pytest.fixture
def official(coc_url: str) -> Any:
    config = HttpConfig.get_default_config()
    # The peer speaks plain http on loopback; nothing to verify, and no SDK retries to count.
    config.ignore_ssl_verification = True
    config.retry_times = 0
    return (
        OfficialCocClient.new_builder()
        .with_http_config(config)
        .with_credentials(GlobalCredentials(ACCESS_KEY, SECRET_KEY, DOMAIN))
        .with_endpoints([coc_url])
        .build()
    )


def official_enable(official: Any) -> Any:
    infos = [TicketInfo(**ticket.to_api()) for ticket in TICKETS]
    body = EnableScheduledTaskRequestBody(ticket_infos=infos)
    return official.enable_scheduled_task(EnableScheduledTaskRequest(task_id=TASK_ID, body=body))


async def both_enable(official: Any, coc: CocClient, credentials: Credentials, peer: CocPeer) -> tuple[Call, Call]:
    await asyncio.to_thread(official_enable, official)
    peer.add_task(TASK_ID, "nightly-cleanup", DOMAIN, enabled=False)
    await coc.enable_task(TASK_ID, TICKETS, credentials, DOMAIN)
    theirs, ours = peer.calls_to("POST", ENABLE)
    return theirs, ours


async def test_both_enables_are_verified_and_succeed(
    official: Any, coc: CocClient, credentials: Credentials, peer: CocPeer
) -> None:
    theirs, ours = await both_enable(official, coc, credentials, peer)

    assert (theirs.status, ours.status) == (200, 200)
    assert theirs.access_key == ours.access_key == ACCESS_KEY


async def test_our_enable_matches_path_content_type_and_body_of_theirs(
    official: Any, coc: CocClient, credentials: Credentials, peer: CocPeer
) -> None:
    theirs, ours = await both_enable(official, coc, credentials, peer)

    assert ours.raw_path == theirs.raw_path == ENABLE
    assert ours.query == theirs.query == []
    assert ours.headers["content-type"] == theirs.headers["content-type"]
    assert ours.body == theirs.body
    assert ours.headers["x-domain-id"] == theirs.headers["x-domain-id"] == DOMAIN


def resigned(call: Call) -> str:
    """Our signature over exactly the headers, body and date their client signed."""
    signed_names = call.headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
    return signing.authorization(
        ACCESS_KEY,
        SECRET_KEY,
        method=call.method,
        raw_path=call.raw_path,
        query=signing.parse_query(call.raw_query),
        headers={name: call.headers[name] for name in signed_names},
        body=call.raw_body,
    )


async def test_our_signer_reproduces_their_enable_authorization(
    official: Any, coc: CocClient, credentials: Credentials, peer: CocPeer
) -> None:
    theirs, _ = await both_enable(official, coc, credentials, peer)

    assert resigned(theirs) == theirs.headers["authorization"]


async def test_their_client_reads_the_peers_task_details_and_list(official: Any, peer: CocPeer) -> None:
    details = await asyncio.to_thread(official.show_scheduled_task, ShowScheduledTaskRequest(task_id=TASK_ID))
    listed = await asyncio.to_thread(official.list_scheduled_task, ListScheduledTaskRequest(task_id=TASK_ID, limit=1))

    assert (details.id, details.name) == (TASK_ID, "nightly-cleanup")
    assert [(task.id, task.enabled) for task in listed.scheduled_tasks] == [(TASK_ID, False)]
    assert {call.status for call in peer.calls} == {200}


async def test_our_signer_reproduces_their_authorization_with_a_query(official: Any, peer: CocPeer) -> None:
    request = ListScheduledTaskRequest(task_name="nightly cleanup+1", limit=5, offset=0)
    await asyncio.to_thread(official.list_scheduled_task, request)

    (theirs,) = peer.calls
    assert theirs.raw_query
    assert resigned(theirs) == theirs.headers["authorization"]
