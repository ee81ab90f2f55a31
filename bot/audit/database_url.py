"""``DATABASE_URL`` in the forms operators and platforms write it, turned into the store's drivers."""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot.errors import ConfigError

_SQLITE = "sqlite+pysqlite"
_POSTGRESQL = "postgresql+asyncpg"
_EXAMPLES = "sqlite:///enable-schedule.db or postgresql://user@host:5432/db"


def redacted(url: URL) -> str:
    """The URL with its password hidden, fit for logs and exception messages."""
    return url.render_as_string(hide_password=True)


def driver_url(database_url: str) -> URL:
    """Return ``database_url`` for the store's driver of its database, or raise ConfigError.

    ``postgres://`` (Heroku's spelling) and any PostgreSQL or SQLite driver name are
    accepted; the URL's password never appears in the error.
    """
    try:
        url = make_url(database_url.strip())
    except (ArgumentError, ValueError):
        # Not chained: some SQLAlchemy versions quote the whole URL, password included.
        raise ConfigError(f"DATABASE_URL is not a database URL; write it like {_EXAMPLES}") from None

    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise ConfigError(
                "DATABASE_URL names an in-memory SQLite database, which would lose the audit "
                "trail on exit; give a file path such as sqlite:///enable-schedule.db"
            )
        return url.set(drivername=_SQLITE)
    if backend in ("postgresql", "postgres"):
        return _asyncpg_query(url.set(drivername=_POSTGRESQL))
    raise ConfigError(
        f"DATABASE_URL={redacted(url)} uses {url.drivername!r}; the audit store supports "
        f"SQLite and PostgreSQL, e.g. {_EXAMPLES}"
    )


def _asyncpg_query(url: URL) -> URL:
    # asyncpg takes libpq's sslmode under the name ssl; platforms append sslmode=require.
    if "sslmode" not in url.query:
        return url
    sslmode = url.query["sslmode"]
    return url.difference_update_query(["sslmode"]).update_query_dict({"ssl": sslmode})
