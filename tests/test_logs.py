"""Logging as start-up configures it: the forms, the level, the request ID, quiet libraries."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import warnings
from collections.abc import Iterator

import pytest

from bot import logs


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    quiet = {
        name: logging.getLogger(name).level for name in ("httpx", "slack_bolt", "slack_bolt.AsyncApp", "slack_sdk")
    }
    token = logs.request_id.set(logs.NO_REQUEST)
    yield
    logs.request_id.reset(token)
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, previous in quiet.items():
        logging.getLogger(name).setLevel(previous)
    logging.captureWarnings(False)


def lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return capsys.readouterr().err.splitlines()


def test_text_line_carries_level_logger_request_id_and_message(capsys: pytest.CaptureFixture[str]):
    logs.configure("INFO", "text")
    request_id = logs.new_request_id()
    logging.getLogger("bot.example").info("task %s enabled", "ST0001")

    (line,) = lines(capsys)
    assert line.endswith(f" INFO bot.example [{request_id}] task ST0001 enabled")


def test_text_entry_that_spans_lines_indents_its_continuation(capsys: pytest.CaptureFixture[str]):
    logs.configure("INFO", "text")
    logging.getLogger("bot.example").info("first\nforged 2026-01-01 00:00:00,000 INFO bot.x [-] lie")
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("bot.example").exception("failed")

    output = lines(capsys)
    entries = [line for line in output if not line.startswith(" ")]
    assert len(entries) == 2
    assert output[1] == "    forged 2026-01-01 00:00:00,000 INFO bot.x [-] lie"
    assert any(line.startswith("    ValueError: boom") for line in output)


def test_json_line_has_time_level_name_request_id_and_message(capsys: pytest.CaptureFixture[str]):
    logs.configure("INFO", "json")
    request_id = logs.new_request_id()
    logging.getLogger("bot.example").warning("line one\nline two")

    (line,) = lines(capsys)
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["name"] == "bot.example"
    assert entry["request_id"] == request_id and entry["message"] == "line one\nline two"
    assert entry["time"].endswith("+00:00")


def test_json_traceback_stays_on_the_entrys_one_line(capsys: pytest.CaptureFixture[str]):
    logs.configure("INFO", "json")
    try:
        raise KeyError("missing")
    except KeyError:
        logging.getLogger("bot.example").exception("failed")

    (line,) = lines(capsys)
    assert "KeyError" in json.loads(line)["exc_info"]


def test_lines_outside_a_request_carry_a_dash(capsys: pytest.CaptureFixture[str]):
    logs.configure("INFO", "json")
    logging.getLogger("bot.example").info("started")

    assert json.loads(lines(capsys)[0])["request_id"] == logs.NO_REQUEST


def test_each_request_gets_its_own_id_and_tasks_it_starts_keep_it(capsys: pytest.CaptureFixture[str]):
    logs.configure("INFO", "json")

    async def request(name: str) -> None:
        logs.new_request_id()
        logging.getLogger("bot.example").info("%s received", name)
        await asyncio.create_task(_later(name))

    async def _later(name: str) -> None:
        await asyncio.sleep(0)
        logging.getLogger("bot.example").info("%s finished", name)

    async def both() -> None:
        await asyncio.gather(request("a"), request("b"))

    contextvars.copy_context().run(asyncio.run, both())

    entries = [json.loads(line) for line in lines(capsys)]
    ids = {entry["message"]: entry["request_id"] for entry in entries}
    assert ids["a received"] == ids["a finished"]
    assert ids["b received"] == ids["b finished"]
    assert ids["a received"] != ids["b received"]


def test_level_leaves_out_lower_lines(capsys: pytest.CaptureFixture[str]):
    logs.configure("WARNING", "text")
    logging.getLogger("bot.example").info("hidden")
    logging.getLogger("bot.example").warning("shown")

    output = lines(capsys)
    assert len(output) == 1 and output[0].endswith("shown")


def test_libraries_stay_quiet_below_warning_even_when_they_reset_their_level(capsys: pytest.CaptureFixture[str]):
    logs.configure("DEBUG", "text")
    # Bolt copies the root level onto its loggers when an app is created.
    logging.getLogger("slack_bolt.AsyncApp").setLevel(logging.DEBUG)
    logging.getLogger("slack_bolt.AsyncApp").debug("payload {...}")
    logging.getLogger("httpx").info("HTTP Request: POST https://example.com/?secret")
    logging.getLogger("bot.example").debug("ours")
    logging.getLogger("slack_bolt.AsyncApp").warning("worth seeing")

    output = lines(capsys)
    assert [line.rsplit("] ", 1)[1] for line in output] == ["ours", "worth seeing"]


def test_warnings_are_logged_as_entries(capsys: pytest.CaptureFixture[str]):
    logs.configure("INFO", "json")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("an old API", DeprecationWarning, stacklevel=1)

    entry = json.loads(lines(capsys)[0])
    assert entry["name"] == "py.warnings" and "an old API" in entry["message"]
