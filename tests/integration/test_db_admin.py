"""``db status | upgrade | backup``, a register newer than the code, and restoring a backup.

SQLite and a real PostgreSQL. The register is filled by a real pass over the demo Maildir;
restore follows README "Backups and restore" (a copy of the SQLite file; ``pg_restore`` into
a fresh database), and the restored register is read back through the command line.
"""

from __future__ import annotations

import shutil
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
from servers import PostgresServer
from sqlalchemy import func, select, text
from support.builders import INBOX, base_config, write_profile

from inbox_agent.cli import main
from inbox_agent.register.db import Register, make_engine, schema_state
from inbox_agent.register.models import Case

ROOT = Path(__file__).resolve().parents[2]
DEMO_CASES = 9
pytestmark = pytest.mark.integration


def _profile(tmp_path: Path, db_url: str) -> Path:
    shutil.copytree(ROOT / "demo" / "maildir", tmp_path / "maildir", dirs_exist_ok=True)
    data = base_config(db_url)
    data["maildir"] = {"path": str(tmp_path / "maildir")}
    data["smtp"] = {
        "deliver": "maildir",
        "maildir_path": str(tmp_path / "outbox"),
        "from_address": INBOX,
    }
    return write_profile(tmp_path / "office.toml", data)


def _cli(capsys: pytest.CaptureFixture[str], config: Path, *argv: str) -> tuple[int, str, str]:
    code = main(["--config", str(config), *argv])
    out, err = capsys.readouterr()
    return code, out, err


def _cases(url: str) -> int:
    reg = Register(url, migrate=False)
    try:
        with reg.transaction() as s:
            return int(s.scalar(select(func.count()).select_from(Case)) or 0)
    finally:
        reg.dispose()


def test_status_upgrade_and_a_register_newer_than_the_code(
    tmp_path: Path, db_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _profile(tmp_path, db_url)
    code, out, err = _cli(capsys, config, "db", "status")
    if db_url.startswith("sqlite"):  # status never creates the file
        assert code == 2 and "no register at" in err and "db upgrade" in err
        assert not (tmp_path / "register.sqlite3").exists()
    else:
        assert code == 1 and "none (empty database)" in out and "db upgrade" in out
    code, out, _ = _cli(capsys, config, "db", "upgrade")
    assert code == 0 and "upgraded" in out and "up to date" in out
    code, out, _ = _cli(capsys, config, "db", "status")
    assert code == 0 and "up to date" in out
    code, out, _ = _cli(capsys, config, "db", "upgrade")
    assert code == 0 and "already up to date" in out

    engine = make_engine(db_url)  # as a later release would leave it
    try:
        with engine.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    finally:
        engine.dispose()
    for argv in (("db", "status"), ("db", "upgrade"), ("run", "--once")):
        code, out, err = _cli(capsys, config, *argv)
        assert code == 2, (argv, out, err)
        assert "9999, newer than inbox-agent" in out + err
    assert "Traceback" not in err
    assert _cases(db_url) == 0, "nothing processed against a register it does not know"


def test_sqlite_backup_is_private_checked_and_restores(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = tmp_path / "register.sqlite3"
    config = _profile(tmp_path, f"sqlite:///{live}")
    assert _cli(capsys, config, "run", "--once")[0] == 0
    backup = tmp_path / "backups" / "register-backup.sqlite3"
    backup.parent.mkdir()
    code, out, err = _cli(capsys, config, "db", "backup", str(backup))
    assert code == 0, err
    assert "checked" in out
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600
    code, _, err = _cli(capsys, config, "db", "backup", str(backup))
    assert code == 2 and "already exists" in err, "a backup never overwrites"

    with sqlite3.connect(live) as conn:  # after the backup, a loss
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("DELETE FROM audit_events")
        conn.execute("UPDATE stored_messages SET case_id = NULL")
        conn.execute("DELETE FROM outbox")
        conn.execute("DELETE FROM cases")
    conn.close()
    assert _cases(f"sqlite:///{live}") == 0
    # README: stop the services, put the backup in place (without stale -wal/-shm), start
    for suffix in ("-wal", "-shm"):
        Path(f"{live}{suffix}").unlink(missing_ok=True)
    shutil.copy2(backup, live)
    code, out, _ = _cli(capsys, config, "db", "status")
    assert code == 0 and "up to date" in out
    code, out, _ = _cli(capsys, config, "register", "list")
    assert code == 0 and out.count("TST-") == DEMO_CASES


def test_postgresql_backup_with_pg_dump_restores_with_pg_restore(
    tmp_path: Path,
    postgres: PostgresServer,
    postgres_url: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    pg_restore = shutil.which("pg_restore")
    assert pg_restore, "pg_dump and pg_restore come with PostgreSQL (scripts/test.sh)"
    config = _profile(tmp_path, postgres_url)
    assert _cli(capsys, config, "run", "--once")[0] == 0
    backup = tmp_path / "register.pgdump"
    code, out, err = _cli(capsys, config, "db", "backup", str(backup))
    assert code == 0, err
    assert "checked" in out and "schema revision" in out
    assert stat.S_IMODE(backup.stat().st_mode) == 0o600

    restored = postgres.create_database("restored_register")
    try:
        engine = make_engine(restored)
        libpq = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        engine.dispose()
        subprocess.run(
            [pg_restore, "--no-owner", f"--dbname={libpq}", str(backup)],
            check=True,
            capture_output=True,
            timeout=120,
        )
        engine = make_engine(restored)
        try:
            status = schema_state(engine)
        finally:
            engine.dispose()
        assert status.up_to_date, status.describe()
        assert _cases(restored) == DEMO_CASES
    finally:
        postgres.drop_database("restored_register")
