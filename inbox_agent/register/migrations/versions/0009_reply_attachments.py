"""reply attachments: uploaded files, their inspection findings, the second approval

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-03 14:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import inbox_agent.register.models

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None

_text = inbox_agent.register.models.CleanText
_json = inbox_agent.register.models.CleanJSON
_time = inbox_agent.register.models.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "reply_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("filename", _text(), nullable=False),
        sa.Column("content_type", _text(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", _text(), nullable=False),
        sa.Column("verdict", _text(), nullable=False),
        sa.Column("findings", _json(), nullable=False),
        sa.Column("uploaded_by", _text(), nullable=False),
        sa.Column("uploaded_at", _time(timezone=True), nullable=False),
        sa.Column("approved_by", _text(), nullable=True),
        sa.Column("approved_at", _time(timezone=True), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("removed_at", _time(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("reply_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reply_attachments_case_id"), ["case_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reply_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reply_attachments_case_id"))
    op.drop_table("reply_attachments")
