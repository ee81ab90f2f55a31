"""``DATABASE_URL`` forms, and what the store says when one cannot be used."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.audit.database_url import driver_url
from bot.audit.store import AuditStore
from bot.errors import ConfigError, StoreError
from tests.peers.server import free_port

# The prefix keeps a drawn password from being a word the message contains anyway.
_PASSWORDS = st.text(alphabet=string.ascii_letters + string.digits, min_size=8, max_size=24).map(
    lambda tail: f"Zx9{tail}"
)


@pytest.mark.parametrize(
    ("given_url", "expected"),
    [
        ("sqlite:///enable-schedule.db", "sqlite+pysqlite:///enable-schedule.db"),
        ("sqlite:////var/lib/bot/audit.db", "sqlite+pysqlite:////var/lib/bot/audit.db"),
        ("postgresql://bot@db:5432/audit", "postgresql+asyncpg://bot@db:5432/audit"),
        ("postgres://bot@db:5432/audit", "postgresql+asyncpg://bot@db:5432/audit"),
        ("postgresql+asyncpg://bot@db/audit", "postgresql+asyncpg://bot@db/audit"),
        ("postgresql+psycopg2://bot@db/audit", "postgresql+asyncpg://bot@db/audit"),
        ("  postgresql://bot@db/audit\n", "postgresql+asyncpg://bot@db/audit"),
    ],
)
def test_database_urls_are_turned_to_async_drivers(given_url: str, expected: str) -> None:
    assert driver_url(given_url).render_as_string(hide_password=False) == expected


def test_libpq_sslmode_becomes_asyncpgs_ssl() -> None:
    url = driver_url("postgres://bot:pw@db.example.com:5432/audit?sslmode=require")

    assert dict(url.query) == {"ssl": "require"}


@pytest.mark.parametrize(
    "bad_url",
    ["mysql://bot:{password}@db/audit", "not a url :{password}", "postgresql://bot:{password}@db:port/audit"],
)
@given(password=_PASSWORDS)
def test_a_bad_url_is_a_config_error_naming_database_url_but_not_the_password(bad_url: str, password: str) -> None:
    with pytest.raises(ConfigError) as raised:
        driver_url(bad_url.format(password=password))

    assert "DATABASE_URL" in str(raised.value)
    assert password not in str(raised.value)
    assert raised.value.__cause__ is None or password not in str(raised.value.__cause__)


@pytest.mark.parametrize("memory_url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_sqlite_database_is_refused(memory_url: str) -> None:
    with pytest.raises(ConfigError, match="in-memory"):
        driver_url(memory_url)


async def test_an_unreachable_postgresql_port_is_a_store_error_without_the_password() -> None:
    url = f"postgresql://bot:hunter2secret@127.0.0.1:{free_port()}/audit"

    with pytest.raises(StoreError) as raised:
        await AuditStore.open(url)

    assert "127.0.0.1" in str(raised.value)
    assert "hunter2secret" not in str(raised.value)
    assert raised.value.__cause__ is not None


async def test_a_sqlite_file_in_a_missing_folder_is_a_store_error_naming_the_folder(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="not a folder") as raised:
        await AuditStore.open(f"sqlite:///{tmp_path}/no/such/folder/audit.db")

    assert str(tmp_path / "no" / "such" / "folder") in str(raised.value)


async def test_the_heroku_spelling_postgres_opens_a_working_store(postgresql_url: str) -> None:
    heroku_url = postgresql_url.replace("postgresql://", "postgres://", 1)

    async with await AuditStore.open(heroku_url) as store:
        await store.ping()
