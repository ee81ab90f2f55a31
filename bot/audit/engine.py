"""Where the audit store's transactions run, tuned so several bot processes can share them.

Each transaction is a plain function of a SQLAlchemy ``Connection``, run whole:

- SQLite through the standard ``sqlite3`` driver, on the event loop itself. An async SQLite
  driver hands every statement, cursor and commit to a thread and back, which costs several
  times the SQL; a thread per transaction instead contends with the loop for the GIL.
- PostgreSQL through asyncpg, also on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

logger = logging.getLogger(__name__)

SQLITE_LOCK_WAIT_SECONDS = 15.0
"""How long a transaction waits for another process to release SQLite's write lock."""
_FIRST_PAUSE_SECONDS = 0.002
_LONGEST_PAUSE_SECONDS = 0.1
POSTGRESQL_CONNECT_TIMEOUT_S = 10
_READ_ONLY = "audit_read_only"
"""An execution option: on SQLite, a transaction that only reads takes no write lock."""

T = TypeVar("T")
Work = Callable[[Connection], T]


class Database(ABC):
    """Runs the store's transactions; create one with :func:`open_database`."""

    @abstractmethod
    async def write(self, work: Work[T]) -> T:
        """Run ``work`` in a transaction that commits when it returns and rolls back when it raises."""

    @abstractmethod
    async def read(self, work: Work[T]) -> T:
        """Run ``work``, which only reads, in a transaction that takes no write lock."""

    @abstractmethod
    async def dispose(self) -> None:
        """Close every connection."""


def open_database(url: URL) -> Database:
    """A database for ``url``, which :func:`bot.audit.database_url.driver_url` produced."""
    if url.get_backend_name() == "sqlite":
        return _SqliteDatabase(url)
    return _AsyncDatabase(
        create_async_engine(url, pool_pre_ping=True, connect_args={"timeout": POSTGRESQL_CONNECT_TIMEOUT_S})
    )


class _AsyncDatabase(Database):
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def write(self, work: Work[T]) -> T:
        async with self._engine.begin() as connection:
            return await connection.run_sync(work)

    async def read(self, work: Work[T]) -> T:
        # The connection rolls back what it began when it closes.
        async with self._engine.connect() as connection:
            return await connection.run_sync(work)

    async def dispose(self) -> None:
        await self._engine.dispose()


class _SqliteDatabase(Database):
    """SQLite on the event loop, through one writing and one reading connection.

    A transaction of the store takes a fraction of a millisecond, less than handing it to a
    thread would cost. It never waits on SQLite's lock inside the driver, which would stall
    the loop: a transaction that finds another process holding the write lock gives way,
    sleeps without blocking, and tries again for up to ``SQLITE_LOCK_WAIT_SECONDS``.
    """

    def __init__(self, url: URL) -> None:
        self._engine = _sqlite_engine(url)
        self._connections: dict[bool, Connection] = {}

    async def write(self, work: Work[T]) -> T:
        return await self._run(work, read_only=False)

    async def read(self, work: Work[T]) -> T:
        return await self._run(work, read_only=True)

    async def dispose(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()
        self._engine.dispose()

    async def _run(self, work: Work[T], *, read_only: bool) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SQLITE_LOCK_WAIT_SECONDS
        pause = _FIRST_PAUSE_SECONDS
        while True:
            try:
                return self._transaction(work, read_only=read_only)
            except _Locked as locked:
                if loop.time() + pause > deadline:
                    raise locked.error from None
            await asyncio.sleep(pause)
            pause = min(pause * 2, _LONGEST_PAUSE_SECONDS)

    def _transaction(self, work: Work[T], *, read_only: bool) -> T:
        connection = self._connection(read_only)
        began = False
        try:
            with connection.begin():
                began = True
                return work(connection)
        except OperationalError as exc:
            # Nothing was written when BEGIN itself found the lock taken, and a read can always
            # be repeated.
            if _locked(exc) and (read_only or not began):
                raise _Locked(exc) from exc
            raise
        finally:
            if connection.invalidated or connection.in_transaction():
                # The failure left it unusable; the next transaction opens a fresh one.
                self._drop(read_only)

    def _connection(self, read_only: bool) -> Connection:
        connection = self._connections.get(read_only)
        if connection is None:
            engine = self._engine.execution_options(**{_READ_ONLY: True}) if read_only else self._engine
            connection = self._connections[read_only] = engine.connect()
        return connection

    def _drop(self, read_only: bool) -> None:
        connection = self._connections.pop(read_only, None)
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()


class _Locked(Exception):
    """Another process holds SQLite's write lock; the transaction did nothing and may be tried again."""

    def __init__(self, error: OperationalError) -> None:
        super().__init__(str(error))
        self.error = error


_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


def _locked(exc: OperationalError) -> bool:
    # The low byte is the primary code; the rest tells extended ones such as SQLITE_BUSY_RECOVERY.
    code = getattr(exc.orig, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)


def _sqlite_engine(url: URL) -> Engine:
    # Two connections, one writing and one reading, each held for the store's life.
    engine = create_sync_engine(url, pool_size=2, max_overflow=0)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own BEGIN handling is switched off so that _on_begin decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Switching to WAL waits on another process that is creating the schema, so only this
        # step, once per connection, may wait inside the driver.
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_LOCK_WAIT_SECONDS * 1000)}")
        (mode,) = cursor.execute("PRAGMA journal_mode = WAL").fetchone()
        if str(mode).lower() == "wal":
            cursor.execute("PRAGMA busy_timeout = 0")
        else:
            # Without WAL a reader blocks a commit, which only the driver's own wait gets past.
            logger.warning("SQLite refused WAL mode (journal mode %s); writes may stall other requests", mode)
        # In WAL mode NORMAL survives a crash of the process; only a power cut may lose the
        # last commits, where FULL would fsync on every one of them.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(_READ_ONLY):
            connection.exec_driver_sql("BEGIN")
            return
        # IMMEDIATE takes the write lock up front, so a transaction that cannot have it fails
        # at once, before it has done anything, instead of failing later on lock upgrade.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
