"""A COC peer on loopback with one account's key, and the bot's COC client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from pydantic import SecretStr

from bot.coc.client import CocClient
from bot.identities.credentials import Credentials
from tests.peers.coc import CocPeer
from tests.peers.keyring import Key, Keyring
from tests.peers.server import serve

DOMAIN = "0123456789abcdef0123456789abcdef"
OTHER_DOMAIN = "fedcba9876543210fedcba9876543210"
ACCESS_KEY = "HPUAOPSPROD000000001"
SECRET_KEY = "ops-prod-secret-key-value-0001"
TASK_ID = "ST2024010100000000000000a1"
OTHER_TASK_ID = "ST2024010100000000000000b2"
TIMEOUT = 1.0


@pytest.fixture
def keyring() -> Keyring:
    keyring = Keyring()
    keyring.add(Key(ACCESS_KEY, SECRET_KEY, DOMAIN))
    return keyring


@pytest.fixture
def credentials() -> Credentials:
    return Credentials(ACCESS_KEY, SecretStr(SECRET_KEY))


@pytest.fixture
def peer(keyring: Keyring) -> CocPeer:
    peer = CocPeer(keyring)
    peer.add_task(TASK_ID, "nightly-cleanup", DOMAIN)
    peer.add_task(OTHER_TASK_ID, "their-task", OTHER_DOMAIN)
    return peer


@pytest.fixture
def coc_url(peer: CocPeer) -> Iterator[str]:
    with serve(peer) as url:
        yield url


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(TIMEOUT)) as client:
        yield client


@pytest.fixture
def coc(http: httpx.AsyncClient, coc_url: str) -> CocClient:
    return CocClient(http, coc_url, retries=2)
