"""alert state and raw-mail retention

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import inbox_agent.register.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", inbox_agent.register.models.CleanText(), nullable=False),
        sa.Column(
            "failing_since", inbox_agent.register.models.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column("last_error", inbox_agent.register.models.CleanText(), nullable=True),
        sa.Column(
            "raised_at", inbox_agent.register.models.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "recovered_at", inbox_agent.register.models.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "updated_at", inbox_agent.register.models.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("stored_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "raw_deleted_at",
                inbox_agent.register.models.UtcDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("stored_messages", schema=None) as batch_op:
        batch_op.drop_column("raw_deleted_at")

    op.drop_table("alert_state")
