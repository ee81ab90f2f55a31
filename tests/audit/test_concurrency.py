"""Exactly-once under concurrency: coroutines in one process, and separate processes."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import asyncpg

from bot.audit.database_url import driver_url
from bot.audit.store import AuditStore, DuplicateSubmission, Outcome, TaskInFlight
from tests.audit.attempts import TASK, attempt, outlive_lease
from tests.bot_process import REPO

LEASE = timedelta(minutes=1)


async def test_ten_concurrent_begins_of_one_submission_make_one_record(store: AuditStore) -> None:
    results = await asyncio.gather(*(store.begin(attempt(), lease=LEASE) for _ in range(10)), return_exceptions=True)

    created = [result for result in results if not isinstance(result, BaseException)]
    duplicates = [result for result in results if isinstance(result, DuplicateSubmission)]
    assert len(created) == 1
    assert len(duplicates) == 9
    assert {duplicate.existing.id for duplicate in duplicates} == {created[0].id}
    assert len(await store.query(task_id=TASK)) == 1


async def test_ten_concurrent_submissions_of_one_task_leave_one_in_flight(store: AuditStore) -> None:
    results = await asyncio.gather(
        *(store.begin(attempt(submission_key=f"V{n}"), lease=LEASE) for n in range(10)),
        return_exceptions=True,
    )

    created = [result for result in results if not isinstance(result, BaseException)]
    in_flight = [result for result in results if isinstance(result, TaskInFlight)]
    assert len(created) == 1
    assert len(in_flight) == 9
    assert {refusal.holder.id for refusal in in_flight} == {created[0].id}


async def test_exactly_one_of_two_concurrent_callers_takes_over(store: AuditStore, database_url: str) -> None:
    record = await store.begin(attempt(), lease=timedelta(milliseconds=1))
    await outlive_lease(record)

    async with await AuditStore.open(database_url) as other:
        taken = await asyncio.gather(store.take_over(record.id, lease=LEASE), other.take_over(record.id, lease=LEASE))

    assert sorted(taken) == [False, True]


async def test_reading_the_trail_does_not_wait_for_a_writer(store: AuditStore, database_url: str) -> None:
    kept = await store.refuse(attempt(), error_code=None, error_msg="committed")

    async with _uncommitted_row(database_url):
        # Another connection holds the write lock over a row it has not committed.
        assert [record.id for record in await store.query()] == [kept.id]


_INSERT_ROW = (
    "INSERT INTO audit_records (created_at, slack_team, slack_user, channel, task_id, tickets, outcome) "
    f"VALUES (CURRENT_TIMESTAMP, 'T', 'U', 'C', '{TASK}', '[]', 'refused')"
)


@asynccontextmanager
async def _uncommitted_row(database_url: str) -> AsyncIterator[None]:
    """Insert a row through a connection of the test's own, and keep its transaction open."""
    url = driver_url(database_url)
    if url.get_backend_name() == "sqlite":
        lite = sqlite3.connect(str(url.database), isolation_level=None)
        try:
            lite.execute("BEGIN IMMEDIATE")
            lite.execute(_INSERT_ROW)
            yield
        finally:
            lite.rollback()
            lite.close()
        return
    postgres = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        async with postgres.transaction():
            await postgres.execute(_INSERT_ROW)
            yield
            raise _RollBack
    except _RollBack:
        pass
    finally:
        await postgres.close()


class _RollBack(Exception):
    """Leaves the test's own transaction without committing it."""


async def _release(processes: list[asyncio.subprocess.Process]) -> None:
    for process in processes:
        assert process.stdin is not None
        process.stdin.write(b"go\n")
    for process in processes:
        assert process.stdin is not None
        await process.stdin.drain()


async def _race(database_url: str, submission_keys: list[str]) -> list[dict[str, int]]:
    """Run one contender process per key on a fresh database, released together to open the
    store and again to begin, and collect how each attempt went."""
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.audit.contender",
            database_url,
            key,
            cwd=REPO,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        for key in submission_keys
    ]
    try:
        await _release(processes)
        for process in processes:
            assert process.stdout is not None
            assert (await process.stdout.readline()).strip() == b"ready", "a contender failed to open the store"
        await _release(processes)

        results = []
        for process in processes:
            output, _ = await process.communicate()
            assert process.returncode == 0
            results.append(json.loads(output))
        return results
    finally:
        # A contender left waiting for "go" after a failure would outlive the test.
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def test_separate_processes_beginning_one_submission_make_one_record(database_url: str) -> None:
    results = await _race(database_url, ["V0SAME"] * 6)

    created = [result["created"] for result in results if "created" in result]
    duplicates = [result["duplicate"] for result in results if "duplicate" in result]
    assert len(created) == 1
    assert duplicates == created * 5
    async with await AuditStore.open(database_url) as store:
        records = await store.query(task_id=TASK)
    assert [record.id for record in records] == created
    assert records[0].outcome is Outcome.PENDING


async def test_separate_processes_submitting_one_task_leave_one_in_flight(database_url: str) -> None:
    results = await _race(database_url, [f"V{n}" for n in range(6)])

    created = [result["created"] for result in results if "created" in result]
    in_flight = [result["in_flight"] for result in results if "in_flight" in result]
    assert len(created) == 1
    assert in_flight == created * 5
