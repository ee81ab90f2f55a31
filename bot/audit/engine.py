"""The async engine behind the audit store, tuned so several bot processes can share it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

SQLITE_BUSY_TIMEOUT_MS = 15_000
READ_ONLY = "audit_read_only"
"""An execution option: on SQLite, a transaction that only reads takes no write lock."""
POSTGRESQL_CONNECT_TIMEOUT_S = 10


def create_engine(url: URL) -> AsyncEngine:
    """An engine for ``url``, which :func:`bot.audit.database_url.async_url` produced."""
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_async_engine(
        url,
        pool_pre_ping=True,
        connect_args={"timeout": POSTGRESQL_CONNECT_TIMEOUT_S},
    )


def _sqlite_engine(url: URL) -> AsyncEngine:
    # SQLite lets one writer in at a time. One connection per process queues writes in the
    # pool, in order, instead of letting many connections spin in busy-timeout sleeps.
    engine = create_async_engine(url, pool_size=1, max_overflow=0, pool_timeout=60)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # The driver's own BEGIN handling is switched off so that _on_begin decides.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # The busy timeout goes first: switching to WAL itself waits on another process.
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        # In WAL mode NORMAL survives a crash of the process; only a power cut may lose the
        # last commits, where FULL would fsync on every one of them.
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
            return
        # IMMEDIATE takes the write lock up front, so a transaction that reads and then
        # writes waits its turn under the busy timeout instead of failing on lock upgrade.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine
