"""Slack misbehaving: rate limits, a trigger that expired, a bot token it refuses."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from bot import messages
from tests.bot_process import BotProcess, BotStartError
from tests.hostile.forge import Forge, form
from tests.hostile.observe import REPO, Snapshot, has_traceback, log_lines_since, log_since, only_record, snapshot
from tests.integration.stack import CHANNEL, IDENTITY_MAP, Stack, bot_env, peers
from tests.peers.server import free_port


def test_rate_limited_outcome_is_posted_after_retry_after(stack: Stack):
    task_id = stack.add_task()
    stack.slack.rate_limit("chat.postMessage", times=1, retry_after=1)

    stack.submit(task_id)

    about_task = stack.slack.wait_for(
        "chat.postMessage", count=2, timeout=20, where=lambda call: task_id in str(call.params.get("text"))
    )
    assert [call.status for call in about_task] == [429, 200]
    assert about_task[1].at - about_task[0].at >= 0.9
    posted = [m for m in stack.slack.messages(CHANNEL) if task_id in m["text"]]
    assert len(posted) == 1 and "enabled scheduled task" in posted[0]["text"]
    assert only_record(stack, task_id)["outcome"] == "enabled"


def test_an_expired_trigger_tells_the_user_to_run_the_command_again(stack: Stack, forge: Forge):
    fields = {**forge.command_fields(""), "trigger_id": stack.slack.issue_trigger(ttl=0)}
    response_id = fields["response_url"].rsplit("/", 1)[-1]

    answer = forge.send(form(fields))

    assert answer.status == 200
    posted = stack.slack.wait_for("response_url", where=lambda call: call.response_id == response_id)
    assert [call.params["text"] for call in posted] == [messages.TRIGGER_EXPIRED]
    assert "run `/enable-schedule` again" in posted[0].params["text"]
    opened = [call for call in stack.slack.calls("views.open") if call.params.get("trigger_id") == fields["trigger_id"]]
    assert [call.response["error"] for call in opened] == ["expired_trigger_id"]


def test_an_unreachable_response_url_after_an_expired_trigger_is_logged_without_a_traceback(stack: Stack, forge: Forge):
    fields = {
        **forge.command_fields(""),
        "trigger_id": stack.slack.issue_trigger(ttl=0),
        "response_url": f"http://127.0.0.1:{free_port()}/response/gone",
    }
    before = snapshot(stack)

    answer = forge.send(form(fields))
    failed = _wait_for_line(stack, before, "views.open failed: expired_trigger_id")
    request_id = failed.split("[", 1)[1].split("]", 1)[0]
    # Whatever the bot does about the unreachable URL, it logs it under the same request ID.
    _wait_for_line(stack, before, f"[{request_id}]", after=failed)

    assert answer.status == 200
    assert not has_traceback(log_since(stack, before)), log_since(stack, before)


def _wait_for_line(stack: Stack, before: Snapshot, text: str, *, after: str | None = None, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    while True:
        lines = log_lines_since(stack, before)
        if after is not None:
            lines = lines[lines.index(after) + 1 :]
        found = [line for line in lines if text in line]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no log line with {text!r} within {timeout} s:\n" + "\n".join(lines))
        time.sleep(0.05)


@pytest.mark.parametrize(
    "token",
    ["xoxb-0000-0000-revokedtokenvalue", "not-a-bot-token-at-all-9d8f7"],
    ids=["refused-by-slack", "malformed"],
)
def test_a_bad_bot_token_stops_start_up_naming_the_setting_not_the_token(tmp_path: Path, token: str):
    (tmp_path / "identities.toml").write_text(IDENTITY_MAP, encoding="utf-8")
    with peers() as (_, _, _, _, urls):
        env = bot_env(urls, tmp_path, SLACK_BOT_TOKEN=token)

        with pytest.raises(BotStartError) as failed:
            BotProcess(env, REPO).start()

    output = str(failed.value)
    exit_code = re.search(r"exited with code (-?\d+)", output)
    assert exit_code is not None and int(exit_code.group(1)) != 0, output
    assert "SLACK_BOT_TOKEN" in output
    assert token not in output and token[5:] not in output
    assert "Traceback" not in output
