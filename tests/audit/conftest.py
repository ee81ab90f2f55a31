"""Every audit test runs twice: on a SQLite file and on a fresh PostgreSQL database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.audit.store import AuditStore
from tests.postgres import admin_url_or_skip, new_database


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """A URL of the ``test`` database, or a skip saying why PostgreSQL cannot be used."""
    return admin_url_or_skip()


@pytest.fixture
async def postgresql_url(postgres_admin_url: str) -> AsyncIterator[str]:
    """A database of its own for one test."""
    async with new_database(postgres_admin_url, prefix="audit") as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'audit.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[AuditStore]:
    async with await AuditStore.open(database_url) as opened:
        yield opened
