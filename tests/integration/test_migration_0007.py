"""Migration 0007 (web sessions, sign-in counters, form tokens, follow-ups, search text)."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select
from support.builders import message

from inbox_agent.register.db import Register, alembic_config
from inbox_agent.register.models import Base, StoredMessage

pytestmark = pytest.mark.integration
NOW = dt.datetime(2027, 4, 14, 10, 0, tzinfo=dt.UTC)


def _run(register: Register, step: str, revision: str) -> None:
    cfg = alembic_config(register.engine)
    with register.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, step)(cfg, revision)


def test_0007_matches_the_models_and_fills_the_search_text_of_older_mail(db_url: str) -> None:
    register = Register(db_url)
    try:
        with register.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        with register.transaction() as session:
            for n, raw in enumerate(
                (message("Ann <ann@example.com>", "Lights", "Were the STREET lights off?"), b"")
            ):
                session.add(
                    StoredMessage(
                        sha256=f"s{n}",
                        body_sha256="b",
                        raw=raw,
                        size=len(raw),
                        received_at=NOW,
                        disposition="case",
                    )
                )
        _run(register, "downgrade", "0006")
        assert "web_sessions" not in inspect(register.engine).get_table_names()
        _run(register, "upgrade", "head")
        with register.transaction() as session:
            texts = list(
                session.scalars(select(StoredMessage.search_text).order_by(StoredMessage.id))
            )
        assert texts[0] is not None and "were the street lights off?" in texts[0]
        assert texts[1] == "", "no bytes left: nothing to search, and not parsed again"
    finally:
        register.dispose()
