"""The shipped migrations: what they create, and that running them again changes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import insert, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from bot.audit.database_url import driver_url
from bot.audit.engine import Database, open_database
from bot.audit.migrate import VERSION_TABLE, alembic_config
from bot.audit.schema import audit_records
from bot.audit.store import AuditStore
from tests.audit.attempts import attempt

AUDIT_COLUMNS = {
    "id",
    "created_at",
    "finished_at",
    "slack_team",
    "slack_user",
    "channel",
    "identity",
    "task_id",
    "tickets",
    "outcome",
    "error_code",
    "error_msg",
    "request_id",
    "note",
    "submission_key",
    "lease_until",
}


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = open_database(driver_url(database_url))
    yield database
    await database.dispose()


async def _inspect(database: Database, look: Any) -> Any:
    return await database.read(lambda connection: look(inspect(connection)))


async def _versions(database: Database) -> list[str]:
    rows = await database.read(
        lambda connection: connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()
    )
    return [row[0] for row in rows]


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def test_opening_a_fresh_database_creates_the_audit_schema(database_url: str, database: Database) -> None:
    assert "audit_records" not in await _inspect(database, lambda i: i.get_table_names())

    await (await AuditStore.open(database_url)).close()

    tables = await _inspect(database, lambda i: i.get_table_names())
    assert {"audit_records", VERSION_TABLE} <= set(tables)
    assert await _versions(database) == [_head()]


async def test_pending_records_are_unique_per_task_by_a_partial_index(database_url: str, database: Database) -> None:
    await (await AuditStore.open(database_url)).close()

    indexes = {index["name"]: index for index in await _inspect(database, lambda i: i.get_indexes("audit_records"))}

    pending = indexes["uq_audit_records_pending_task"]
    assert pending["unique"]
    assert pending["column_names"] == ["task_id"]
    (where,) = [str(value) for name, value in pending["dialect_options"].items() if name.endswith("_where")]
    assert "outcome" in where
    assert "pending" in where


async def test_the_database_itself_refuses_a_second_pending_record_of_a_task(
    database_url: str, database: Database
) -> None:
    await (await AuditStore.open(database_url)).close()
    row = {
        "created_at": datetime.now(UTC),
        "slack_team": "T",
        "slack_user": "U",
        "channel": "C",
        "task_id": "ST" + "A" * 24,
        "tickets": [],
    }

    def two_enabled_and_one_pending(connection: Connection) -> None:
        connection.execute(insert(audit_records), [{**row, "outcome": "enabled"}] * 2)
        connection.execute(insert(audit_records), {**row, "outcome": "pending"})

    await database.write(two_enabled_and_one_pending)

    with pytest.raises(IntegrityError):
        await database.write(
            lambda connection: connection.execute(insert(audit_records), {**row, "outcome": "pending"})
        )


async def test_a_second_open_migrates_nothing_and_keeps_the_records(database_url: str, database: Database) -> None:
    async with await AuditStore.open(database_url) as store:
        kept = await store.refuse(attempt(), error_code=None, error_msg="before the second open")

    async with await AuditStore.open(database_url) as store:
        assert await store.get(kept.id) == kept

    assert await _versions(database) == [_head()]


async def test_bot_processes_starting_together_all_open_the_store(database_url: str, database: Database) -> None:
    stores = await asyncio.gather(*(AuditStore.open(database_url) for _ in range(4)))
    for store in stores:
        await store.close()

    assert await _versions(database) == [_head()]


async def test_the_migrated_table_has_the_columns_the_store_queries(database_url: str, database: Database) -> None:
    await (await AuditStore.open(database_url)).close()

    columns = await _inspect(database, lambda i: i.get_columns("audit_records"))

    assert {column["name"] for column in columns} == {column.name for column in audit_records.columns}
    nullable = {column["name"]: column["nullable"] for column in columns}
    assert {name: nullable[name] for name in ("created_at", "task_id", "outcome", "tickets")} == dict.fromkeys(
        ("created_at", "task_id", "outcome", "tickets"), False
    )


async def test_no_column_can_hold_a_secret(database_url: str, database: Database) -> None:
    await (await AuditStore.open(database_url)).close()

    def all_columns(inspector: Any) -> dict[str, set[str]]:
        return {table: {c["name"] for c in inspector.get_columns(table)} for table in inspector.get_table_names()}

    tables = await _inspect(database, all_columns)

    # Any new column has to be added here on purpose, after asking whether it could hold a
    # key, token, signature or request body.
    assert tables == {"audit_records": AUDIT_COLUMNS, VERSION_TABLE: {"version_num"}}


def test_alembic_finds_the_migrations_without_an_ini_file() -> None:
    config = alembic_config()

    assert config.config_file_name is None
    assert [script.revision for script in ScriptDirectory.from_config(config).walk_revisions()] == [_head()]


def test_alembic_refuses_to_run_without_a_lent_connection() -> None:
    with pytest.raises(RuntimeError, match="lends a connection"):
        command.upgrade(alembic_config(), "head")
