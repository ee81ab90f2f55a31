"""The Slack peer and the driver on their own, spoken to by slack_sdk's own client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.peers.server import serve
from tests.peers.slack import SlackPeer
from tests.slack_driver import SlackDriver, values_for

TOKEN = "xoxb-test-token"
SECRET = "signing-secret-for-tests"
MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "enable_schedule",
    "title": {"type": "plain_text", "text": "Enable schedule"},
    "submit": {"type": "plain_text", "text": "Enable"},
    "blocks": [
        {
            "type": "input",
            "block_id": "task",
            "label": {"type": "plain_text", "text": "Task ID"},
            "element": {"type": "plain_text_input", "action_id": "task_id"},
        },
        {
            "type": "input",
            "block_id": "ticket_0",
            "label": {"type": "plain_text", "text": "Ticket"},
            "element": {"type": "plain_text_input", "action_id": "ticket_id"},
        },
        {
            "type": "input",
            "block_id": "ticket_1",
            "label": {"type": "plain_text", "text": "Ticket"},
            "element": {"type": "plain_text_input", "action_id": "ticket_id"},
        },
        {
            "type": "input",
            "block_id": "kind",
            "label": {"type": "plain_text", "text": "Ticket type"},
            "element": {
                "type": "static_select",
                "action_id": "ticket_type",
                "options": [
                    {"text": {"type": "plain_text", "text": "Change"}, "value": "CHANGE"},
                    {"text": {"type": "plain_text", "text": "Incident"}, "value": "INCIDENT"},
                ],
            },
        },
    ],
}


@pytest.fixture(scope="module")
def served_peer() -> Iterator[SlackPeer]:
    with SlackPeer(TOKEN).serve() as peer:
        yield peer


@pytest.fixture
def peer(served_peer: SlackPeer) -> SlackPeer:
    served_peer.reset()
    return served_peer


@pytest.fixture
def client(peer: SlackPeer) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=peer.api_url)


def with_title(text: str) -> dict[str, object]:
    return {**MODAL, "title": {"type": "plain_text", "text": text}}


async def test_trigger_opens_one_view_then_is_exchanged(peer: SlackPeer, client: AsyncWebClient) -> None:
    trigger_id = peer.issue_trigger()

    opened = await client.views_open(trigger_id=trigger_id, view=MODAL)
    with pytest.raises(SlackApiError) as reused:
        await client.views_open(trigger_id=trigger_id, view=MODAL)

    view = opened["view"]
    assert view["id"].startswith("V") and view["hash"]
    assert view["state"] == {"values": {}}
    assert peer.view(view["id"])["callback_id"] == "enable_schedule"
    assert reused.value.response["error"] == "exchanged_trigger_id"


async def test_expired_or_unknown_trigger_is_refused(peer: SlackPeer, client: AsyncWebClient) -> None:
    for trigger_id in (peer.issue_trigger(ttl=0), "12345.67890.notissued"):
        with pytest.raises(SlackApiError) as refused:
            await client.views_open(trigger_id=trigger_id, view=MODAL)
        assert refused.value.response["error"] == "expired_trigger_id"


@pytest.mark.parametrize(
    ("view", "pointer"),
    [
        (with_title("Enable the scheduled task"), "/view/title/text"),
        ({**MODAL, "private_metadata": "x" * 3001}, "/view/private_metadata"),
        ({**MODAL, "blocks": [MODAL["blocks"][0]] * 2}, "/view/blocks/1/block_id"),
        ({**MODAL, "blocks": [{"type": "input", "element": {"type": "plain_text_input"}}]}, "/view/blocks/0"),
        ({**MODAL, "blocks": [{"type": "divider"}] * 101}, "/view/blocks"),
    ],
)
async def test_view_slack_would_refuse_is_invalid_arguments(
    peer: SlackPeer, client: AsyncWebClient, view: dict[str, object], pointer: str
) -> None:
    with pytest.raises(SlackApiError) as refused:
        await client.views_open(trigger_id=peer.issue_trigger(), view=view)

    assert refused.value.response["error"] == "invalid_arguments"
    messages = refused.value.response["response_metadata"]["messages"]
    assert any(message.endswith(f"[json-pointer:{pointer}]") for message in messages), messages


async def test_update_with_stale_hash_is_hash_conflict(peer: SlackPeer, client: AsyncWebClient) -> None:
    opened = (await client.views_open(trigger_id=peer.issue_trigger(), view=MODAL))["view"]
    updated = await client.views_update(view_id=opened["id"], hash=opened["hash"], view=with_title("Done"))

    with pytest.raises(SlackApiError) as stale:
        await client.views_update(view_id=opened["id"], hash=opened["hash"], view=MODAL)

    assert updated["view"]["id"] == opened["id"] and updated["view"]["hash"] != opened["hash"]
    assert stale.value.response["error"] == "hash_conflict"


async def test_channel_error_set_by_test_is_answered(peer: SlackPeer, client: AsyncWebClient) -> None:
    peer.channel_errors["C0CLOSED"] = "not_in_channel"

    with pytest.raises(SlackApiError) as refused:
        await client.chat_postMessage(channel="C0CLOSED", text="Task enabled")
    posted = await client.chat_postMessage(channel="C0OPEN", text="Task enabled", blocks=[{"type": "divider"}])

    assert refused.value.response["error"] == "not_in_channel"
    assert peer.messages("C0CLOSED") == []
    assert peer.messages("C0OPEN")[0]["ts"] == posted["ts"]
    assert peer.calls("chat.postMessage")[-1].params["blocks"] == [{"type": "divider"}]


def test_rate_limit_answers_429_with_retry_after_then_recovers(peer: SlackPeer) -> None:
    peer.rate_limit("chat.postMessage", times=2, retry_after=7)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    url = peer.api_url + "chat.postMessage"

    answers = [httpx.post(url, headers=headers, data={"channel": "C1", "text": "hi"}) for _ in range(3)]

    assert [answer.status_code for answer in answers] == [429, 429, 200]
    assert answers[0].headers["Retry-After"] == "7"
    assert answers[0].json() == {"ok": False, "error": "ratelimited"}
    assert answers[2].json()["ok"] is True


def test_wrong_or_missing_token_is_refused(peer: SlackPeer) -> None:
    url = peer.api_url + "auth.test"

    wrong = httpx.post(url, headers={"Authorization": "Bearer xoxb-other"})
    missing = httpx.post(url)

    assert wrong.json()["error"] == "invalid_auth"
    assert missing.json()["error"] == "not_authed"


async def test_users_info_reads_the_directory(peer: SlackPeer, client: AsyncWebClient) -> None:
    peer.users["U0ALICE"] = {"name": "alice", "real_name": "Alice Ops", "email": "alice@example.com"}

    found = await client.users_info(user="U0ALICE")
    with pytest.raises(SlackApiError) as missing:
        await client.users_info(user="U0NOBODY")

    assert found["user"]["profile"]["email"] == "alice@example.com"
    assert missing.value.response["error"] == "user_not_found"


def test_response_url_takes_five_posts_then_used_url(peer: SlackPeer) -> None:
    url = peer.response_url()

    answers = [httpx.post(url, json={"text": f"update {n}"}) for n in range(6)]

    assert [answer.status_code for answer in answers] == [200] * 5 + [404]
    assert answers[5].json()["error"] == "used_url"
    assert [post["text"] for post in peer.response_posts(url)] == [f"update {n}" for n in range(5)]


def test_values_for_sends_untouched_inputs_as_null() -> None:
    view = {**MODAL, "id": "V0TEST"}

    values = values_for(view, {"task": "ST" + "a" * 24}, ticket_id=["CHG-1"])

    assert values["task"]["task_id"] == {"type": "plain_text_input", "value": "ST" + "a" * 24}
    assert values["ticket_0"]["ticket_id"]["value"] == "CHG-1"
    assert values["ticket_1"]["ticket_id"]["value"] is None
    assert values["kind"]["ticket_type"] == {"type": "static_select", "selected_option": None}
    with pytest.raises(ValueError, match="no option"):
        values_for(view, ticket_type="PROBLEM")


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[Request | bytes]]]:
    """A stand-in for the bot that keeps each request's headers and raw body."""
    received: list[Request | bytes] = []

    async def keep(request: Request) -> Response:
        received.extend([request, await request.body()])
        return Response(status_code=200)

    with serve(Starlette(routes=[Route("/slack/events", keep, methods=["POST"])])) as url:
        yield url, received


def test_driver_requests_verify_with_slack_sdk(peer: SlackPeer, receiver: tuple[str, list[Request | bytes]]) -> None:
    url, received = receiver
    with SlackDriver(url, SECRET, peer) as driver:
        driver.slash_command("ST123")

    request, body = received[0], received[1]
    assert isinstance(request, Request) and isinstance(body, bytes)
    headers = dict(request.headers)

    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("another-secret").is_valid_request(body, headers)
    fields = parse_qs(body.decode())
    assert fields["trigger_id"] == [driver.last_trigger_id]
    assert fields["response_url"] == [driver.last_response_url]


async def test_submission_carries_the_view_the_peer_holds(
    peer: SlackPeer, client: AsyncWebClient, receiver: tuple[str, list[Request | bytes]]
) -> None:
    url, received = receiver
    view = (await client.views_open(trigger_id=peer.issue_trigger(), view=MODAL))["view"]

    with SlackDriver(url, SECRET, peer) as driver:
        driver.submit_view(view, values_for(view, task_id="ST" + "b" * 24))

    body = received[1]
    assert isinstance(body, bytes)
    payload = json.loads(parse_qs(body.decode())["payload"][0])
    assert payload["type"] == "view_submission"
    assert (payload["view"]["id"], payload["view"]["hash"]) == (view["id"], view["hash"])
    assert payload["view"]["state"]["values"]["ticket_1"]["ticket_id"] == {"type": "plain_text_input", "value": None}
