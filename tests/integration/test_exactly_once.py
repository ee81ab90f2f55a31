"""Exactly-once enables and the audit trail, through running bots."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.audit.attempts import JSON_KEYS
from tests.bot_process import REPO, BotProcess, run_bot_command
from tests.integration.stack import (
    CHANNEL,
    EMAIL_OPERATOR,
    OPERATOR,
    SIGNING_SECRET,
    Stack,
    running_stack,
    ticket_values,
)
from tests.peers.coc import Fault
from tests.postgres import temporary_database
from tests.slack_driver import SlackDriver


def audit(stack: Stack, *args: str) -> list[dict]:
    result = run_bot_command(["audit", "--json", *args], stack.env, REPO)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


def test_same_submission_delivered_twice_makes_one_coc_call_and_one_message(stack: Stack):
    task_id = stack.add_task()
    view = stack.driver.open_modal(task_id)
    values = ticket_values(view, [])
    answers = [stack.driver.submit_view(view, values), stack.driver.submit_view(view, values)]

    assert [a.status_code for a in answers] == [200, 200]
    stack.outcome(task_id)
    assert len(stack.enable_calls(task_id)) == 1
    records = audit(stack, "--task", task_id)
    assert [r["outcome"] for r in records] == ["enabled"]


def test_audit_record_says_who_enabled_what_under_which_identity_and_ticket(stack: Stack):
    task_id = stack.add_task()
    stack.submit(task_id, tickets=[{"ticket_type": "INCIDENT", "ticket_id": "IN-77", "scope_id": "cn-north-4"}])
    stack.outcome(task_id)

    (record,) = audit(stack, "--task", task_id)
    assert set(record) == JSON_KEYS
    assert record["slack_user"] == OPERATOR and record["channel"] == CHANNEL
    assert record["identity"] == "ops-prod" and record["outcome"] == "enabled"
    assert record["tickets"] == [
        {"ticket_type": "INCIDENT", "ticket_id": "IN-77", "target_id": None, "scope_id": "cn-north-4"}
    ]
    assert record["request_id"] == stack.enable_calls(task_id)[0].request_id


def test_failed_and_refused_attempts_are_recorded_too(stack: Stack):
    task_id = stack.add_task()
    stack.coc.faults.append(Fault.error(400, "COC.00014102", "no such task"))
    stack.submit(task_id)
    stack.outcome(task_id)
    stack.driver.slash_command(task_id, user_id="U0NOBODY01")

    outcomes = {(r["outcome"], r["error_code"]) for r in audit(stack, "--task", task_id)}
    assert outcomes == {("failed", "COC.00014102"), ("refused", None)}


def test_already_enabled_after_a_retry_of_our_own_is_reported_as_success(stack: Stack):
    # COC enabled the task on the first try, but the gateway's answer was a 503.
    task_id = stack.add_task(enabled=True)
    stack.coc.faults.append(Fault.status(503))
    stack.submit(task_id)

    text = stack.outcome(task_id).params["text"]
    assert text.startswith(":white_check_mark:") and "first attempt went through" in text
    assert len(stack.enable_calls(task_id)) == 2
    assert [r["outcome"] for r in audit(stack, "--task", task_id)] == ["enabled"]


def test_two_users_enabling_one_task_at_once_make_one_call_and_both_hear_the_outcome(stack: Stack):
    task_id = stack.add_task()
    stack.coc.delay = 2.0
    _, first = stack.submit(task_id, user_id=OPERATOR)
    _, second = stack.submit(task_id, user_id=EMAIL_OPERATOR)
    second_url = stack.driver.last_response_url

    assert first.status_code == second.status_code == 200
    stack.outcome(task_id, timeout=20)
    posts = stack.slack.wait_for(
        "response_url", count=2, timeout=20, where=lambda call: task_id in str(call.params.get("text"))
    )
    told = [p["text"] for p in stack.slack.response_posts(second_url)]
    assert len(stack.enable_calls(task_id)) == 1
    assert len(posts) == 2 and len(told) == 2
    assert "being enabled by" in told[0] and f"<@{OPERATOR}>" in told[0]
    assert "ended: *enabled*" in told[1]


def test_history_shows_the_channels_records_to_the_asking_user(stack: Stack):
    task_id = stack.add_task()
    stack.submit(task_id)
    stack.outcome(task_id)
    stack.driver.slash_command(f"history {task_id}")
    url = stack.driver.last_response_url

    stack.slack.wait_for("response_url", where=lambda call: task_id in str(call.params.get("text")))
    (post,) = stack.slack.response_posts(url)
    assert post.get("response_type") == "ephemeral"
    assert task_id in post["text"] and "enabled" in post["text"] and "ops-prod" in post["text"]


def test_two_bot_processes_sharing_postgresql_make_one_coc_call(tmp_path: Path):
    with ExitStack() as resources:
        database_url = resources.enter_context(temporary_database())
        stack = resources.enter_context(running_stack(tmp_path, DATABASE_URL=database_url))
        second = resources.enter_context(BotProcess(stack.env, REPO))
        other = resources.enter_context(SlackDriver(second.url, SIGNING_SECRET, stack.slack))
        task_id = stack.add_task()
        view = stack.driver.open_modal(task_id)
        values = ticket_values(view, [])
        answers: list[int] = []
        threads = [
            threading.Thread(target=lambda d=d: answers.append(d.submit_view(view, values).status_code))
            for d in (stack.driver, other)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert answers == [200, 200]
        stack.outcome(task_id)
        assert len(stack.enable_calls(task_id)) == 1
        assert [r["outcome"] for r in audit(stack, "--task", task_id)] == ["enabled"]


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_bot_killed_during_the_coc_call_reconciles_the_record_after_restart(tmp_path: Path, database: str):
    settings = {"COC_TIMEOUT_SECONDS": "2", "COC_RETRIES": "0"}
    with ExitStack() as resources:
        if database == "postgresql":
            settings["DATABASE_URL"] = resources.enter_context(temporary_database())
        stack = resources.enter_context(running_stack(tmp_path, **settings))
        task_id = stack.add_task()
        stack.coc.delay = 1.5  # the peer has enabled the task and is still answering
        stack.submit(task_id)
        _wait(lambda: stack.enable_calls(task_id))
        stack.bot.kill()

        assert [r["outcome"] for r in audit(stack, "--task", task_id)] == ["pending"]
        stack.coc.delay = 0.0
        with BotProcess(stack.env, REPO):
            message = stack.outcome(task_id, timeout=30)
            records = audit(stack, "--task", task_id)
        assert "restarted while enabling" in message.params["text"] and "is enabled" in message.params["text"]
        assert [r["outcome"] for r in records] == ["enabled"]
        assert len(stack.enable_calls(task_id)) == 1


def _wait(condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
