"""web sessions, sign-in throttle, reply form tokens; follow-up flag, staff email, search text

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 13:30:00.000000

Chained after 0006 (statutory casework), which reached main first.

Messages stored before this revision get their search text here (parsed from the raw bytes,
in batches), so the queue's search finds words in every message of an upgraded register too.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import inbox_agent.register.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_text = inbox_agent.register.models.CleanText
_json = inbox_agent.register.models.CleanJSON
_time = inbox_agent.register.models.UtcDateTime


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_sha256", _text(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client", _text(), nullable=False),
        sa.Column("created_at", _time(timezone=True), nullable=False),
        sa.Column("last_seen_at", _time(timezone=True), nullable=False),
        sa.Column("ended_at", _time(timezone=True), nullable=True),
        sa.Column("ended_because", _text(), nullable=True),
        sa.Column("resume", _json(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["web_users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_sha256"),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_user_id"), ["user_id"], unique=False)
    op.create_table(
        "login_throttle",
        sa.Column("key", _text(), nullable=False),
        sa.Column("username", _text(), nullable=False),
        sa.Column("client", _text(), nullable=False),
        sa.Column("window_start", _time(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_attempt_at", _time(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "web_form_tokens",
        sa.Column("token", _text(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("actor", _text(), nullable=False),
        sa.Column("used_at", _time(timezone=True), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"]),
        sa.PrimaryKeyConstraint("token"),
    )
    with op.batch_alter_table("web_form_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_form_tokens_case_id"), ["case_id"], unique=False)
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(sa.Column("new_reply_at", _time(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_cases_new_reply_at"), ["new_reply_at"], unique=False)
    with op.batch_alter_table("web_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", _text(), nullable=False, server_default=""))
    with op.batch_alter_table("stored_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_text", _text(), nullable=True))
    _fill_search_text()


BATCH = 200


def _fill_search_text() -> None:
    """The plain text of every stored message that still has its bytes, lower-cased."""
    from inbox_agent.errors import InboxAgentError
    from inbox_agent.parse import parse_message
    from inbox_agent.register.models import SEARCH_TEXT_MAX

    conn = op.get_bind()
    messages = sa.table(
        "stored_messages",
        sa.column("id", sa.Integer()),
        sa.column("raw", sa.LargeBinary()),
        sa.column("search_text", _text()),
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(messages.c.id, messages.c.raw)
            .where(messages.c.id > last, messages.c.search_text.is_(None))
            .order_by(messages.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        for message_id, raw in rows:
            last = message_id
            try:
                words = parse_message(bytes(raw)).text.lower()[:SEARCH_TEXT_MAX] if raw else ""
            except (InboxAgentError, RecursionError, ValueError):
                words = ""  # unreadable mail stays findable by its case's columns
            conn.execute(
                sa.update(messages).where(messages.c.id == message_id).values(search_text=words)
            )


def downgrade() -> None:
    with op.batch_alter_table("stored_messages", schema=None) as batch_op:
        batch_op.drop_column("search_text")
    with op.batch_alter_table("web_users", schema=None) as batch_op:
        batch_op.drop_column("email")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cases_new_reply_at"))
        batch_op.drop_column("new_reply_at")
    with op.batch_alter_table("web_form_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_form_tokens_case_id"))
    op.drop_table("web_form_tokens")
    op.drop_table("login_throttle")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_user_id"))
    op.drop_table("web_sessions")
