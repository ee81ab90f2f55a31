"""The core path over real HTTP: slash command, modal, submission, one signed COC call, outcome."""

from __future__ import annotations

import json
import time
from urllib.parse import urlencode

from tests.integration.stack import (
    CHANNEL,
    OPERATOR,
    PROD_AK,
    PROD_DOMAIN,
    SIGNING_SECRET,
    UNMAPPED,
    Stack,
    new_task_id,
    ticket_values,
)
from tests.peers.coc import Fault
from tests.slack_driver import values_for


def inputs(view):
    return {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}


def test_command_with_task_id_opens_prefilled_modal_that_carries_channel_and_response_url(stack: Stack):
    task_id = new_task_id()
    view = stack.driver.open_modal(task_id)

    assert inputs(view)["task"]["element"]["initial_value"] == task_id
    assert [b["label"]["text"] for b in inputs(view).values()] == [
        "Task ID",
        "Ticket type",
        "Ticket ID",
        "Application ID",
        "Region ID",
    ]
    metadata = json.loads(view["private_metadata"])
    assert metadata["c"] == CHANNEL
    assert metadata["r"] == stack.driver.last_response_url


def test_bare_command_opens_an_empty_modal(stack: Stack):
    view = stack.driver.open_modal("")
    assert "initial_value" not in inputs(view)["task"]["element"]


def test_help_answers_ephemerally_without_links(stack: Stack):
    answer = stack.driver.slash_command("help")

    assert answer.status_code == 200
    body = answer.json()
    assert body.get("response_type", "ephemeral") == "ephemeral"
    assert "/enable-schedule" in body["text"]
    assert "http" not in body["text"] and "<" not in body["text"]
    assert not stack.slack.calls("views.open") or all(
        c.params.get("trigger_id") != stack.driver.last_trigger_id for c in stack.slack.calls("views.open")
    )


def test_submission_enables_once_under_the_users_identity_with_the_tickets_as_entered(stack: Stack):
    task_id = stack.add_task()
    tickets = [
        {"ticket_type": "CHANGE", "ticket_id": "CH-2031", "target_id": "app-payments", "scope_id": "cn-north-4"},
    ]
    _, answer = stack.submit(task_id, tickets=tickets)

    assert answer.status_code == 200 and answer.text == ""
    message = stack.outcome(task_id).params["text"]
    calls = stack.enable_calls(task_id)
    assert len(calls) == 1
    call = calls[0]
    assert call.status == 200
    assert call.access_key == PROD_AK
    assert call.headers["x-domain-id"] == PROD_DOMAIN
    assert call.body == {
        "ticket_infos": [
            {"ticket_id": "CH-2031", "ticket_type": "CHANGE", "target_id": "app-payments", "scope_id": "cn-north-4"},
        ]
    }
    assert stack.coc.task(task_id).enabled
    assert task_id in message and f"<@{OPERATOR}>" in message and "ops-prod" in message and "CH-2031" in message


def test_two_tickets_added_with_the_button_both_reach_coc(stack: Stack):
    task_id = stack.add_task()
    view = stack.driver.open_modal(task_id)
    first = {"ticket_type_0": "CHANGE", "ticket_id_0": "CH-1"}
    stack.driver.click(view, "add_ticket", "ticket_actions", values=values_for(view, first))
    update = stack.slack.wait_for("views.update", where=lambda c: c.params.get("view_id") == view["id"])[-1]
    grown = update.response["view"]

    assert {"ticket_id_0", "ticket_id_1"} <= set(inputs(grown))
    assert inputs(grown)["ticket_id_0"]["element"]["initial_value"] == "CH-1"
    values = ticket_values(
        grown, [{"ticket_type": "CHANGE", "ticket_id": "CH-1"}, {"ticket_type": "WARROOM", "ticket_id": "WR-7"}]
    )
    assert stack.driver.submit_view(grown, values).status_code == 200
    stack.outcome(task_id)
    body = stack.enable_calls(task_id)[0].body
    assert [t["ticket_id"] for t in body["ticket_infos"]] == ["CH-1", "WR-7"]


def test_unmapped_user_is_refused_at_once_and_nothing_reaches_coc(stack: Stack):
    task_id = stack.add_task()
    opened_before = len(stack.slack.calls("views.open"))
    answer = stack.driver.slash_command(task_id, user_id=UNMAPPED)

    assert answer.status_code == 200
    text = answer.json()["text"]
    assert "not mapped" in text and UNMAPPED in text and "admin" in text
    assert len(stack.slack.calls("views.open")) == opened_before
    assert stack.enable_calls(task_id) == []


def test_invalid_task_id_is_refused_inline_and_never_reaches_coc(stack: Stack):
    before = len(stack.coc.calls)
    view = stack.driver.open_modal("")
    for bad in ["ST123", "XX" + "a" * 24, "ST" + "a" * 21 + "../", "ST" + "a" * 21 + "%2F", "ST" + "а" * 24]:
        answer = stack.driver.submit_view(view, values_for(view, {"task": bad}))
        assert answer.status_code == 200
        body = answer.json()
        assert body["response_action"] == "errors" and "task" in body["errors"], bad
    assert len(stack.coc.calls) == before


def test_partly_filled_ticket_is_refused_inline(stack: Stack):
    task_id = stack.add_task()
    view = stack.driver.open_modal(task_id)
    answer = stack.driver.submit_view(view, values_for(view, {"target_id_0": "app-1"}))

    assert set(answer.json()["errors"]) == {"ticket_type_0", "ticket_id_0"}
    assert stack.enable_calls(task_id) == []


def test_forged_or_stale_requests_get_401_and_change_nothing(stack: Stack):
    task_id = stack.add_task()
    body = urlencode(
        {
            "command": "/enable-schedule",
            "text": task_id,
            "user_id": OPERATOR,
            "channel_id": CHANNEL,
            "team_id": "T0TEAM001",
            "trigger_id": "x",
        }
    ).encode()
    calls_before = len(stack.slack.calls())
    forged = stack.driver.sign(body, secret="not-the-secret")
    stale = stack.driver.sign(body, timestamp=int(time.time()) - 600)
    for headers in (forged, stale, {}):
        assert stack.driver.send_raw(body, headers).status_code == 401
    assert len(stack.slack.calls()) == calls_before
    assert stack.enable_calls(task_id) == []
    assert SIGNING_SECRET not in stack.bot.logs()


def test_coc_error_text_with_pings_and_links_is_posted_escaped(stack: Stack):
    task_id = stack.add_task()
    stack.coc.faults.append(Fault.error(400, "COC.00014102", "gone <!channel> <@U0BOSS> <https://evil.example|docs>"))
    stack.submit(task_id)

    text = stack.outcome(task_id).params["text"]
    assert "COC.00014102" in text
    assert "&lt;!channel&gt;" in text and "&lt;@U0BOSS&gt;" in text and "&lt;https://evil.example|docs&gt;" in text
    assert "<!channel>" not in text and "<https://evil" not in text and "<@U0BOSS>" not in text
    assert "no scheduled task with this ID" in text


def test_known_codes_get_a_plain_hint(stack: Stack):
    already = stack.add_task(enabled=True)
    stack.submit(already)
    assert "already enabled" in stack.outcome(already).params["text"]

    foreign = stack.add_task(domain_id="99999999999999999999999999999999")
    stack.submit(foreign)
    text = stack.outcome(foreign).params["text"]
    assert "COC.00014121" in text and "another Huawei Cloud account" in text


def test_slow_coc_does_not_delay_the_acknowledgement(stack: Stack):
    task_id = stack.add_task()
    stack.coc.delay = 4.0
    _, answer = stack.submit(task_id)
    acked_at = time.time()

    assert answer.status_code == 200
    posted = stack.outcome(task_id, timeout=20)
    assert posted.at > acked_at
    assert posted.at - stack.enable_calls(task_id)[0].at.timestamp() >= 3.5


def test_unreachable_coc_says_whether_the_task_may_have_been_enabled(stack: Stack):
    task_id = stack.add_task()
    stack.coc.faults.extend([Fault.drop()] * 3)  # the first try and both retries
    stack.submit(task_id)

    text = stack.outcome(task_id).params["text"]
    assert "may have been enabled anyway" in text


def test_non_json_5xx_is_reported_plainly(stack: Stack):
    task_id = stack.add_task()
    stack.coc.faults.extend([Fault.non_json(500)])
    stack.submit(task_id)

    text = stack.outcome(task_id).params["text"]
    assert "HTTP 500" in text and "may have been enabled anyway" in text


def test_not_in_channel_reaches_the_user_through_the_response_url(stack: Stack):
    channel = "C0NOTJOIND"
    stack.slack.channel_errors[channel] = "not_in_channel"
    task_id = stack.add_task()
    stack.submit(task_id, channel_id=channel)

    response_url = stack.driver.last_response_url
    stack.slack.wait_for("response_url", where=lambda call: task_id in str(call.params.get("text")))
    texts = [post["text"] for post in stack.slack.response_posts(response_url)]
    assert len(texts) == 1 and "enabled scheduled task" in texts[0]
    assert stack.coc.task(task_id).enabled
