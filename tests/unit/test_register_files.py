"""The SQLite register holds every requester's mail: only the service user may read it."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from inbox_agent.register.db import Register


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask, as a careless shell or service manager might leave it."""
    previous = os.umask(0o000)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_new_register_and_its_directories_are_private(tmp_path: Path) -> None:
    db = tmp_path / "state" / "inbox-agent" / "register.sqlite3"
    reg = Register(f"sqlite:///{db}")
    try:
        with reg.transaction() as s:
            s.execute(text("CREATE TABLE probe (x)"))  # the -wal file exists while open
        assert _mode(db) == 0o600
        assert _mode(db.parent) == 0o700 and _mode(db.parent.parent) == 0o700
        wal = db.with_name(db.name + "-wal")
        assert wal.exists() and _mode(wal) == 0o600  # SQLite copies the database's mode
    finally:
        reg.dispose()


@pytest.mark.usefixtures("open_umask")
def test_existing_files_and_directories_are_left_as_the_operator_made_them(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o750)
    shared.chmod(0o750)
    db = shared / "register.sqlite3"
    db.touch()
    db.chmod(0o640)  # e.g. group-readable for a backup user, chosen deliberately
    reg = Register(f"sqlite:///{db}")
    reg.dispose()
    assert _mode(shared) == 0o750 and _mode(db) == 0o640


def test_memory_database_needs_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    reg = Register("sqlite://")
    reg.dispose()
    assert list(tmp_path.iterdir()) == []
