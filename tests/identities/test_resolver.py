from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import SlackApiError
from bot.identities.loader import load_identity_map
from bot.identities.model import IdentityMap
from bot.identities.resolver import (
    IdentityResolver,
    RefusalReason,
    Refused,
    Resolved,
    slack_email_lookup,
)
from tests.identities.conftest import BASE_DOMAIN, ENVIRON, WriteMap
from tests.peers.slack import SlackPeer

BOT_TOKEN = "xoxb-test-identities"

MAP = f"""\
[identities.ops-prod]
domain_id = "{BASE_DOMAIN}"
access_key_env = "OPS_PROD_AK"
secret_key_env = "OPS_PROD_SK"
channels = ["C0PROD0002", "C0PROD0001"]

[identities.ops-base]
domain_id = "{BASE_DOMAIN}"
access_key_env = "OPS_BASE_AK"
secret_key_env = "OPS_BASE_SK"

[users]
U0BYID0001 = "ops-base"
"Both@Example.com" = "ops-prod"
"mail@example.com" = "ops-base"
"prod@example.com" = "ops-prod"
"""


class Directory:
    """A stand-in for Slack's directory: answers from a dict and counts the asks."""

    def __init__(self, emails: dict[str, str | None]) -> None:
        self.emails = emails
        self.asked: list[str] = []
        self.failing = False

    async def __call__(self, user_id: str) -> str | None:
        self.asked.append(user_id)
        if self.failing:
            raise SlackApiError("users.info", "ratelimited")
        return self.emails.get(user_id)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def identity_map(write_map: WriteMap) -> IdentityMap:
    return load_identity_map(write_map(MAP), ENVIRON)


def _resolver(identity_map: IdentityMap, directory: Directory, clock: Clock | None = None) -> IdentityResolver:
    return IdentityResolver(lambda: identity_map, directory, email_ttl=timedelta(minutes=10), clock=clock)


async def test_user_mapped_by_email_resolves_to_its_identity(identity_map: IdentityMap) -> None:
    directory = Directory({"U0MAIL0001": "Mail@Example.com"})

    resolution = await _resolver(identity_map, directory).resolve("U0MAIL0001", "C0ANY00001")

    assert resolution == Resolved(identity_map.identities["ops-base"])
    assert directory.asked == ["U0MAIL0001"]


async def test_user_id_entry_beats_email_entry_without_asking_slack(identity_map: IdentityMap) -> None:
    directory = Directory({"U0BYID0001": "both@example.com"})

    resolution = await _resolver(identity_map, directory).resolve("U0BYID0001", "C0ANY00001")

    assert resolution == Resolved(identity_map.identities["ops-base"])
    assert directory.asked == []


async def test_email_is_not_looked_up_when_the_map_has_no_email_entries(write_map: WriteMap) -> None:
    only_ids = MAP.split('"Both@Example.com"', maxsplit=1)[0]
    identity_map = load_identity_map(write_map(only_ids), ENVIRON)
    directory = Directory({"U0OTHER001": "mail@example.com"})

    resolution = await _resolver(identity_map, directory).resolve("U0OTHER001", "C0ANY00001")

    assert resolution == Refused(RefusalReason.UNMAPPED)
    assert directory.asked == []


async def test_unknown_user_is_refused_as_unmapped(identity_map: IdentityMap) -> None:
    directory = Directory({"U0STRANGER": "stranger@example.com"})

    resolution = await _resolver(identity_map, directory).resolve("U0STRANGER", "C0ANY00001")

    assert resolution == Refused(RefusalReason.UNMAPPED)


async def test_channel_outside_guardrail_is_refused_with_allowed_channels(identity_map: IdentityMap) -> None:
    directory = Directory({"U0PROD0001": "prod@example.com"})
    resolver = _resolver(identity_map, directory)

    refused = await resolver.resolve("U0PROD0001", "C0SANDBOX1")
    allowed = await resolver.resolve("U0PROD0001", "C0PROD0001")

    assert refused == Refused(
        RefusalReason.CHANNEL_NOT_ALLOWED,
        allowed_channels=("C0PROD0001", "C0PROD0002"),
        identity="ops-prod",
    )
    assert allowed == Resolved(identity_map.identities["ops-prod"])


async def test_email_is_cached_for_the_ttl_then_asked_again(identity_map: IdentityMap) -> None:
    directory = Directory({"U0MAIL0001": "mail@example.com"})
    clock = Clock()
    resolver = _resolver(identity_map, directory, clock)

    await resolver.resolve("U0MAIL0001", "C0ANY00001")
    clock.now += timedelta(minutes=9)
    await resolver.resolve("U0MAIL0001", "C0ANY00001")
    assert directory.asked == ["U0MAIL0001"]

    directory.emails["U0MAIL0001"] = "prod@example.com"
    clock.now += timedelta(minutes=2)
    resolution = await resolver.resolve("U0MAIL0001", "C0PROD0001")

    assert directory.asked == ["U0MAIL0001", "U0MAIL0001"]
    assert resolution == Resolved(identity_map.identities["ops-prod"])


async def test_failing_lookup_asks_to_try_again_and_is_not_cached(identity_map: IdentityMap) -> None:
    directory = Directory({"U0MAIL0001": "mail@example.com"})
    directory.failing = True
    resolver = _resolver(identity_map, directory)

    first = await resolver.resolve("U0MAIL0001", "C0ANY00001")
    directory.failing = False
    second = await resolver.resolve("U0MAIL0001", "C0ANY00001")

    assert first == Refused(RefusalReason.LOOKUP_FAILED)
    assert second == Resolved(identity_map.identities["ops-base"])


async def test_missing_email_is_unmapped_and_not_cached(identity_map: IdentityMap) -> None:
    directory = Directory({"U0MAIL0001": None})
    resolver = _resolver(identity_map, directory)

    first = await resolver.resolve("U0MAIL0001", "C0ANY00001")
    directory.emails["U0MAIL0001"] = "mail@example.com"
    second = await resolver.resolve("U0MAIL0001", "C0ANY00001")

    assert first == Refused(RefusalReason.UNMAPPED)
    assert second == Resolved(identity_map.identities["ops-base"])


async def test_resolution_follows_the_map_in_force(identity_map: IdentityMap, write_map: WriteMap) -> None:
    maps = [identity_map]
    resolver = IdentityResolver(lambda: maps[-1], Directory({}), email_ttl=timedelta(minutes=10))
    before = await resolver.resolve("U0BYID0001", "C0ANY00001")

    maps.append(load_identity_map(write_map(MAP.replace('U0BYID0001 = "ops-base"', "")), ENVIRON))
    after = await resolver.resolve("U0BYID0001", "C0ANY00001")

    assert isinstance(before, Resolved)
    assert after == Refused(RefusalReason.UNMAPPED)


@pytest.fixture
def slack() -> Iterator[SlackPeer]:
    peer = SlackPeer(BOT_TOKEN)
    with peer.serve():
        yield peer


async def test_slack_email_lookup_reads_the_profile_email(slack: SlackPeer) -> None:
    slack.users["U0MAIL0001"] = {"name": "mail", "email": "mail@example.com"}
    lookup = slack_email_lookup(AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url))

    assert await lookup("U0MAIL0001") == "mail@example.com"
    assert [call.params["user"] for call in slack.calls("users.info")] == ["U0MAIL0001"]


async def test_slack_email_lookup_gives_none_without_email(slack: SlackPeer) -> None:
    slack.users["U0NOMAIL01"] = {"name": "nomail"}
    lookup = slack_email_lookup(AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url))

    assert await lookup("U0NOMAIL01") is None


async def test_slack_email_lookup_raises_slack_api_error_with_slacks_error(slack: SlackPeer) -> None:
    lookup = slack_email_lookup(AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url))

    with pytest.raises(SlackApiError) as caught:
        await lookup("U0NOBODY01")

    assert caught.value.method == "users.info"
    assert caught.value.error == "user_not_found"


async def test_resolver_over_slack_maps_by_email(identity_map: IdentityMap, slack: SlackPeer) -> None:
    slack.users["U0MAIL0001"] = {"name": "mail", "email": "MAIL@example.com"}
    lookup = slack_email_lookup(AsyncWebClient(token=BOT_TOKEN, base_url=slack.api_url))
    resolver = IdentityResolver(lambda: identity_map, lookup, email_ttl=timedelta(minutes=10))

    mapped = await resolver.resolve("U0MAIL0001", "C0ANY00001")
    unknown = await resolver.resolve("U0NOBODY01", "C0ANY00001")

    assert mapped == Resolved(identity_map.identities["ops-base"])
    assert unknown == Refused(RefusalReason.UNMAPPED)
