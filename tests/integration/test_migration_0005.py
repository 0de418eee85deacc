"""Migration 0005 (roster, publications, cases.person_id) on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from inbox_agent.register.db import Register, alembic_config
from inbox_agent.register.models import Base

pytestmark = pytest.mark.integration


def _run(register: Register, step: str, revision: str) -> None:
    cfg = alembic_config(register.engine)
    with register.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, step)(cfg, revision)


def test_0005_matches_the_models_and_downgrades_cleanly(db_url: str) -> None:
    register = Register(db_url)
    try:
        with register.engine.connect() as conn:
            context = MigrationContext.configure(conn)
            head = ScriptDirectory.from_config(alembic_config(register.engine)).get_current_head()
            assert context.get_current_revision() == head
            assert (
                ScriptDirectory.from_config(alembic_config(register.engine))
                .get_revision("0005")
                .down_revision
                == "0003"
            )
            assert compare_metadata(context, Base.metadata) == []
        _run(register, "downgrade", "0003")
        tables = set(inspect(register.engine).get_table_names())
        assert not tables & {"roster_people", "roster_addresses", "publications"}
        columns = {c["name"] for c in inspect(register.engine).get_columns("cases")}
        assert "person_id" not in columns
        _run(register, "upgrade", "head")
        columns = {c["name"] for c in inspect(register.engine).get_columns("cases")}
        assert "person_id" in columns
    finally:
        register.dispose()
