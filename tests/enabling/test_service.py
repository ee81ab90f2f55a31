"""The enable service with real parts: a SQLite audit store, the COC peer and the Slack peer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.audit.store import AuditStore, Outcome
from bot.coc.client import CocClient
from bot.enabling.parts import EnablingParts
from bot.enabling.reconcile import Reconciler
from bot.enabling.request import EnableRequest
from bot.enabling.service import EnableService
from bot.identities.loader import load_identity_map
from bot.identities.model import IdentityMap
from bot.identities.provider import CredentialProvider
from bot.slack.delivery import Delivery
from tests.integration.stack import (
    BOT_TOKEN,
    CHANNEL,
    IDENTITY_MAP,
    OPERATOR,
    PROD_AK,
    PROD_DOMAIN,
    PROD_SK,
    new_task_id,
)
from tests.peers.coc import CocPeer, Fault
from tests.peers.keyring import Key, Keyring
from tests.peers.server import serve
from tests.peers.slack import SlackPeer

ENVIRON = {"OPS_PROD_AK": PROD_AK, "OPS_PROD_SK": PROD_SK, "OPS_BASE_AK": "BASEAK", "OPS_BASE_SK": "base-sk"}


@dataclass
class Parts:
    coc_peer: CocPeer
    slack_peer: SlackPeer
    store: AuditStore
    service: EnableService
    reconciler: Reconciler
    identity_map: IdentityMap
    coc: CocClient
    credentials: CredentialProvider

    def request(self, task_id: str) -> EnableRequest:
        return EnableRequest(
            slack_team="T1",
            slack_user=OPERATOR,
            channel_id=CHANNEL,
            response_url=None,
            task_id=task_id,
            tickets=(),
            identity=self.identity_map.identities["ops-prod"],
            submission_key=f"V-{task_id}",
        )


@pytest.fixture
def peers() -> Iterator[tuple[CocPeer, str, SlackPeer]]:
    keyring = Keyring()
    keyring.add(Key(PROD_AK, PROD_SK, PROD_DOMAIN))
    coc = CocPeer(keyring)
    slack = SlackPeer(BOT_TOKEN)
    with serve(coc) as coc_url, slack.serve():
        yield coc, coc_url, slack


@pytest.fixture
async def parts(tmp_path: Path, peers: tuple[CocPeer, str, SlackPeer]) -> AsyncIterator[Parts]:
    coc_peer, coc_url, slack_peer = peers
    (tmp_path / "identities.toml").write_text(IDENTITY_MAP)
    identity_map = load_identity_map(tmp_path / "identities.toml", ENVIRON)
    lease = timedelta(seconds=1)  # far shorter than COC's answer below, on purpose
    async with httpx.AsyncClient(timeout=10) as http, await AuditStore.open(f"sqlite:///{tmp_path}/a.db") as store:
        coc = CocClient(http, coc_url, retries=2)
        credentials = CredentialProvider(http, "http://127.0.0.1:9", renew_margin=timedelta(seconds=60))
        delivery = Delivery(AsyncWebClient(token=BOT_TOKEN, base_url=slack_peer.api_url))
        parts = EnablingParts(store, coc, credentials, lambda: identity_map, delivery, lease)
        service = EnableService(parts, in_flight_wait=5)
        reconciler = Reconciler(parts, held_here=service.holds)
        yield Parts(coc_peer, slack_peer, store, service, reconciler, identity_map, coc, credentials)


async def test_a_slow_enable_keeps_its_record_so_no_reconciler_takes_it_over(parts: Parts):
    task_id = new_task_id()
    parts.coc_peer.add_task(task_id, "slow", PROD_DOMAIN)
    parts.coc_peer.delay = 2.5
    running = asyncio.create_task(parts.service.enable(parts.request(task_id)))
    await asyncio.sleep(1.6)  # past the first lease: only renewal keeps the record held

    assert await parts.reconciler.run_once() == 0
    await running
    (record,) = await parts.store.query(task_id=task_id)
    assert record.outcome is Outcome.ENABLED and record.note is None
    texts = [m["text"] for m in parts.slack_peer.messages(CHANNEL)]
    assert len(texts) == 1 and "enabled scheduled task" in texts[0]


async def test_already_enabled_after_a_throttled_try_is_not_claimed_as_our_success(parts: Parts):
    task_id = new_task_id()
    parts.coc_peer.add_task(task_id, "someone else's", PROD_DOMAIN, enabled=True)
    parts.coc_peer.faults.append(Fault.throttle(retry_after=0))
    await parts.service.enable(parts.request(task_id))

    (record,) = await parts.store.query(task_id=task_id)
    assert record.outcome is Outcome.FAILED and record.error_code == "COC.00014110"
    assert "already enabled" in parts.slack_peer.messages(CHANNEL)[0]["text"]


async def test_already_enabled_after_our_own_5xx_try_is_success_with_a_note(parts: Parts):
    task_id = new_task_id()
    parts.coc_peer.add_task(task_id, "ours", PROD_DOMAIN, enabled=True)
    parts.coc_peer.faults.append(Fault.status(502))
    await parts.service.enable(parts.request(task_id))

    (record,) = await parts.store.query(task_id=task_id)
    assert record.outcome is Outcome.ENABLED and record.note
    assert parts.slack_peer.messages(CHANNEL)[0]["text"].startswith(":white_check_mark:")


async def test_unreachable_slack_does_not_break_the_enable_or_its_record(parts: Parts):
    task_id = new_task_id()
    parts.coc_peer.add_task(task_id, "t", PROD_DOMAIN)
    nowhere = Delivery(AsyncWebClient(token=BOT_TOKEN, base_url="http://127.0.0.1:9/api/"))
    enabling = EnablingParts(
        parts.store, parts.coc, parts.credentials, lambda: parts.identity_map, nowhere, timedelta(seconds=5)
    )
    service = EnableService(enabling, in_flight_wait=1)
    await service.enable(parts.request(task_id))

    (record,) = await parts.store.query(task_id=task_id)
    assert record.outcome is Outcome.ENABLED
