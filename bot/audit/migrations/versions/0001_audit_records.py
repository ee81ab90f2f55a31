"""Create the audit table.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_PENDING = sa.text("outcome = 'pending'")


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("slack_team", sa.String(64), nullable=False),
        sa.Column("slack_user", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=False),
        sa.Column("identity", sa.String(128), nullable=True),
        sa.Column("task_id", sa.String(64), nullable=False),
        sa.Column("tickets", sa.JSON(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error_code", sa.String(128), nullable=True),
        sa.Column("error_msg", sa.Text(), nullable=True),
        sa.Column("request_id", sa.String(128), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("submission_key", sa.String(255), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("submission_key", name="uq_audit_records_submission_key"),
        sa.CheckConstraint(
            "outcome IN ('pending', 'enabled', 'failed', 'refused', 'unknown')",
            name="ck_audit_records_outcome",
        ),
    )
    op.create_index("ix_audit_records_created_at", "audit_records", ["created_at"])
    op.create_index("ix_audit_records_task_id", "audit_records", ["task_id"])
    # One enable in flight per task, enforced by the database for every process sharing it.
    op.create_index(
        "uq_audit_records_pending_task",
        "audit_records",
        ["task_id"],
        unique=True,
        sqlite_where=_PENDING,
        postgresql_where=_PENDING,
    )


def downgrade() -> None:
    op.drop_table("audit_records")
