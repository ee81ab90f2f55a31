"""``python -m bot audit``: the table, ``--json`` and the filters."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.audit import cli
from bot.audit.store import AuditStore, Outcome
from bot.coc.tasks import Ticket, TicketType
from tests.audit.attempts import JSON_KEYS, OTHER_TASK, TASK, attempt


async def _json_lines(
    capsys: pytest.CaptureFixture[str], argv: list[str], database_url: str
) -> list[dict[str, object]]:
    assert await cli.main([*argv, "--json"], database_url) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


async def test_json_prints_one_object_per_record_with_exactly_the_documented_keys(
    store: AuditStore, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    record = await store.begin(attempt(), lease=timedelta(minutes=1))
    await store.finish(record.id, Outcome.FAILED, error_code="COC.001", error_msg="no such task", request_id="r-1")
    await store.refuse(attempt(identity=None, slack_user="U0BOB"), error_code=None, error_msg="unmapped")

    lines = await _json_lines(capsys, [], database_url)

    assert [set(line) for line in lines] == [JSON_KEYS, JSON_KEYS]
    refused, failed = lines
    assert (refused["outcome"], refused["identity"], refused["slack_user"]) == ("refused", None, "U0BOB")
    assert failed == {
        "at": record.created_at.isoformat(),
        "slack_team": "T0TEAM",
        "slack_user": "U0ALICE",
        "channel": "C0OPS",
        "identity": "ops-prod",
        "task_id": TASK,
        "tickets": [
            {"ticket_type": "CHANGE", "ticket_id": "CH-2024-001", "target_id": "app-1", "scope_id": "cn-north-4"}
        ],
        "outcome": "failed",
        "error_code": "COC.001",
        "error_msg": "no such task",
        "request_id": "r-1",
    }
    at = datetime.fromisoformat(str(failed["at"]))
    assert at.utcoffset() == timedelta(0)


async def test_filters_narrow_the_records_printed(
    store: AuditStore, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    await store.refuse(attempt(slack_user="U0BOB"), error_code=None, error_msg="first")
    await store.refuse(attempt(task_id=OTHER_TASK), error_code=None, error_msg="second")
    cut = datetime.now(UTC)
    await store.refuse(attempt(), error_code=None, error_msg="third")

    def messages(lines: list[dict[str, object]]) -> list[object]:
        return [line["error_msg"] for line in lines]

    assert messages(await _json_lines(capsys, [], database_url)) == ["third", "second", "first"]
    assert messages(await _json_lines(capsys, ["--task", TASK], database_url)) == ["third", "first"]
    assert messages(await _json_lines(capsys, ["--user", "U0BOB"], database_url)) == ["first"]
    assert messages(await _json_lines(capsys, ["--since", cut.isoformat()], database_url)) == ["third"]
    assert messages(await _json_lines(capsys, ["--since", "1h"], database_url)) == ["third", "second", "first"]
    assert messages(await _json_lines(capsys, ["--limit", "1"], database_url)) == ["third"]


async def test_the_table_shows_each_record_on_one_line_newest_first(
    store: AuditStore, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    first = await store.begin(
        attempt(tickets=(Ticket(TicketType.CHANGE, "CH-9"), Ticket(TicketType.INCIDENT, "INC-3"))),
        lease=timedelta(minutes=1),
    )
    await store.finish(first.id, Outcome.ENABLED, request_id="req-77", note="already enabled after a retry of our own")
    await store.refuse(attempt(identity=None, task_id=OTHER_TASK), error_code="guardrail", error_msg="wrong\nchannel")

    assert await cli.main([], database_url) == 0
    header, newest, oldest = capsys.readouterr().out.splitlines()

    assert header.split()[:4] == ["AT", "(UTC)", "OUTCOME", "TASK"]
    assert "refused" in newest
    assert OTHER_TASK in newest
    assert "guardrail: wrong channel" in newest
    assert "enabled" in oldest
    assert "CHANGE CH-9, INCIDENT INC-3" in oldest
    assert "req-77" in oldest
    assert first.created_at.strftime("%Y-%m-%d %H:%M:%S") in oldest


async def test_the_table_says_so_when_nothing_matches(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli.main(["--task", TASK], database_url) == 0

    assert capsys.readouterr().out.strip() == "No audit records match."


@pytest.mark.parametrize(
    ("argv", "complaint"),
    [
        (["--limit", "0"], "--limit"),
        (["--limit", "many"], "--limit"),
        (["--since", "yesterday"], "--since"),
        (["--task", "ST123"], "--task"),
        (["--colour"], "unrecognized arguments"),
    ],
)
async def test_bad_arguments_exit_2_with_argparses_message(
    argv: list[str], complaint: str, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await cli.main(argv, sqlite_url) == 2

    assert complaint in capsys.readouterr().err


async def test_an_unusable_database_url_exits_1_without_the_password(capsys: pytest.CaptureFixture[str]) -> None:
    assert await cli.main([], "mysql://auditor:Zx9hunter2@db/audit") == 1

    err = capsys.readouterr().err
    assert "DATABASE_URL" in err
    assert "Zx9hunter2" not in err


@given(amount=st.integers(min_value=0, max_value=10_000), unit=st.sampled_from(["m", "h", "d", "w"]))
def test_a_since_duration_reaches_that_far_back(amount: int, unit: str) -> None:
    now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    length = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}

    assert cli.since(f"{amount}{unit}", now=now) == now - amount * length[unit]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-31", datetime(2025, 1, 31, tzinfo=UTC)),
        ("2025-01-31T08:30", datetime(2025, 1, 31, 8, 30, tzinfo=UTC)),
        ("2025-01-31T08:30Z", datetime(2025, 1, 31, 8, 30, tzinfo=UTC)),
        ("2025-01-31T10:30+02:00", datetime(2025, 1, 31, 8, 30, tzinfo=UTC)),
    ],
)
def test_a_since_date_without_an_offset_is_read_as_utc(text: str, expected: datetime) -> None:
    assert cli.since(text) == expected
