"""Engine, sessions and schema upgrades for SQLite and PostgreSQL.

SQLite runs in WAL mode with a busy timeout so the web UI can read while the poller writes;
PostgreSQL is reached through psycopg 3. The schema belongs to Alembic: ``inbox-agent db
upgrade`` is the explicit step of an upgrade, and ``upgrade_schema`` also runs when a command
first opens a register (the daemon at start-up), logged, so an office that updates the package
and forgets the step still gets its register migrated in place. A register whose revision is
newer than this release knows (written by a later version, or a rollback of the package) is
refused: running old code on it could misread or damage what the newer schema holds.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from inbox_agent import __version__
from inbox_agent.errors import ConfigError, RegisterTooNew, RegisterUnavailable

if TYPE_CHECKING:
    from inbox_agent.register.locks import MailboxLease

log = logging.getLogger(__name__)
_MIGRATING = threading.Lock()
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 30_000  # how long a writer waits for SQLite's lock before giving up
PG_KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_MS)}")
    cursor.close()


SQLITE_BEGIN = "inbox_agent_sqlite_begin"
"""Execution option: the BEGIN a SQLite transaction emits itself (``Register.batch``)."""


def _sqlite_begin(conn: Connection) -> None:
    """SQLAlchemy's pysqlite recipe ("Serializable isolation / Savepoints / Transactional
    DDL"), for the transactions that ask for it with the ``SQLITE_BEGIN`` option.

    pysqlite's legacy transaction control begins only before an INSERT/UPDATE/DELETE, so a
    SAVEPOINT issued first would open a transaction of its own, outside the enclosing one.
    Taking the BEGIN over (the driver's own switched off) makes every SAVEPOINT nest. Only
    batches opt in: every other transaction keeps the legacy behaviour its code was written
    for (reads outside any snapshot, the write lock taken at the first write).
    """
    begin = conn.get_execution_options().get(SQLITE_BEGIN)
    if begin is None:
        return
    conn.connection.driver_connection.isolation_level = None  # type: ignore[union-attr]
    conn.exec_driver_sql(begin)


def _sqlite_checkin(dbapi_conn: Any, _record: Any) -> None:
    """Back in the pool: the driver's legacy transaction control again, for the next user."""
    if dbapi_conn.isolation_level is None:
        dbapi_conn.isolation_level = ""


def create_private_file(path: Path) -> None:
    """Create the SQLite file (mode 0600) and any missing directory (0700) for our user only.

    The register holds every requester's mail, so nobody but the service user may read it,
    whatever the umask. SQLite gives its -wal and -shm files the database file's mode. An
    existing file or directory is left as the operator made it.
    """
    missing = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=0o700)
        except FileExistsError:
            continue  # created by a concurrent process since we looked
        directory.chmod(0o700)  # mkdir's mode is filtered by the umask
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    os.fchmod(fd, 0o600)
    os.close(fd)


URL_HINT = (
    "e.g. sqlite:////var/lib/inbox-agent/register.sqlite3 or "
    "postgresql+psycopg://inbox_agent@/inbox_agent"
)
# PostgreSQL refusals only the operator can fix: bad password or role, unknown database,
# no privilege. Anything else (refused connection, shutdown, timeout) is retried.
_PG_OPERATOR_STATES = {"28000", "28P01", "3D000", "42501"}
_SQLITE_READ_ONLY = ("readonly database", "unable to open database file")


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite register (None for PostgreSQL or an in-memory database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def make_engine(url: str, *, create: bool = True) -> Engine:
    """Create the engine; an unusable URL is the operator's to fix, so it is a ConfigError.

    ``create=False`` leaves a missing SQLite file missing (``check-config`` only looks).
    """
    try:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            path = sqlite_path(url)
            if path is not None and create:
                create_private_file(path)
            engine = create_engine(parsed, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", _sqlite_begin)
            event.listen(engine, "checkin", _sqlite_checkin)
            return engine
        # keepalives: a node that vanishes (power, network) frees its mailbox lease within
        # about a minute instead of the kernel's two hours (see register.locks)
        return create_engine(parsed, pool_pre_ping=True, connect_args=dict(PG_KEEPALIVES))
    except (SQLAlchemyError, ImportError) as exc:
        raise ConfigError(f"database.url: not a usable database URL ({exc}); {URL_HINT}") from exc
    except OSError as exc:
        raise ConfigError(
            f"database.url: cannot create the SQLite register {exc.filename}: {exc.strerror}; "
            "give the service user a directory it can write (StateDirectory= under systemd)"
        ) from exc


def register_error(exc: DBAPIError, doing: str) -> ConfigError | RegisterUnavailable:
    """Who must act on a database error: the operator (a read-only SQLite file, a refused
    PostgreSQL login or missing database) or time (down, locked, restarting)."""
    orig = exc.orig
    text = str(orig)
    if getattr(orig, "sqlstate", None) in _PG_OPERATOR_STATES:
        return ConfigError(
            f"database.url: PostgreSQL refused: {text.strip()}; check the role, its password "
            "(~/.pgpass or PGPASSFILE) and that the database exists and belongs to it"
        )
    if any(t in text for t in _SQLITE_READ_ONLY):
        return ConfigError(
            f"database.url: the SQLite register cannot be written ({text}); give the service "
            "user write access to the file and its directory (ReadWritePaths= under systemd)"
        )
    return RegisterUnavailable(f"{doing}: {orig}")


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` (``hash()`` changes per process)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = None
    cfg.attributes["engine"] = engine
    return cfg


def upgrade_schema(engine: Engine) -> None:
    """Bring the register to the newest schema; safe to run on every start.

    Alembic keeps the running migration in module-level proxies (``alembic.context``,
    ``alembic.op``), so two registers migrating at once in one process (several mailboxes
    starting together) would run each other's steps: one at a time.
    """
    with _MIGRATING:
        _upgrade(engine)


def _upgrade(engine: Engine) -> None:
    cfg = alembic_config(engine)
    try:
        with engine.begin() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                # Batch migrations rebuild a table (copy, drop, rename); with foreign keys
                # enforced, dropping ``cases`` fails while other tables point at it. SQLite
                # ignores this pragma inside a transaction, so it comes first; the keys are
                # checked below before the upgrade commits.
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                # pysqlite runs DDL outside any transaction, so a crash mid-upgrade left half
                # a schema that no later start could migrate: one transaction, all or nothing.
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:  # two nodes starting together: one migrates, the other waits and finds it done
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key("schema_upgrade")}
                )
            cfg.attributes["connection"] = conn
            before = _state(conn, cfg)
            if before.newer:
                raise RegisterTooNew(before.describe())
            command.upgrade(cfg, "head")
            if not before.up_to_date:
                log.warning(
                    "event=db_upgraded from=%s to=%s version=%s",
                    before.current or "none",
                    before.head,
                    __version__,
                )
            if sqlite:
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RegisterUnavailable(f"the upgrade broke foreign keys: {broken[:5]}")
        if sqlite:
            engine.dispose()  # new connections get the connect-time pragmas: keys enforced
    except OperationalError as exc:
        raise register_error(exc, "cannot migrate the register") from exc


@dataclass(frozen=True)
class SchemaState:
    """Where a register's schema stands against this code's migrations."""

    current: str | None  # None: an empty database
    head: str | None
    known: bool  # False: written by a newer release of inbox-agent

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    @property
    def newer(self) -> bool:
        """Written by a later release: this code must not touch it."""
        return not self.known

    def describe(self) -> str:
        if self.newer:
            return (
                f"the register's schema is at revision {self.current}, newer than "
                f"inbox-agent {__version__} knows (its newest is {self.head}): install the "
                "release that wrote it, or restore the backup taken before that upgrade"
            )
        if self.up_to_date:
            return f"revision {self.current} (head {self.head}): up to date"
        current = self.current or "none (empty database)"
        return f"revision {current}, head {self.head}: run `inbox-agent db upgrade`"


def schema_state(engine: Engine) -> SchemaState:
    """The register's Alembic revision, read without creating or changing anything."""
    try:
        with engine.connect() as conn:
            return _state(conn, alembic_config(engine))
    except OperationalError as exc:
        raise register_error(exc, "cannot read the register") from exc


def _state(conn: Connection, cfg: Config) -> SchemaState:
    script = ScriptDirectory.from_config(cfg)
    current = MigrationContext.configure(conn).get_current_revision()
    known = current is None or current in {r.revision for r in script.walk_revisions()}
    return SchemaState(current, script.get_current_head(), known)


class Register:
    """The database handle the pipeline passes around: one engine, one session factory."""

    def __init__(self, url: str, *, migrate: bool = True, create: bool = True) -> None:
        self.engine = make_engine(url, create=create)
        self.migrated = False
        # mailbox leases on this register (``locks``): each holds a connection outside the
        # pool, so they are released with the engine rather than left to the collector
        self.leases: list[MailboxLease] = []
        if migrate:
            self.ensure_schema()
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite: BEGIN IMMEDIATE takes the write lock up front (waiting out the busy
        # timeout), so a batch that reads before it writes is never refused its upgrade
        batch_engine = self.engine.execution_options(**{SQLITE_BEGIN: "BEGIN IMMEDIATE"})
        self._batch_sessions = sessionmaker(batch_engine, expire_on_commit=False)

    def ensure_schema(self) -> None:
        """Migrate once per process; the daemon calls it per pass, so a register that was
        down at start-up is migrated when it comes back instead of stopping every mailbox."""
        if not self.migrated:
            upgrade_schema(self.engine)
            self.migrated = True

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any error, always closes."""
        with self._unit(self._sessions()) as session:
            yield session

    @contextmanager
    def batch(self) -> Iterator[Session]:
        """One transaction for many items of work, each in ``session.begin_nested()``.

        One commit (one fsync on SQLite) for a batch instead of one per item, while a
        SAVEPOINT per item lets one that fails roll back alone and be recorded as failed
        in the same transaction. On SQLite the batch holds the write lock from its BEGIN to
        its COMMIT, so keep batches short (the web UI waits for them).
        """
        with self._unit(self._batch_sessions()) as session:
            yield session

    @contextmanager
    def _unit(self, session: Session) -> Iterator[Session]:
        try:
            with session.begin():
                yield session
        except OperationalError as exc:
            raise register_error(exc, "register unavailable") from exc
        finally:
            session.close()

    @property
    def shared(self) -> bool:
        """Whether other nodes may work on this register at the same time (``locks``).

        PostgreSQL can be shared by two servers; SQLite is one file on one host.
        """
        return self.engine.dialect.name == "postgresql"

    def dispose(self) -> None:
        for lease in self.leases:
            lease.release()
        self.engine.dispose()
