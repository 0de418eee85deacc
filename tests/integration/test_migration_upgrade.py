"""A register created by the first release upgrades to the newest schema with its data.

SQLite rebuilds a table to alter it; with foreign keys enforced, dropping ``cases`` while
messages, emails and audit events point at it failed, so an office upgrading from 0001 could
not start. The register is filled by the real pipeline, taken back to 0001, and upgraded.
"""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import func, select, text
from support.builders import HUMAN, maildir_settings, message

from inbox_agent.pipeline import Pipeline
from inbox_agent.register.db import Register, alembic_config
from inbox_agent.register.models import AuditEvent, Case, OutboxMessage, StoredMessage

pytestmark = pytest.mark.integration
TABLES = (Case, StoredMessage, OutboxMessage, AuditEvent)


def _counts(register: Register) -> dict[str, int]:
    with register.transaction() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in TABLES
        }


def _downgrade_to_first_release(register: Register) -> None:
    """As the old release left it; keys off so SQLite can rebuild tables going down too."""
    cfg = alembic_config(register.engine)
    with register.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    register.engine.dispose()


def test_a_first_release_register_upgrades_with_its_cases(db_url: str, tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "inbox", create=True)
    for sender, subject, body in HUMAN:
        box.add(message(sender, subject, body))
    register = Register(db_url)
    try:
        Pipeline(maildir_settings(db_url, tmp_path / "inbox"), register).run_once()
        before = _counts(register)
        assert before["cases"] == len(HUMAN) and before["outbox"] >= len(HUMAN)
        _downgrade_to_first_release(register)
    finally:
        register.dispose()

    upgraded = Register(db_url)  # what the new release does at start-up
    try:
        assert _counts(upgraded) == before
        with upgraded.engine.connect() as conn:
            head = ScriptDirectory.from_config(alembic_config(upgraded.engine)).get_current_head()
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            assert version == head
            if conn.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
                # connections handed out after the upgrade enforce the keys again
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        upgraded.dispose()
