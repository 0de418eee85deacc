"""staff accounts for the web UI

Revision ID: 0004
Revises: 0002
Create Date: 2026-11-30 09:00:00.000000

``down_revision`` is 0002, the newest revision when this file was written. 0003 (label
corrections) was written after it and revises 0004, so the chain is 0001 -> 0002 -> 0004 ->
0003 and stays linear; change the two together or not at all.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import inbox_agent.register.models

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", inbox_agent.register.models.CleanText(), nullable=False),
        sa.Column("display_name", inbox_agent.register.models.CleanText(), nullable=False),
        sa.Column("role", inbox_agent.register.models.CleanText(), nullable=False),
        sa.Column("password_hash", inbox_agent.register.models.CleanText(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("session_generation", sa.Integer(), nullable=False),
        sa.Column(
            "created_at", inbox_agent.register.models.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", inbox_agent.register.models.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_login_at", inbox_agent.register.models.UtcDateTime(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )


def downgrade() -> None:
    op.drop_table("web_users")
