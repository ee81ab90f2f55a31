"""A PostgreSQL database of its own for a test, on the server at 127.0.0.1:5432."""

from __future__ import annotations

import asyncio
import getpass
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
import pytest

CANDIDATES = (
    "postgresql://postgres@127.0.0.1:5432/test",
    f"postgresql://{getpass.getuser()}@127.0.0.1:5432/test",
)


async def _reachable() -> tuple[str | None, str]:
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


async def _execute(url: str, statement: str) -> None:
    connection = await asyncpg.connect(url, timeout=5)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def temporary_database() -> Iterator[str]:
    """Yield the URL of a new, empty database; skip the test when PostgreSQL is absent."""
    admin, reason = asyncio.run(_reachable())
    if admin is None:
        pytest.skip(f"PostgreSQL is not reachable on 127.0.0.1:5432 ({reason})")
    name = f"bot_{uuid.uuid4().hex}"
    asyncio.run(_execute(admin, f'CREATE DATABASE "{name}" TEMPLATE template0'))
    try:
        yield f"{admin.rsplit('/', 1)[0]}/{name}"
    finally:
        asyncio.run(_execute(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
