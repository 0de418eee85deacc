"""Migrations 0006 (clock events, reminders, outcome and review columns) and 0009 (reply
attachments), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from inbox_agent.register.db import Register, alembic_config
from inbox_agent.register.models import Base

pytestmark = pytest.mark.integration

NEW_COLUMNS = {"outcome", "exemptions", "responded_on", "clock_started_on", "review_of_id"}


def _run(register: Register, step: str, revision: str) -> None:
    cfg = alembic_config(register.engine)
    with register.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, step)(cfg, revision)


def test_0006_matches_the_models_and_downgrades_cleanly(db_url: str) -> None:
    register = Register(db_url)
    try:
        with register.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        _run(register, "downgrade", "0006")
        assert "reply_attachments" not in set(inspect(register.engine).get_table_names())
        _run(register, "downgrade", "0005")
        tables = set(inspect(register.engine).get_table_names())
        assert not tables & {"clock_events", "reminders_sent"}
        columns = {c["name"] for c in inspect(register.engine).get_columns("cases")}
        assert not columns & NEW_COLUMNS
        _run(register, "upgrade", "head")
        columns = {c["name"] for c in inspect(register.engine).get_columns("cases")}
        assert columns >= NEW_COLUMNS
        assert "reply_attachments" in set(inspect(register.engine).get_table_names())
    finally:
        register.dispose()
