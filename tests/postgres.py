"""PostgreSQL databases of their own for tests, on the server at 127.0.0.1:5432."""

from __future__ import annotations

import asyncio
import getpass
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import asyncpg
import pytest

CANDIDATES = (
    "postgresql://postgres@127.0.0.1:5432/test",
    f"postgresql://{getpass.getuser()}@127.0.0.1:5432/test",
)


async def reachable() -> tuple[str | None, str]:
    """The first candidate URL that connects, or ``None`` and why none did."""
    reasons = []
    for url in CANDIDATES:
        try:
            connection = await asyncpg.connect(url, timeout=5)
        except (OSError, asyncpg.PostgresError) as exc:
            reasons.append(f"{url}: {exc}")
            continue
        await connection.close()
        return url, ""
    return None, "; ".join(reasons)


def admin_url_or_skip() -> str:
    url, reason = asyncio.run(reachable())
    if url is None:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432 ({reason})")
    return url


async def _execute(url: str, statement: str) -> None:
    connection = await asyncpg.connect(url, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def create_database(admin: str, prefix: str = "bot") -> str:
    name = f"{prefix}_{uuid.uuid4().hex}"
    await _execute(admin, f'CREATE DATABASE "{name}" TEMPLATE template0')
    return f"{admin.rsplit('/', 1)[0]}/{name}"


async def drop_database(admin: str, url: str) -> None:
    await _execute(admin, f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


@asynccontextmanager
async def new_database(admin: str, prefix: str = "bot") -> AsyncIterator[str]:
    """Yield the URL of a new, empty database, dropped afterwards, so runs never see each other."""
    url = await create_database(admin, prefix)
    try:
        yield url
    finally:
        await drop_database(admin, url)


@contextmanager
def temporary_database() -> Iterator[str]:
    """:func:`new_database` for synchronous tests; skips the test when PostgreSQL is absent."""
    admin = admin_url_or_skip()
    url = asyncio.run(create_database(admin))
    try:
        yield url
    finally:
        asyncio.run(drop_database(admin, url))
