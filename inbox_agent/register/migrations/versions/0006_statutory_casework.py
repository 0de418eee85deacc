"""statutory casework: clock events, outcome and exemptions, internal review link, reminders

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 13:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import inbox_agent.register.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_text = inbox_agent.register.models.CleanText
_json = inbox_agent.register.models.CleanJSON
_time = inbox_agent.register.models.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "clock_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", _text(), nullable=False),
        sa.Column("on", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("reason", _text(), nullable=False),
        sa.Column("actor", _text(), nullable=False),
        sa.Column("at", _time(timezone=True), nullable=False),
        sa.Column("due_after", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("clock_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_clock_events_case_id"), ["case_id"], unique=False)
    op.create_table(
        "reminders_sent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", _text(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", _text(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("at", _time(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("reminders_sent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminders_sent_case_id"), ["case_id"], unique=False)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("outcome", _text(), nullable=True))
        batch_op.add_column(
            sa.Column("exemptions", _json(), nullable=False, server_default=sa.text("'[]'"))
        )
        batch_op.add_column(sa.Column("responded_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("clock_started_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("review_of_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_cases_review_of_id"), ["review_of_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_cases_review_of_id_cases", "cases", ["review_of_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint("fk_cases_review_of_id_cases", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_cases_review_of_id"))
        for column in ("review_of_id", "clock_started_on", "responded_on", "exemptions", "outcome"):
            batch_op.drop_column(column)
    with op.batch_alter_table("reminders_sent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminders_sent_case_id"))
    op.drop_table("reminders_sent")
    with op.batch_alter_table("clock_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_clock_events_case_id"))
    op.drop_table("clock_events")
