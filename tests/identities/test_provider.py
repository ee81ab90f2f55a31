from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot.errors import CredentialsError
from bot.identities.loader import load_identity_map
from bot.identities.model import AgencyIdentity, IdentityMap
from bot.identities.provider import CredentialProvider
from tests.identities.conftest import AGENCY_EXAMPLE, BASE_DOMAIN, ENVIRON, SANDBOX_DOMAIN, WriteMap
from tests.peers.iam import IamPeer
from tests.peers.keyring import Key, Keyring
from tests.peers.server import free_port

USER = "U012ABCDEF"
MARGIN = timedelta(minutes=5)


class Clock:
    """The provider's notion of now; the peer and the signer keep real time."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Setup:
    peer: IamPeer
    keyring: Keyring
    identity_map: IdentityMap
    agency: AgencyIdentity
    provider: CredentialProvider
    clock: Clock
    http: httpx.AsyncClient


@pytest.fixture
async def setup(write_map: WriteMap) -> AsyncIterator[Setup]:
    keyring = Keyring()
    keyring.add(Key(ENVIRON["OPS_BASE_AK"], ENVIRON["OPS_BASE_SK"], BASE_DOMAIN))
    peer = IamPeer(keyring)
    peer.add_agency("coc-operator", SANDBOX_DOMAIN, domain_name="ops-sandbox", trusted=BASE_DOMAIN)
    identity_map = load_identity_map(write_map(AGENCY_EXAMPLE), ENVIRON)
    agency = identity_map.identities["ops-sandbox"]
    assert isinstance(agency, AgencyIdentity)
    clock = Clock()
    with peer.serve():
        assert peer.url is not None
        async with httpx.AsyncClient(timeout=5.0) as http:
            provider = CredentialProvider(http, peer.url, renew_margin=MARGIN, clock=clock, retries=2)
            yield Setup(peer, keyring, identity_map, agency, provider, clock, http)


async def test_agency_yields_the_temporary_key_and_token_iam_issued(setup: Setup) -> None:
    credentials = await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)

    [issued] = setup.peer.issued()
    assert credentials.access_key == issued.access_key
    assert credentials.secret_key.get_secret_value() == issued.secret_key
    assert credentials.security_token is not None
    assert credentials.security_token.get_secret_value() == issued.security_token
    assert credentials.expires_at == issued.expires_at
    assert credentials.access_key != ENVIRON["OPS_BASE_AK"]


async def test_iam_is_asked_with_the_source_keys_account_and_session_user(setup: Setup) -> None:
    await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)

    [call] = setup.peer.calls()
    assert call.status == 201
    assert call.access_key == ENVIRON["OPS_BASE_AK"]
    assert call.headers["x-domain-id"] == BASE_DOMAIN
    assume_role = call.body["auth"]["identity"]["assume_role"]
    assert assume_role["agency_name"] == "coc-operator"
    assert assume_role["domain_name"] == "ops-sandbox"
    assert assume_role["duration_seconds"] == 3600
    assert assume_role["session_user"] == {"name": f"slack-{USER}"}


async def test_issued_key_acts_in_the_agency_account_for_the_session_user(setup: Setup) -> None:
    credentials = await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)

    key = setup.keyring.get(credentials.access_key)
    assert key is not None
    assert key.domain_id == SANDBOX_DOMAIN
    assert key.session_user == f"slack-{USER}"


async def test_second_call_within_lifetime_makes_no_iam_call(setup: Setup) -> None:
    first = await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)
    assert first.expires_at is not None
    setup.clock.now = first.expires_at - MARGIN - timedelta(seconds=1)

    second = await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)

    assert second is first
    assert len(setup.peer.calls()) == 1


async def test_call_after_the_renew_margin_renews(setup: Setup) -> None:
    first = await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)
    assert first.expires_at is not None
    setup.clock.now = first.expires_at - MARGIN + timedelta(seconds=1)

    second = await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)

    assert len(setup.peer.calls()) == 2
    assert second.access_key != first.access_key
    assert second.access_key == setup.peer.issued()[-1].access_key


async def test_credentials_shorter_lived_than_the_margin_are_renewed_each_time(setup: Setup) -> None:
    setup.peer.lifetime_override = timedelta(minutes=1)

    await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)
    await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)

    assert len(setup.peer.calls()) == 2


async def test_twenty_concurrent_first_calls_make_one_iam_call(setup: Setup) -> None:
    setup.peer.delay = 0.2

    results = await asyncio.gather(
        *(setup.provider.credentials_for(setup.agency, setup.identity_map, USER) for _ in range(20))
    )

    assert len(setup.peer.calls()) == 1
    assert {credentials.access_key for credentials in results} == {setup.peer.issued()[0].access_key}


async def test_concurrent_first_calls_share_one_refusal(setup: Setup) -> None:
    setup.peer.refuse(times=None)

    results = await asyncio.gather(
        *(setup.provider.credentials_for(setup.agency, setup.identity_map, USER) for _ in range(5)),
        return_exceptions=True,
    )

    assert len(setup.peer.calls()) == 1
    assert all(isinstance(result, CredentialsError) for result in results)


async def test_each_slack_user_gets_their_own_credentials(setup: Setup) -> None:
    first = await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)
    other = await setup.provider.credentials_for(setup.agency, setup.identity_map, "U0OTHER001")

    assert first.access_key != other.access_key
    sessions = [call.body["auth"]["identity"]["assume_role"]["session_user"]["name"] for call in setup.peer.calls()]
    assert sessions == [f"slack-{USER}", "slack-U0OTHER001"]


async def test_refusal_raises_credentials_error_with_iams_code_and_message(setup: Setup) -> None:
    setup.peer.refuse("IAM.0003", "Policy doesn't allow iam:tokens:assume to be performed.")

    with pytest.raises(CredentialsError) as caught:
        await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)

    assert caught.value.identity == "ops-sandbox"
    assert caught.value.code == "IAM.0003"
    assert "Policy doesn't allow iam:tokens:assume to be performed." in caught.value.reason
    assert "403" in caught.value.reason
    assert ENVIRON["OPS_BASE_SK"] not in str(caught.value)


async def test_a_failed_call_is_not_cached(setup: Setup) -> None:
    setup.peer.refuse(times=1)
    with pytest.raises(CredentialsError):
        await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)

    credentials = await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)

    assert len(setup.peer.calls()) == 2
    assert credentials.access_key == setup.peer.issued()[0].access_key


async def test_invalidate_makes_the_next_call_renew(setup: Setup) -> None:
    first = await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)

    setup.provider.invalidate("ops-sandbox", USER)
    second = await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)

    assert len(setup.peer.calls()) == 2
    assert second.access_key != first.access_key


async def test_invalidate_leaves_other_users_cached(setup: Setup) -> None:
    await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)
    await setup.provider.credentials_for(setup.agency, setup.identity_map, "U0OTHER001")

    setup.provider.invalidate("ops-sandbox", "U0OTHER001")
    await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)

    assert len(setup.peer.calls()) == 2


async def test_a_changed_agency_in_a_reloaded_map_renews(setup: Setup) -> None:
    await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)
    changed = dataclasses.replace(setup.agency, duration_seconds=7200)

    await setup.provider.credentials_for(changed, setup.identity_map, USER)

    assert len(setup.peer.calls()) == 2
    assert setup.peer.calls()[-1].body["auth"]["identity"]["assume_role"]["duration_seconds"] == 7200


async def test_key_identity_yields_its_own_keys_without_iam(setup: Setup) -> None:
    source = setup.identity_map.source_of(setup.agency)

    credentials = await setup.provider.credentials_for(source, setup.identity_map, USER)

    assert credentials.access_key == ENVIRON["OPS_BASE_AK"]
    assert credentials.secret_key.get_secret_value() == ENVIRON["OPS_BASE_SK"]
    assert credentials.security_token is None
    assert setup.peer.calls() == []


async def test_untrusted_source_is_refused(setup: Setup) -> None:
    setup.peer.trusted[(SANDBOX_DOMAIN, "coc-operator")] = {"ffffffffffffffffffffffffffffffff"}

    with pytest.raises(CredentialsError) as caught:
        await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)

    assert caught.value.code == "403"
    assert "not authorized" in caught.value.reason


async def test_unknown_source_key_is_refused_by_the_gateway(setup: Setup) -> None:
    setup.keyring.revoke(ENVIRON["OPS_BASE_AK"])

    with pytest.raises(CredentialsError) as caught:
        await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)

    assert caught.value.code == "APIGW.0301"
    assert "HTTP 401" in caught.value.reason


async def test_unavailable_iam_is_retried(setup: Setup) -> None:
    setup.peer.fail(503, times=1)

    credentials = await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)

    assert [call.status for call in setup.peer.calls()] == [503, 201]
    assert credentials.access_key == setup.peer.issued()[0].access_key


async def test_internal_error_raises_credentials_error(setup: Setup) -> None:
    setup.peer.fail(500, times=1)

    with pytest.raises(CredentialsError) as caught:
        await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)

    assert "IAM failed with HTTP 500" in caught.value.reason


async def test_non_json_answer_raises_credentials_error(setup: Setup) -> None:
    setup.peer.answer_non_json(201)

    with pytest.raises(CredentialsError) as caught:
        await setup.provider.credentials_for(setup.agency, setup.identity_map, USER)

    assert "not JSON" in caught.value.reason
    assert "text/html" in caught.value.reason


async def test_iam_timeout_raises_credentials_error(setup: Setup) -> None:
    setup.peer.delay = 1.0
    assert setup.peer.url is not None
    async with httpx.AsyncClient(timeout=0.2) as impatient:
        provider = CredentialProvider(impatient, setup.peer.url, renew_margin=MARGIN, retries=2)

        with pytest.raises(CredentialsError) as caught:
            await provider.credentials_for(setup.agency, setup.identity_map, USER)

    assert "did not answer in time" in caught.value.reason
    assert caught.value.code is None


async def test_unreachable_iam_raises_credentials_error(setup: Setup) -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    provider = CredentialProvider(setup.http, endpoint, renew_margin=MARGIN, retries=0)

    with pytest.raises(CredentialsError) as caught:
        await provider.credentials_for(setup.agency, setup.identity_map, USER)

    assert "could not be reached" in caught.value.reason
    assert endpoint in caught.value.reason
