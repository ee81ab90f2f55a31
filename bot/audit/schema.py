"""The audit table as the store queries it; ``migrations/`` creates and evolves it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)

# Column widths; the store clips free text from Slack and COC to fit, so that PostgreSQL
# never refuses a row the bot must keep.
ID_LENGTH = 64
NAME_LENGTH = 128
KEY_LENGTH = 255
ERROR_MSG_LENGTH = 2000
NOTE_LENGTH = 500

PENDING_WHERE = text("outcome = 'pending'")


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that goes in as UTC and always comes back timezone-aware.

    SQLite keeps no offset, so every value is converted to UTC before it is written; the
    fixed-width text it is stored as then sorts and compares in time order.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"audit timestamps must be timezone-aware, got naive {value.isoformat()}")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = MetaData()

audit_records = Table(
    "audit_records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime(), nullable=True),
    Column("slack_team", String(ID_LENGTH), nullable=False),
    Column("slack_user", String(ID_LENGTH), nullable=False),
    Column("channel", String(ID_LENGTH), nullable=False),
    Column("identity", String(NAME_LENGTH), nullable=True),
    Column("task_id", String(ID_LENGTH), nullable=False),
    Column("tickets", JSON, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("error_code", String(NAME_LENGTH), nullable=True),
    Column("error_msg", Text, nullable=True),
    Column("request_id", String(NAME_LENGTH), nullable=True),
    Column("note", Text, nullable=True),
    Column("submission_key", String(KEY_LENGTH), nullable=True),
    Column("lease_until", UtcDateTime(), nullable=True),
    UniqueConstraint("submission_key", name="uq_audit_records_submission_key"),
    CheckConstraint(
        "outcome IN ('pending', 'enabled', 'failed', 'refused', 'unknown')",
        name="ck_audit_records_outcome",
    ),
    Index("ix_audit_records_created_at", "created_at"),
    Index("ix_audit_records_task_id", "task_id"),
    Index(
        "uq_audit_records_pending_task",
        "task_id",
        unique=True,
        sqlite_where=PENDING_WHERE,
        postgresql_where=PENDING_WHERE,
    ),
)
"""One row per attempt. There is deliberately no column for any credential or request body."""
