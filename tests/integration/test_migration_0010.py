"""Migration 0010 (cases.language) on SQLite and PostgreSQL: old cases become "not known"."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from inbox_agent.register.db import Register, alembic_config
from inbox_agent.register.models import Base

pytestmark = pytest.mark.integration


def _run(register: Register, step: str, revision: str) -> None:
    cfg = alembic_config(register.engine)
    with register.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, step)(cfg, revision)


def _columns(register: Register) -> set[str]:
    return {c["name"] for c in inspect(register.engine).get_columns("cases")}


def test_0010_matches_the_models_and_fills_old_cases_with_unknown(db_url: str) -> None:
    register = Register(db_url)
    try:
        with register.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        _run(register, "downgrade", "0009")
        assert "language" not in _columns(register)
        with register.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO cases (reference, status, category, confidence,"
                    " classifier_version, classification_reasons, needs_review, date_of_contact,"
                    " requester_name, requester_email, requester_type, method_of_contact,"
                    " subject, information_sought, date_added_to_register, updated_at,"
                    " exemptions) VALUES ('OLD-2026-0001', 'new', 'foi_request', 0.9, 'v', '[]',"
                    " false, '2026-04-01 09:00:00', '', 'a@example.org', 'public', 'email', '',"
                    " '', '2026-04-01 09:00:00', '2026-04-01 09:00:00', '[]')"
                )
            )
        _run(register, "upgrade", "head")
        assert "language" in _columns(register)
        with register.engine.connect() as conn:
            assert conn.execute(text("SELECT language FROM cases")).scalar_one() == ""
    finally:
        register.dispose()
