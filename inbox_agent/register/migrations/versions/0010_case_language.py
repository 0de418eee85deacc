"""cases.language: the requester's language preference (Welsh Language Standards)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 14:00:00.000000

"cy" (Welsh), "en" (English) or "" (not known): what the acknowledgement was written in, and
what the requester's next message is answered in when its own language cannot be told.
Existing cases get "" (not known).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import inbox_agent.register.models

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_text = inbox_agent.register.models.CleanText


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("language", _text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("language")
