"""Socket Mode end to end: the same flow over a WebSocket, and a connection that heals itself."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.bot_process import REPO, BotProcess, run_bot_command
from tests.integration.stack import (
    CHANNEL,
    IDENTITY_MAP,
    PROD_DOMAIN,
    bot_env,
    huawei_peers,
    new_task_id,
    slack_peer,
)
from tests.peers.coc import CocPeer
from tests.peers.server import free_port
from tests.peers.slack import SlackPeer
from tests.peers.socket import SocketPeer
from tests.slack_driver import values_for

APP_TOKEN = "xapp-1-A0APPID001-1111-socketmodeintegration"
PING_INTERVAL = "1.0"
_LINE = re.compile(r"^\S+ \S+ [A-Z]+ (?P<name>\S+) \[(?P<request_id>[^\]]+)\] (?P<message>.*)$", re.MULTILINE)


@dataclass
class SocketStack:
    socket: SocketPeer
    slack: SlackPeer
    coc: CocPeer
    bot: BotProcess
    env: dict[str, str]

    def add_task(self) -> str:
        task_id = new_task_id()
        self.coc.add_task(task_id, "nightly backup", PROD_DOMAIN)
        return task_id

    def readiness(self) -> tuple[int, dict[str, Any]]:
        answer = httpx.get(f"{self.bot.url}/readyz", timeout=5)
        return answer.status_code, answer.json()

    def wait_for_readiness(self, status: int, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            code, body = self.readiness()
            if code == status:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"/readyz stayed {code} {body}, not {status}, for {timeout} s")
            time.sleep(0.05)

    def outcome(self, task_id: str) -> Any:
        calls = self.slack.wait_for(
            "chat.postMessage",
            timeout=15,
            where=lambda call: call.params.get("channel") == CHANNEL and task_id in str(call.params.get("text")),
        )
        assert len(calls) == 1, [c.params.get("text") for c in calls]
        return calls[0]


def socket_env(urls: dict[str, str], workdir: Path, **extra: str) -> dict[str, str]:
    env = bot_env(urls, workdir, SLACK_APP_TOKEN=APP_TOKEN, SLACK_SOCKET_PING_INTERVAL_SECONDS=PING_INTERVAL, **extra)
    # Socket Mode needs no signing secret: Slack's envelopes arrive over the authenticated socket.
    del env["SLACK_SIGNING_SECRET"]
    return env


@pytest.fixture(scope="module")
def socket_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SocketStack]:
    workdir = Path(tmp_path_factory.mktemp("socket-bot"))
    (workdir / "identities.toml").write_text(IDENTITY_MAP, encoding="utf-8")
    slack = slack_peer()
    socket = SocketPeer(APP_TOKEN, slack)
    with ExitStack() as stack:
        stack.enter_context(socket.serve())
        coc, _, _, urls = stack.enter_context(huawei_peers())
        env = socket_env({"slack": socket.api_url, **urls}, workdir)
        bot = stack.enter_context(BotProcess(env, REPO))
        running = SocketStack(socket, slack, coc, bot, env)
        running.wait_for_readiness(200)
        yield running


def test_slash_command_envelope_opens_the_modal_and_is_acknowledged(socket_stack: SocketStack):
    task_id = new_task_id()
    envelope_id, trigger_id = socket_stack.socket.slash_command(task_id)

    ack = socket_stack.socket.wait_for_ack(envelope_id)
    call = socket_stack.slack.wait_for("views.open", where=lambda c: c.params.get("trigger_id") == trigger_id)[0]
    assert ack.message == {"envelope_id": envelope_id}
    task_input = next(b for b in call.response["view"]["blocks"] if b.get("block_id") == "task")
    assert task_input["element"]["initial_value"] == task_id


def test_help_is_answered_in_the_acknowledgement(socket_stack: SocketStack):
    envelope_id, _ = socket_stack.socket.slash_command("help")

    payload = socket_stack.socket.wait_for_ack(envelope_id).payload
    assert "/enable-schedule" in payload["text"]
    assert payload.get("response_type", "ephemeral") == "ephemeral"


def test_submission_with_a_bad_task_id_is_refused_in_the_acknowledgement(socket_stack: SocketStack):
    calls_before = len(socket_stack.coc.calls)
    view = socket_stack.socket.open_modal("")

    ack = socket_stack.socket.submit_view(view, values_for(view, {"task": "ST123"}))
    assert ack.payload["response_action"] == "errors"
    assert "task" in ack.payload["errors"]
    assert len(socket_stack.coc.calls) == calls_before


def test_good_submission_enables_the_task_at_coc_and_posts_the_outcome(socket_stack: SocketStack):
    task_id = socket_stack.add_task()
    view = socket_stack.socket.open_modal(task_id)

    ack = socket_stack.socket.submit_view(view, values_for(view, {}))
    assert ack.payload is None
    text = socket_stack.outcome(task_id).params["text"]
    assert task_id in text and "ops-prod" in text
    assert socket_stack.coc.task(task_id).enabled
    assert len(socket_stack.coc.calls_to("POST", f"/v1/schedule/task/{task_id}/enable")) == 1


def _works_on_a_new_connection(socket_stack: SocketStack, old: int, opens_before: int) -> None:
    socket_stack.socket.wait_for_links(old + 1)
    task_id = socket_stack.add_task()
    view = socket_stack.socket.open_modal(task_id)
    ack = socket_stack.socket.submit_view(view, values_for(view, {}))

    assert ack.link > old
    assert len(socket_stack.socket.opens()) > opens_before
    socket_stack.outcome(task_id)  # the enable runs after the ack
    assert socket_stack.coc.task(task_id).enabled


@pytest.mark.parametrize("reason", ["warning", "refresh_requested"])
def test_after_a_disconnect_message_the_bot_moves_to_a_new_connection(socket_stack: SocketStack, reason: str):
    opens_before = len(socket_stack.socket.opens())
    old = socket_stack.socket.disconnect(reason)

    _works_on_a_new_connection(socket_stack, old, opens_before)


def test_after_a_dropped_socket_the_bot_opens_a_new_connection(socket_stack: SocketStack):
    opens_before = len(socket_stack.socket.opens())
    old = socket_stack.socket.drop()

    _works_on_a_new_connection(socket_stack, old, opens_before)


def test_a_connection_that_stops_answering_pings_is_replaced(socket_stack: SocketStack):
    opens_before = len(socket_stack.socket.opens())
    old = socket_stack.socket.go_silent()

    _works_on_a_new_connection(socket_stack, old, opens_before)


def test_readyz_reports_the_socket_while_it_is_down_and_after_it_returns(socket_stack: SocketStack):
    status, body = socket_stack.readiness()
    assert status == 200 and body["checks"]["socket"] is True

    socket_stack.socket.refuse_opens("internal_error")
    try:
        socket_stack.socket.drop()
        down = socket_stack.wait_for_readiness(503)
    finally:
        socket_stack.socket.refuse_opens(None)
    assert down["checks"]["socket"] is False
    assert "socket" in down["problems"]

    up = socket_stack.wait_for_readiness(200)
    assert up["checks"]["socket"] is True and "socket" not in up["problems"]


def test_healthz_answers_in_socket_mode(socket_stack: SocketStack):
    answer = httpx.get(f"{socket_stack.bot.url}/healthz", timeout=5)
    assert answer.status_code == 200


def test_a_refused_app_token_stops_the_bot_with_the_setting_to_fix(socket_stack: SocketStack, tmp_path: Path):
    env = {**socket_stack.env, "SLACK_APP_TOKEN": "xapp-1-A0APPID001-9999-wrongtoken", "PORT": str(free_port())}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'audit.db'}"

    result = run_bot_command([], env, REPO, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "SLACK_APP_TOKEN" in result.stderr and "invalid_auth" in result.stderr
    assert "wrongtoken" not in result.stderr


def test_lines_of_a_socket_submission_share_one_request_id(socket_stack: SocketStack):
    task_id = socket_stack.add_task()
    view = socket_stack.socket.open_modal(task_id)
    socket_stack.socket.submit_view(view, values_for(view, {}))
    socket_stack.outcome(task_id)

    def lines_of_submission() -> list[tuple[str, str]] | None:
        entries = [(m["request_id"], m["name"], m["message"]) for m in _LINE.finditer(socket_stack.bot.stderr())]
        coc = [request_id for request_id, name, message in entries if name == "bot.coc.client" and task_id in message]
        if not coc:
            return None
        mine = [(name, message) for request_id, name, message in entries if request_id == coc[0]]
        return mine if any(name == "bot.slack.delivery" for name, _ in mine) else None

    deadline = time.monotonic() + 10
    while (mine := lines_of_submission()) is None:
        assert time.monotonic() < deadline, "the outcome's log line never came"
        time.sleep(0.1)
    names = [name for name, _ in mine]
    assert {"bot.coc.client", "bot.enabling.service", "bot.slack.delivery"} <= set(names)
    assert any(f"task {task_id}: enabled as ops-prod" in message for _, message in mine)


def test_sigterm_closes_the_connection_and_exits_zero(socket_stack: SocketStack, tmp_path: Path):
    env = {**socket_stack.env, "DATABASE_URL": f"sqlite:///{tmp_path / 'audit.db'}"}
    env.pop("PORT", None)
    links_before = len(socket_stack.socket.links())
    with BotProcess(env, REPO) as bot:
        socket_stack.socket.wait_for_links(links_before + 1)
        code = bot.terminate()
        stderr = bot.stderr()

    assert code == 0, stderr
    assert "stopped" in stderr
    own = socket_stack.socket.links()[links_before]
    assert own["open"] is False
