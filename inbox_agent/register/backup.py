"""``inbox-agent db backup PATH``: a consistent copy of the register, checked before it is trusted.

SQLite: ``VACUUM INTO`` writes a compact, transaction-consistent copy while the daemon keeps
running (readers and writers are not stopped; WAL holds them apart), into a new file created
mode 0600 because it holds every requester's mail. The copy is then opened on its own and
must pass ``PRAGMA integrity_check``. PostgreSQL: ``pg_dump --format=custom`` of the database
(password in the environment, never on the command line), then ``pg_restore --list`` must
read it back. Restoring is an operator's deliberate act with the services stopped; README
"Backups and restore" gives the commands.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from inbox_agent.errors import ConfigError, OperatorError, RegisterUnavailable
from inbox_agent.register.db import create_private_file, schema_state

PG_DUMP_TIMEOUT_S = 3600


@dataclass(frozen=True)
class Backup:
    path: Path
    size: int
    revision: str | None


def backup_register(engine: Engine, target: Path) -> Backup:
    """Write and verify a backup of the register at ``target`` (which must not exist)."""
    if target.exists():
        raise ConfigError(f"{target} already exists: a backup never overwrites a file")
    if not target.parent.is_dir():
        raise ConfigError(f"{target.parent} is not a directory")
    revision = schema_state(engine).current
    if engine.dialect.name == "sqlite":
        _vacuum_into(engine, target)
    else:
        _pg_dump(engine.url, target)
    return Backup(target, target.stat().st_size, revision)


def _vacuum_into(engine: Engine, target: Path) -> None:
    create_private_file(target)  # VACUUM INTO fills an empty file, keeping its mode
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM INTO ?", (str(target),))
    except Exception:
        target.unlink(missing_ok=True)
        raise
    check = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    try:
        verdict = check.execute("PRAGMA integrity_check").fetchone()
    finally:
        check.close()
    if verdict is None or verdict[0] != "ok":
        raise RegisterUnavailable(f"the backup {target} failed its integrity check: {verdict}")


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise OperatorError(
            f"{name} is not on PATH: install postgresql-client (the same major version as "
            "the server, or newer)"
        )
    return found


def _pg_dump(url: URL, target: Path) -> None:
    env = {**os.environ}
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    libpq = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.close(fd)
    try:
        _run([_pg_tool("pg_dump"), "--format=custom", f"--file={target}", libpq], env)
        _run([_pg_tool("pg_restore"), "--list", str(target)], env)
    except Exception:
        target.unlink(missing_ok=True)
        raise


def _run(argv: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=PG_DUMP_TIMEOUT_S, check=False
    )
    if result.returncode != 0:
        tool = Path(argv[0]).name
        raise RegisterUnavailable(f"{tool} failed: {result.stderr.strip()[-500:]}")
