"""roster of candidates and agents, publications for the disclosure log, case -> person

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-01 09:00:00.000000

``down_revision`` is 0003, the newest revision when this file was written: the chain is
0001 -> 0002 -> 0004 -> 0003 -> 0005 (0004, web users, landed before 0003, label corrections).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import inbox_agent.register.models

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None

_text = inbox_agent.register.models.CleanText
_time = inbox_agent.register.models.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "roster_people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", _text(), nullable=False),
        sa.Column("role", _text(), nullable=False),
        sa.Column("party", _text(), nullable=False),
        sa.Column("independent", sa.Boolean(), nullable=False),
        sa.Column("incumbent", sa.Boolean(), nullable=False),
        sa.Column("deputy", sa.Boolean(), nullable=False),
        sa.Column("acts_for_id", sa.Integer(), nullable=True),
        sa.Column("postal_address", _text(), nullable=False),
        sa.Column("phone", _text(), nullable=False),
        sa.Column("source", _text(), nullable=False),
        sa.Column("source_date", sa.Date(), nullable=True),
        sa.Column("created_at", _time(timezone=True), nullable=False),
        sa.Column("updated_at", _time(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["acts_for_id"], ["roster_people.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "roster_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("email", _text(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["roster_people.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("person_id", "email"),
    )
    with op.batch_alter_table("roster_addresses", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_roster_addresses_email"), ["email"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_roster_addresses_person_id"), ["person_id"], unique=False
        )
    op.create_table(
        "publications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("decision", _text(), nullable=False),
        sa.Column("question", _text(), nullable=False),
        sa.Column("answer", _text(), nullable=False),
        sa.Column("reason", _text(), nullable=True),
        sa.Column("approved_by", _text(), nullable=False),
        sa.Column("approved_at", _time(timezone=True), nullable=False),
        sa.Column("published_on", sa.Date(), nullable=True),
        sa.Column("updated_at", _time(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("case_id"),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_cases_person_id"), ["person_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_cases_person_id_roster_people", "roster_people", ["person_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_constraint("fk_cases_person_id_roster_people", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_cases_person_id"))
        batch_op.drop_column("person_id")
    op.drop_table("publications")
    with op.batch_alter_table("roster_addresses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roster_addresses_person_id"))
        batch_op.drop_index(batch_op.f("ix_roster_addresses_email"))
    op.drop_table("roster_addresses")
    op.drop_table("roster_people")
