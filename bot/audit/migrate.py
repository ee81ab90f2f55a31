"""Bring the audit schema to the newest revision, from code: no alembic.ini on disk."""

from __future__ import annotations

import asyncio
import logging
import weakref
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.audit.engine import Database

logger = logging.getLogger(__name__)

VERSION_TABLE = "audit_alembic_version"
"""Named for the store so that a database shared with other software keeps them apart."""

MIGRATIONS = Path(__file__).with_name("migrations")

# Any constant will do, as long as every bot process uses the same one.
_POSTGRESQL_LOCK_KEY = 0x6175646974  # "audit"

# Alembic keeps the migration it is running in module state, so within one process only
# one store may migrate at a time, whichever database it is on.
_migrating: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config(attributes={"connection": connection})
    # Options pass through configparser, which reads % as interpolation.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    return config


async def upgrade(database: Database) -> None:
    """Run every migration not yet applied, in one transaction.

    Processes starting together take turns: PostgreSQL through an advisory lock held until
    the transaction ends, SQLite through the write lock its engine takes at BEGIN.
    """
    lock = _migrating.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        await database.write(_upgrade)


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _POSTGRESQL_LOCK_KEY})
    command.upgrade(alembic_config(connection), "head")
    logger.debug("Audit schema is at the newest revision")
