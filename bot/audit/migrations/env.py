"""Alembic's entry point, run by :func:`bot.audit.migrate.upgrade` on a connection it lends."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from bot.audit.migrate import VERSION_TABLE
from bot.audit.schema import metadata

connection = context.config.attributes.get("connection")
if not isinstance(connection, Connection):
    raise RuntimeError("the audit migrations run only through bot.audit.migrate.upgrade, which lends a connection")

context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
