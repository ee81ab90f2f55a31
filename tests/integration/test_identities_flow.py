"""Identities through the running bot: agencies at IAM, email mapping, guardrails, live reload."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.integration.stack import (
    ALLOWED_CHANNEL,
    BASE_AK,
    BASE_DOMAIN,
    CHANNEL,
    EMAIL_OPERATOR,
    IDENTITY_MAP,
    OPERATOR,
    PROD_AK,
    PROD_DOMAIN,
    PROD_SK,
    RESTRICTED_OPERATOR,
    SANDBOX_DOMAIN,
    SANDBOX_OPERATOR,
    Stack,
    running_stack,
)
from tests.peers.coc import Call, Fault
from tests.peers.iam import POLICY_REFUSAL
from tests.peers.keyring import Key
from tests.slack_driver import values_for

RENEW_MARGIN = timedelta(seconds=1200)
INSIDE_MARGIN = timedelta(seconds=900)
"""A lifetime above the default margin of 300 s but inside ours, so only our setting renews."""

# Each agency test acts for its own Slack user (the map's own U0SANDBOX1 for the first), so
# the bot's per-user credential cache starts empty for it whatever ran before.
REUSING_USER = "U0AGENCY01"
RENEWING_USER = "U0AGENCY02"
REVOKED_USER = "U0AGENCY03"
REFUSED_TWICE_USER = "U0AGENCY04"
IAM_REFUSED_USER = "U0AGENCY05"
BOTH_WAYS_USER = "U0BOTHWAYS"
BOTH_WAYS_EMAIL = "dave@example.com"

FLOW_MAP = (
    IDENTITY_MAP
    + "".join(
        f'{user} = "ops-sandbox"\n'
        for user in (REUSING_USER, RENEWING_USER, REVOKED_USER, REFUSED_TWICE_USER, IAM_REFUSED_USER)
    )
    + f'{BOTH_WAYS_USER} = "ops-base"\n"{BOTH_WAYS_EMAIL}" = "ops-prod"\n'
)

RELOAD_PATIENCE = 30.0
"""Generous: the watcher debounces, and may fall back to polling on some file systems."""

_ACCESS = re.compile(r"Access=([^,\s]+)")
_SIGNED_HEADERS = re.compile(r"SignedHeaders=([^,\s]+)")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = Path(tmp_path_factory.mktemp("identities"))
    identity_map = workdir / "flow-identities.toml"
    identity_map.write_text(FLOW_MAP, encoding="utf-8")
    with running_stack(
        workdir,
        IDENTITY_MAP=str(identity_map),
        IAM_RENEW_MARGIN_SECONDS=str(int(RENEW_MARGIN.total_seconds())),
    ) as running:
        running.slack.users[BOTH_WAYS_USER] = {"name": "dave", "real_name": "Dave", "email": BOTH_WAYS_EMAIL}
        yield running


@pytest.fixture(autouse=True)
def _fresh_iam(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "stack" in request.fixturenames:
        running: Stack = request.getfixturevalue("stack")
        running.iam.clear_faults()
        running.iam.lifetime_override = None


@pytest.fixture(scope="module")
def reloading(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A bot of its own, whose identity map the reload tests rewrite."""
    with running_stack(Path(tmp_path_factory.mktemp("reloading"))) as running:
        yield running


def signed_by(call: Call) -> str | None:
    """The access key named in the request's Authorization header, accepted or not."""
    match = _ACCESS.search(call.headers.get("authorization", ""))
    return match[1] if match else None


def signed_headers(call: Call) -> list[str]:
    match = _SIGNED_HEADERS.search(call.headers.get("authorization", ""))
    return match[1].split(";") if match else []


def session_user(body: Any) -> str | None:
    try:
        name = body["auth"]["identity"]["assume_role"]["session_user"]["name"]
    except (KeyError, TypeError):
        return None
    return name if isinstance(name, str) else None


def iam_calls_for(stack: Stack, user_id: str) -> list[Any]:
    return [call for call in stack.iam.calls() if user_id in (session_user(call.body) or "")]


def issued_for(stack: Stack, user_id: str) -> list[Key]:
    return [key for key in stack.iam.issued() if user_id in (key.session_user or "")]


def enable_as(stack: Stack, user_id: str, *, domain_id: str = SANDBOX_DOMAIN) -> tuple[str, str]:
    """Enable a fresh task as ``user_id``; the task ID and the message posted about it."""
    task_id = stack.add_task(domain_id=domain_id)
    _, answer = stack.submit(task_id, user_id=user_id)
    assert answer.status_code == 200 and answer.text == ""
    return task_id, stack.outcome(task_id).params["text"]


# Agencies


def test_agency_call_is_signed_with_the_temporary_key_and_token_iam_issued_for_the_user(stack: Stack):
    task_id, message = enable_as(stack, SANDBOX_OPERATOR)

    iam_calls = iam_calls_for(stack, SANDBOX_OPERATOR)
    assert len(iam_calls) == 1
    assume_role = iam_calls[0].body["auth"]["identity"]["assume_role"]
    assert iam_calls[0].access_key == BASE_AK and iam_calls[0].headers["x-domain-id"] == BASE_DOMAIN
    assert assume_role["agency_name"] == "coc-operator" and assume_role["domain_name"] == "ops-sandbox"
    assert SANDBOX_OPERATOR in assume_role["session_user"]["name"]

    [issued] = issued_for(stack, SANDBOX_OPERATOR)
    [call] = stack.enable_calls(task_id)
    assert call.status == 200 and call.access_key == issued.access_key
    assert call.access_key not in (BASE_AK, PROD_AK)
    assert call.headers["x-security-token"] == issued.security_token
    assert {"x-security-token", "x-domain-id", "host", "x-sdk-date"} <= set(signed_headers(call))
    assert call.headers["x-domain-id"] == SANDBOX_DOMAIN
    assert stack.coc.task(task_id).enabled
    assert "ops-sandbox" in message and "enabled scheduled task" in message


def test_second_enable_within_the_lifetime_reuses_the_credentials_without_asking_iam(stack: Stack):
    first, _ = enable_as(stack, REUSING_USER)
    second, message = enable_as(stack, REUSING_USER)

    assert len(iam_calls_for(stack, REUSING_USER)) == 1
    [issued] = issued_for(stack, REUSING_USER)
    assert [c.access_key for c in stack.enable_calls(first) + stack.enable_calls(second)] == [issued.access_key] * 2
    assert "enabled scheduled task" in message


def test_credentials_inside_the_configured_renew_margin_are_renewed_before_the_next_call(stack: Stack):
    stack.iam.lifetime_override = INSIDE_MARGIN
    first, _ = enable_as(stack, RENEWING_USER)
    second, message = enable_as(stack, RENEWING_USER)

    assert len(iam_calls_for(stack, RENEWING_USER)) == 2
    old, new = issued_for(stack, RENEWING_USER)
    assert [c.access_key for c in stack.enable_calls(first)] == [old.access_key]
    assert [c.access_key for c in stack.enable_calls(second)] == [new.access_key]
    assert "enabled scheduled task" in message


def test_coc_refusing_a_revoked_temporary_key_renews_once_and_the_retry_enables(stack: Stack):
    enable_as(stack, REVOKED_USER)
    [revoked] = issued_for(stack, REVOKED_USER)
    stack.keyring.revoke(revoked.access_key)

    task_id, message = enable_as(stack, REVOKED_USER)

    refused, retried = stack.enable_calls(task_id)
    assert refused.status == 401 and signed_by(refused) == revoked.access_key
    [_, renewed] = issued_for(stack, REVOKED_USER)
    assert retried.status == 200 and retried.access_key == renewed.access_key
    assert len(iam_calls_for(stack, REVOKED_USER)) == 2
    assert stack.coc.task(task_id).enabled
    assert "enabled scheduled task" in message


def test_temporary_credentials_refused_again_after_renewal_are_reported_not_renewed_again(stack: Stack):
    refusal = Fault.error(401, "APIGW.0301", "Incorrect IAM authentication information: ak not exist")
    stack.coc.faults.extend([refusal, refusal])

    task_id, message = enable_as(stack, REFUSED_TWICE_USER)

    calls = stack.enable_calls(task_id)
    assert [c.status for c in calls] == [401, 401]
    first, second = issued_for(stack, REFUSED_TWICE_USER)
    assert [signed_by(c) for c in calls] == [first.access_key, second.access_key]
    assert len(iam_calls_for(stack, REFUSED_TWICE_USER)) == 2
    assert not stack.coc.task(task_id).enabled
    assert "APIGW.0301" in message and "enabled scheduled task" not in message


def test_iam_refusal_names_identity_and_iams_words_and_never_falls_back_to_the_source_keys(stack: Stack):
    code, words = POLICY_REFUSAL
    stack.iam.refuse()
    coc_calls_before = len(stack.coc.calls)

    task_id, message = enable_as(stack, IAM_REFUSED_USER)

    assert [c.status for c in iam_calls_for(stack, IAM_REFUSED_USER)] == [403]
    assert "ops-sandbox" in message and "IAM" in message
    assert code in message and words in message
    assert stack.enable_calls(task_id) == []
    assert BASE_AK not in [signed_by(c) for c in stack.coc.calls[coc_calls_before:]]
    assert not stack.coc.task(task_id).enabled


# Email mapping


def test_email_entry_maps_a_user_whose_id_is_not_in_the_map(stack: Stack):
    task_id, message = enable_as(stack, EMAIL_OPERATOR, domain_id=PROD_DOMAIN)

    [call] = stack.enable_calls(task_id)
    assert call.status == 200 and call.access_key == PROD_AK
    assert "ops-prod" in message and f"<@{EMAIL_OPERATOR}>" in message
    assert any(c.params.get("user") == EMAIL_OPERATOR for c in stack.slack.calls("users.info"))


def test_id_entry_beats_an_email_entry_for_the_same_user(stack: Stack):
    # The task lives in ops-base's account: acting as the email's ops-prod would be refused.
    task_id, message = enable_as(stack, BOTH_WAYS_USER, domain_id=BASE_DOMAIN)

    [call] = stack.enable_calls(task_id)
    assert call.status == 200 and call.access_key == BASE_AK
    assert "ops-base" in message and "ops-prod" not in message


# Channel guardrails


def test_identity_limited_to_other_channels_is_refused_at_the_command_and_no_modal_opens(stack: Stack):
    task_id = stack.add_task()
    answer = stack.driver.slash_command(task_id, user_id=RESTRICTED_OPERATOR, channel_id=CHANNEL)
    refused_trigger = stack.driver.last_trigger_id

    assert answer.status_code == 200
    body = answer.json()
    assert body.get("response_type", "ephemeral") == "ephemeral"
    assert "ops-restricted" in body["text"] and f"<#{ALLOWED_CHANNEL}>" in body["text"]
    # A later command's modal shows the bot has finished with the refused one.
    stack.driver.open_modal(user_id=OPERATOR, channel_id=CHANNEL)
    assert [c for c in stack.slack.calls("views.open") if c.params.get("trigger_id") == refused_trigger] == []
    assert stack.enable_calls(task_id) == []


def test_identity_limited_to_a_channel_opens_the_modal_there(stack: Stack):
    task_id = stack.add_task()
    view = stack.driver.open_modal(task_id, user_id=RESTRICTED_OPERATOR, channel_id=ALLOWED_CHANNEL)

    context = next(b for b in view["blocks"] if b["type"] == "context")
    assert "ops-restricted" in context["elements"][0]["text"]
    assert "ticket is required" in context["elements"][0]["text"]


def test_identity_requiring_a_ticket_refuses_a_ticketless_submission_inline(stack: Stack):
    task_id = stack.add_task()
    view = stack.driver.open_modal(task_id, user_id=RESTRICTED_OPERATOR, channel_id=ALLOWED_CHANNEL)
    answer = stack.driver.submit_view(view, values_for(view), user_id=RESTRICTED_OPERATOR)

    body = answer.json()
    assert body["response_action"] == "errors"
    assert list(body["errors"]) == ["ticket_id_0"] and "ops-restricted" in body["errors"]["ticket_id_0"]
    assert stack.enable_calls(task_id) == []


def test_identity_requiring_a_ticket_enables_with_one_complete_ticket(stack: Stack):
    task_id = stack.add_task()
    ticket = {"ticket_type": "CHANGE", "ticket_id": "CH-4711"}
    _, answer = stack.submit(task_id, user_id=RESTRICTED_OPERATOR, channel_id=ALLOWED_CHANNEL, tickets=[ticket])

    assert answer.status_code == 200 and answer.text == ""
    message = stack.outcome(task_id, ALLOWED_CHANNEL).params["text"]
    [call] = stack.enable_calls(task_id)
    assert call.status == 200 and call.access_key == PROD_AK
    assert call.body == {"ticket_infos": [ticket]}
    assert "ops-restricted" in message and "CH-4711" in message


# Live reload of the identity map


def map_path(stack: Stack) -> Path:
    return Path(stack.env["IDENTITY_MAP"])


def opens_modal(stack: Stack, user_id: str) -> bool:
    """Whether ``user_id``'s command opens the modal now, rather than being refused."""
    answer = stack.driver.slash_command("", user_id=user_id, channel_id=CHANNEL)
    assert answer.status_code == 200
    if answer.text:
        assert "not mapped" in answer.json()["text"], answer.text
        return False
    trigger_id = stack.driver.last_trigger_id
    stack.slack.wait_for("views.open", where=lambda c: c.params.get("trigger_id") == trigger_id)
    return True


def wait_until_mapped(stack: Stack, user_id: str) -> None:
    deadline = time.monotonic() + RELOAD_PATIENCE
    while not opens_modal(stack, user_id):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{user_id} was still unmapped {RELOAD_PATIENCE} s after the edit.\n{stack.bot.logs()}"
            )
        time.sleep(0.25)


def wait_for_log(stack: Stack, since: int, *needles: str) -> str:
    """The bot's stderr written after offset ``since``, once it holds every needle."""
    deadline = time.monotonic() + RELOAD_PATIENCE
    while True:
        written = stack.bot.stderr()[since:]
        if all(needle in written for needle in needles):
            return written
        if time.monotonic() > deadline:
            raise AssertionError(f"The bot never logged {needles}; it wrote:\n{written}")
        time.sleep(0.1)


def test_user_added_to_the_map_can_open_the_modal_without_a_restart(reloading: Stack):
    pid = reloading.bot.process.pid
    assert not opens_modal(reloading, "U0NEWCOMER")

    map_path(reloading).write_text(IDENTITY_MAP + 'U0NEWCOMER = "ops-prod"\n', encoding="utf-8")

    wait_until_mapped(reloading, "U0NEWCOMER")
    assert reloading.bot.running and reloading.bot.process.pid == pid


@pytest.mark.parametrize(
    ("newcomer", "broken_line", "named"),
    [
        ("U0SECOND01", 'U0BROKEN01 = "ops-missing"\n', ["users.U0BROKEN01", "ops-missing"]),
        ("U0SECOND02", 'U0BROKEN02 = "ops-prod\n', ["not valid TOML", "line {line}"]),
    ],
    ids=["unknown identity", "toml syntax"],
)
def test_broken_edit_keeps_the_last_good_map_and_the_log_names_the_problem(
    reloading: Stack, newcomer: str, broken_line: str, named: list[str]
):
    good = IDENTITY_MAP + f'{newcomer} = "ops-prod"\n'
    map_path(reloading).write_text(good, encoding="utf-8")
    wait_until_mapped(reloading, newcomer)
    logged_before = len(reloading.bot.stderr())

    broken = good + broken_line
    map_path(reloading).write_text(broken, encoding="utf-8")
    line = broken.count("\n")

    written = wait_for_log(reloading, logged_before, "Kept the previous identity map", str(map_path(reloading)))
    for needle in named:
        assert needle.format(line=line) in written, written
    assert PROD_SK not in written
    assert opens_modal(reloading, newcomer)
    assert not opens_modal(reloading, broken_line.split(maxsplit=1)[0])
    assert reloading.bot.running
