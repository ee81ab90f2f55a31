"""Every audit test runs twice: on a SQLite file and on a fresh PostgreSQL database."""

from __future__ import annotations

import asyncio
import getpass
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from bot.audit.store import AuditStore

POSTGRES_CANDIDATES = (
    "postgresql://postgres@127.0.0.1:5432/test",
    f"postgresql://{getpass.getuser()}@127.0.0.1:5432/test",
)


async def _first_reachable() -> tuple[str | None, str]:
    reasons = []
    for url in POSTGRES_CANDIDATES:
        try:
            connection = await asyncpg.connect(url, timeout=5)
        except (OSError, asyncpg.PostgresError) as exc:
            reasons.append(f"{url}: {exc}")
            continue
        await connection.close()
        return url, ""
    return None, "; ".join(reasons)


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """A URL of the ``test`` database, or a skip saying why PostgreSQL cannot be used."""
    url, reason = asyncio.run(_first_reachable())
    if url is None:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432 ({reason})")
    return url


@pytest.fixture
async def postgresql_url(postgres_admin_url: str) -> AsyncIterator[str]:
    """A database of its own for one test, dropped afterwards, so runs never see each other."""
    name = f"audit_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(postgres_admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    finally:
        await admin.close()
    base = postgres_admin_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        admin = await asyncpg.connect(postgres_admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


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
