"""SQLite's write lock held by another process: the store waits without stalling the bot."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

import bot.audit.engine
from bot.audit.store import AuditStore, Outcome
from bot.errors import StoreError
from tests.audit.attempts import attempt


@pytest.fixture
async def sqlite_store(sqlite_url: str) -> AsyncIterator[AuditStore]:
    async with await AuditStore.open(sqlite_url) as opened:
        yield opened


@pytest.fixture
def other_process(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    """A connection of its own to the store's file, as another process would hold one."""
    connection = sqlite3.connect(tmp_path / "audit.db", isolation_level=None)
    yield connection
    connection.close()


async def _ticks_while(waiting: asyncio.Task[object], *, beats: int) -> int:
    """How many times the loop ran a short sleep while ``waiting`` stayed unfinished."""
    ticks = 0
    while not waiting.done() and ticks < beats:
        await asyncio.sleep(0.01)
        ticks += 1
    return ticks


async def test_a_write_waits_for_another_process_without_blocking_the_loop(
    sqlite_store: AuditStore, other_process: sqlite3.Connection
) -> None:
    other_process.execute("BEGIN IMMEDIATE")
    writing = asyncio.create_task(sqlite_store.begin(attempt(), lease=timedelta(minutes=1)))

    # The loop keeps running other work while the write waits its turn.
    assert await _ticks_while(writing, beats=20) == 20
    assert not writing.done()

    other_process.execute("COMMIT")
    record = await asyncio.wait_for(writing, timeout=5)
    assert record.outcome is Outcome.PENDING
    assert [found.id for found in await sqlite_store.query()] == [record.id]


async def test_a_read_does_not_wait_for_another_process_writing(
    sqlite_store: AuditStore, other_process: sqlite3.Connection
) -> None:
    kept = await sqlite_store.refuse(attempt(), error_code=None, error_msg="committed")
    other_process.execute("BEGIN IMMEDIATE")
    try:
        assert [record.id for record in await asyncio.wait_for(sqlite_store.query(), timeout=1)] == [kept.id]
    finally:
        other_process.execute("ROLLBACK")


async def test_a_lock_held_past_the_wait_is_a_store_error_that_loses_nothing_written(
    sqlite_store: AuditStore, other_process: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = await sqlite_store.refuse(attempt(), error_code=None, error_msg="before the lock")
    monkeypatch.setattr(bot.audit.engine, "SQLITE_LOCK_WAIT_SECONDS", 0.2)
    other_process.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreError, match="locked"):
            await sqlite_store.refuse(attempt(), error_code=None, error_msg="while locked")
    finally:
        other_process.execute("ROLLBACK")

    # The store goes on once the lock is free, and nothing half-written was left behind.
    after = await sqlite_store.refuse(attempt(), error_code=None, error_msg="after the lock")
    assert [record.id for record in await sqlite_store.query()] == [after.id, kept.id]
