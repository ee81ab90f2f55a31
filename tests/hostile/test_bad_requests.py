"""Forged, stale, malformed, oversize and truncated requests against the running bot.

Each case is one request (see :mod:`tests.hostile.bad_requests`). Whatever it is, the bot
answers it without a 5xx, makes no COC call, has Slack do nothing it was not asked to,
logs no traceback, and still answers ``/healthz``.
"""

from __future__ import annotations

import pytest

from bot import messages
from tests.hostile.bad_requests import (
    CASES,
    TASK_ID_COMMAND_CASES,
    Case,
)
from tests.hostile.forge import Answer, Forge, form
from tests.hostile.observe import (
    Snapshot,
    has_traceback,
    healthz,
    log_lines_since,
    log_since,
    snapshot,
    warnings_since,
)
from tests.integration.stack import Stack


def _settle(forge: Forge) -> str:
    """Wait until a later command's modal opened, so anything the case set off has happened.

    Listeners run on after the acknowledgement; a modal the bot opens for a command sent
    after the case shows that the case's own follow-up calls, if any, were made first.
    """
    trigger = forge.stack.slack.issue_trigger()
    fields = {**forge.command_fields(""), "trigger_id": trigger}
    answer = forge.send(form(fields))
    assert answer.status == 200, answer
    forge.stack.slack.wait_for("views.open", where=lambda call: call.params.get("trigger_id") == trigger)
    return trigger


def _slack_calls_since(stack: Stack, before: Snapshot, sentinel: str) -> list[str]:
    calls = stack.slack.calls()[before.slack_calls :]
    return [c.method for c in calls if not (c.method == "views.open" and c.params.get("trigger_id") == sentinel)]


def _assert_answer_fits(case: Case, answer: Answer) -> None:
    if case.expect in ("refused", "unroutable"):
        assert answer.status is not None and 400 <= answer.status < 500, answer
    elif case.expect == "dropped":
        assert answer.status is None or 400 <= answer.status < 500, answer
    elif case.expect == "inline":
        assert answer.status == 200, answer
        body = answer.json()
        assert body["response_action"] == "errors" and body["errors"], body
        assert all(isinstance(text, str) and text for text in body["errors"].values()), body
    else:
        assert answer.status == 200, answer
        body = answer.json()
        assert body.get("response_type", "ephemeral") == "ephemeral" and body["text"], body


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_request_is_answered_without_side_effects(stack: Stack, forge: Forge, case: Case):
    before = snapshot(stack)

    answer = case.send(forge)
    edge_lines = log_lines_since(stack, before)
    sentinel = _settle(forge)

    _assert_answer_fits(case, answer)
    assert len(stack.coc.calls) == before.coc_calls
    assert _slack_calls_since(stack, before, sentinel) == []
    assert not has_traceback(log_since(stack, before)), log_since(stack, before)
    if case.expect == "refused":
        assert len(edge_lines) == case.setup_lines + 1, edge_lines
    assert healthz(stack) == 200 and stack.bot.running


UNROUTABLE = [case for case in CASES if case.expect == "unroutable"]


@pytest.mark.parametrize("case", UNROUTABLE, ids=[case.id for case in UNROUTABLE])
def test_signed_request_for_no_listener_leaves_one_warning(stack: Stack, forge: Forge, case: Case):
    before = snapshot(stack)

    answer = case.send(forge)

    assert answer.status == 404
    assert len(warnings_since(stack, before)) == 1, log_lines_since(stack, before)


@pytest.mark.parametrize("case", TASK_ID_COMMAND_CASES, ids=[case.id for case in TASK_ID_COMMAND_CASES])
def test_bad_task_id_in_the_command_never_reaches_coc(stack: Stack, forge: Forge, case: Case):
    before = snapshot(stack)

    answer = case.send(forge)
    _settle(forge)

    assert answer.status == 200
    assert len(stack.coc.calls) == before.coc_calls
    methods = _slack_calls_since(stack, before, sentinel="")
    assert "chat.postMessage" not in methods and "chat.postEphemeral" not in methods
    assert not has_traceback(log_since(stack, before))
    assert healthz(stack) == 200


@pytest.mark.parametrize("case", TASK_ID_COMMAND_CASES, ids=[case.id for case in TASK_ID_COMMAND_CASES])
def test_bad_task_id_in_the_command_is_answered_without_opening_the_modal(stack: Stack, forge: Forge, case: Case):
    before = snapshot(stack)

    answer = case.send(forge)
    sentinel = _settle(forge)

    _assert_answer_fits(case, answer)
    assert "not a COC task ID" in answer.json()["text"]
    assert _slack_calls_since(stack, before, sentinel) == []


@pytest.mark.parametrize(
    ("case_id", "expected"),
    [
        ("view-metadata-not-ours", messages.STALE_FORM),
        ("view-state-empty", messages.TASK_ID_REQUIRED),
        ("submitted-task-too-short", "That is not a COC task ID: it must be exactly 26 characters, not 5."),
        (
            "submitted-task-dotdot",
            "That is not a COC task ID: it may hold only the letters A-Z, a-z and the digits 0-9.",
        ),
    ],
)
def test_inline_errors_tell_the_user_what_to_fix(stack: Stack, forge: Forge, case_id: str, expected: str):
    case = next(case for case in CASES if case.id == case_id)

    answer = case.send(forge)

    assert answer.json()["errors"] == {"task": expected}


def test_bolt_lazy_only_headers_from_outside_change_nothing(stack: Stack, forge: Forge):
    """Bolt would skip the acknowledgement and run only a lazy listener; here the modal opens as usual."""
    fields = forge.command_fields("")
    headers = {"X-Slack-Bolt-Lazy-Only": "1", "X-Slack-Bolt-Lazy-Function-Name": "enable_schedule"}

    answer = forge.send(form(fields), headers)

    assert answer.status == 200 and answer.body == b""
    opened = stack.slack.wait_for(
        "views.open", where=lambda call: call.params.get("trigger_id") == fields["trigger_id"]
    )
    assert len(opened) == 1 and opened[0].response["ok"]


def test_a_slash_command_mentioning_payload_is_still_a_slash_command(stack: Stack, forge: Forge):
    answer = forge.send(form({**forge.command_fields("help"), "channel_name": "payload-team"}))

    assert answer.status == 200
    assert answer.json()["text"] == messages.HELP


def test_every_case_has_its_own_readable_id():
    ids = [case.id for case in CASES + TASK_ID_COMMAND_CASES]
    assert len(ids) == len(set(ids)) >= 40
    assert all(case_id == case_id.lower() and " " not in case_id for case_id in ids)
