"""What operators rely on: readiness that follows the store, and logs that tie a request together."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.integration.stack import (
    BASE_SK,
    BOT_TOKEN,
    CHANNEL,
    OPERATOR,
    PROD_SK,
    SIGNING_SECRET,
    Stack,
    running_stack,
)

POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
STORE_CHECK_TIMEOUT = 45.0
"""The bot checks its store every 15 s; a change shows within two rounds."""
_TEXT_LINE = re.compile(r"^\S+ \S+ (?P<level>[A-Z]+) (?P<name>\S+) \[(?P<request_id>[^\]]+)\] (?P<message>.*)$")


@dataclass(frozen=True)
class Line:
    level: str
    name: str
    request_id: str
    message: str


def text_lines(stderr: str) -> list[Line]:
    """Each entry of a text log; continuation lines (indented) are left out."""
    lines = []
    for raw in stderr.splitlines():
        match = _TEXT_LINE.match(raw)
        if match:
            lines.append(Line(match["level"], match["name"], match["request_id"], match["message"]))
    return lines


def json_lines(stderr: str) -> list[Line]:
    entries = [json.loads(raw) for raw in stderr.splitlines()]
    return [Line(e["level"], e["name"], e["request_id"], e["message"]) for e in entries]


def wait_until(probe: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.1)


def enable_and_collect(stack: Stack, parse: Callable[[str], list[Line]]) -> tuple[str, list[Line]]:
    """Submit one task; its request ID and every line logged under it, once the outcome is logged."""
    task_id = stack.add_task()
    stack.submit(task_id)
    stack.outcome(task_id)

    def lines_of_submission() -> tuple[str, list[Line]] | None:
        lines = parse(stack.bot.stderr())
        coc = [line for line in lines if line.name == "bot.coc.client" and task_id in line.message]
        if not coc:
            return None
        request_id = coc[0].request_id
        mine = [line for line in lines if line.request_id == request_id]
        if not any(line.name == "bot.slack.delivery" for line in mine):
            return None
        return task_id, mine

    found: tuple[str, list[Line]] = wait_until(lines_of_submission, 10, "the outcome's log line")
    return found


def assert_one_submission(task_id: str, lines: list[Line]) -> None:
    by_name = {line.name: line.message for line in lines}
    assert f"/v1/schedule/task/{task_id}/enable answered 200" in by_name["bot.coc.client"]
    assert by_name["bot.enabling.service"].startswith(f"task {task_id}: enabled as ops-prod")
    assert by_name["bot.slack.delivery"] == f"outcome posted in {CHANNEL}"
    assert lines[0].request_id != "-"


def assert_no_secret(text: str) -> None:
    for secret in (PROD_SK, BASE_SK, BOT_TOKEN, SIGNING_SECRET):
        assert secret not in text


def test_lines_of_one_submission_share_a_request_id_and_another_submission_has_its_own(stack: Stack):
    first_task, first = enable_and_collect(stack, text_lines)
    second_task, second = enable_and_collect(stack, text_lines)

    assert_one_submission(first_task, first)
    assert_one_submission(second_task, second)
    assert first[0].request_id != second[0].request_id
    assert not any(second_task in line.message for line in first)


def test_the_accepted_submission_has_its_own_line_under_the_shared_request_id(stack: Stack):
    task_id, lines = enable_and_collect(stack, text_lines)

    accepted = [line for line in lines if line.name == "bot.slack.views"]
    assert accepted and task_id in accepted[0].message and OPERATOR in accepted[0].message


@pytest.fixture(scope="module")
def json_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running_stack(Path(tmp_path_factory.mktemp("json-bot")), LOG_FORMAT="json", LOG_LEVEL="DEBUG") as running:
        yield running


def test_json_logs_are_one_object_a_line_with_the_request_id_for_every_library(json_stack: Stack):
    task_id, lines = enable_and_collect(json_stack, json_lines)
    json_stack.bot.terminate()
    stderr = json_stack.bot.stderr()

    entries = [json.loads(raw) for raw in stderr.splitlines()]
    assert entries and all({"time", "level", "name", "request_id", "message"} <= set(entry) for entry in entries)
    names = {entry["name"] for entry in entries}
    assert {"uvicorn.error", "alembic.runtime.migration", "bot.serve"} <= names
    assert_one_submission(task_id, lines)
    assert_no_secret(stderr)


def test_debug_level_shows_the_bots_debug_lines_but_no_library_payloads(json_stack: Stack):
    entries = [json.loads(raw) for raw in json_stack.bot.stderr().splitlines()]

    debug = [entry for entry in entries if entry["level"] == "DEBUG"]
    assert any(entry["name"].startswith("bot.") for entry in debug)
    assert not any(entry["name"].split(".")[0] in ("slack_sdk", "slack_bolt", "httpx", "httpcore") for entry in debug)


def test_log_level_warning_leaves_out_info_lines(tmp_path: Path):
    with running_stack(tmp_path, LOG_LEVEL="WARNING") as stack:
        task_id = stack.add_task()
        stack.submit(task_id)
        stack.outcome(task_id)
        stderr = stack.bot.stderr()

    levels = {line.level for line in text_lines(stderr)}
    assert levels <= {"WARNING", "ERROR", "CRITICAL"}
    assert "enabled as ops-prod" not in stderr


# The store going away: a PostgreSQL database that stops taking connections, then takes them again.


async def _admin(*statements: str) -> None:
    connection = await asyncpg.connect(POSTGRES_ADMIN, timeout=5)
    try:
        for statement in statements:
            await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture
def postgres_database() -> Iterator[str]:
    name = f"ops_{uuid.uuid4().hex}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}" TEMPLATE template0'))
    except (OSError, asyncpg.PostgresError) as exc:
        pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_ADMIN}: {exc}")
    try:
        yield name
    finally:
        asyncio.run(
            _admin(
                f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true',
                f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
            )
        )


def _readiness(stack: Stack) -> tuple[int, dict[str, Any]]:
    answer = httpx.get(f"{stack.bot.url}/readyz", timeout=5)
    return answer.status_code, answer.json()


def _wait_for_readiness(stack: Stack, status: int) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        code, body = _readiness(stack)
        return body if code == status else None

    found: dict[str, Any] = wait_until(probe, STORE_CHECK_TIMEOUT, f"/readyz answering {status}")
    return found


def test_readyz_turns_503_while_the_store_is_unreachable_and_200_when_it_returns(
    tmp_path: Path, postgres_database: str
):
    url = POSTGRES_ADMIN.rsplit("/", 1)[0] + f"/{postgres_database}"
    with running_stack(tmp_path, DATABASE_URL=url) as stack:
        assert _readiness(stack)[0] == 200

        asyncio.run(
            _admin(
                f'ALTER DATABASE "{postgres_database}" WITH ALLOW_CONNECTIONS false',
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                f"WHERE datname = '{postgres_database}' AND pid <> pg_backend_pid()",
            )
        )
        down = _wait_for_readiness(stack, 503)
        assert down["checks"]["store"] is False
        assert postgres_database in down["problems"]["store"]
        assert httpx.get(f"{stack.bot.url}/healthz", timeout=5).status_code == 200

        asyncio.run(_admin(f'ALTER DATABASE "{postgres_database}" WITH ALLOW_CONNECTIONS true'))
        up = _wait_for_readiness(stack, 200)
        assert up["checks"]["store"] is True and "store" not in up["problems"]
