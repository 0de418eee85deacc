"""staff label corrections, kept as labelled examples for the model

Revision ID: 0003
Revises: 0004
Create Date: 2026-11-30 12:00:00.000000

``down_revision`` is the newest revision that existed when this file was written: 0004 (web
users) had already landed on 0002, so the chain is 0001 -> 0002 -> 0004 -> 0003 and stays
linear. Point 0004 at this file only if this one's ``down_revision`` changes with it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import inbox_agent.register.models

revision = "0003"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "label_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("stored_message_id", sa.Integer(), nullable=False),
        sa.Column("old_category", inbox_agent.register.models.CleanText(), nullable=False),
        sa.Column("new_category", inbox_agent.register.models.CleanText(), nullable=False),
        sa.Column("user", inbox_agent.register.models.CleanText(), nullable=False),
        sa.Column("at", inbox_agent.register.models.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["stored_message_id"], ["stored_messages.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("label_corrections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_label_corrections_case_id"), ["case_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_label_corrections_stored_message_id"),
            ["stored_message_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("label_corrections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_label_corrections_stored_message_id"))
        batch_op.drop_index(batch_op.f("ix_label_corrections_case_id"))
    op.drop_table("label_corrections")
