"""Coordination between nodes that share one PostgreSQL register.

Two daemons on two servers may run against the same database so the inbox survives a server
going down. Three things keep them from doing the same work twice:

- ``MailboxLease``: a session advisory lock held on a connection of its own. Only its holder
  polls the mailbox and processes what it stored. The lock lives exactly as long as that
  connection, so when the holder dies (SIGKILL, power cut, network gone) PostgreSQL ends the
  session and the lock is free for the other node at its next pass. TCP keepalives on the
  engine (``register.db``) bound how long a vanished peer keeps it.
- ``serialize``: a transaction advisory lock for check-then-insert work that must happen once
  (the weekly report), released by the commit.
- Row locks with ``SKIP LOCKED`` (in ``send`` and ``pipeline``), so the outbox and pending
  messages are each taken by one node even when the lease changes hands mid-pass.

SQLite is one node by construction (one file, one host), so there the lease is always held and
the locks are no-ops; SQLite's own write lock already serialises writers.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from inbox_agent.errors import OperatorError, RegisterUnavailable
from inbox_agent.register.db import Register, lock_key, sqlite_path

log = logging.getLogger(__name__)


def serialize(session: Session, name: str) -> None:
    """Hold ``name`` until this transaction ends, so a check-then-insert runs on one node."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key(name)})


def mailbox_lease(register: Register, name: str) -> MailboxLease:
    """This process's lease on ``name``: one per register, however many pipelines ask.

    A process is one node. A second pipeline built for the same mailbox (a retry, a test)
    is the same node and must not find itself locked out by its own earlier session.
    """
    mine = next((lease for lease in register.leases if lease.name == name), None)
    return mine or MailboxLease(register, name)


class MailboxLease:
    """Who polls ``name`` now: this node while ``held()`` says so, another node otherwise."""

    def __init__(self, register: Register, name: str) -> None:
        self.register = register
        self.name = name
        self.key = lock_key(f"mailbox:{name}")
        self._conn: Connection | None = None
        register.leases.append(self)

    def held(self) -> bool:
        """Keep or take the lease; False while another node holds it.

        A held lease is confirmed with a round trip, because a connection that died quietly
        has released the lock on the server even though nothing here noticed.
        """
        if not self.register.shared:
            return True
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except SQLAlchemyError:
                log.warning("event=lease_lost mailbox=%s", self.name)
                self._drop()
        try:  # autocommit: the lock is the session's, no transaction stays open behind it
            conn = self.register.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as exc:
            raise RegisterUnavailable(f"register unavailable: {exc}") from exc
        try:
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            ).scalar_one()
        except SQLAlchemyError as exc:
            conn.close()
            raise RegisterUnavailable(f"register unavailable: {exc}") from exc
        if not got:
            conn.close()
            return False
        self._conn = conn
        log.info("event=lease_taken mailbox=%s", self.name)
        return True

    def release(self) -> None:
        """Give the lease up at a clean stop, so the other node need not wait for a timeout."""
        if self._conn is None:
            return
        try:
            self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        except SQLAlchemyError:
            log.debug("lease connection already gone")
        self._drop()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()  # never back into the pool with a lock on it
                conn.close()
            except SQLAlchemyError:
                log.debug("lease connection already gone")


class InstanceLock:
    """One ``inbox-agent run`` per SQLite register: a second one stops before it touches it.

    Two daemons on one SQLite file would both poll the mailbox and both drain the outbox;
    SQLite serialises their writes but not their work, so an email could leave twice. The
    lock is ``flock`` on ``<register>.lock`` beside the file, held for the life of the
    process: the kernel releases it however the process ends (SIGKILL, OOM, power), so a
    crash never leaves a stale lock behind. PostgreSQL registers need none: their mailbox
    leases already let one node work a mailbox at a time (see ``MailboxLease``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path.with_name(path.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "unknown"
            os.close(fd)
            raise OperatorError(
                f"database.url: another inbox-agent run (pid {holder}) is using the register "
                f"{self.path.with_suffix('')}; stop it first (systemctl stop inbox-agent), or "
                "give this profile its own register"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the flock; the file stays (no unlink race)
            self._fd = None


def instance_lock(register: Register) -> InstanceLock | None:
    """Hold this process's lock on a SQLite register (None for a shared PostgreSQL one)."""
    path = sqlite_path(register.engine.url.render_as_string(hide_password=False))
    if path is None:
        return None
    lock = InstanceLock(path)
    try:
        lock.acquire()
    except OSError as exc:
        raise OperatorError(
            f"database.url: cannot create the lock file {lock.path}: {exc.strerror}; the "
            "register's directory must be writable by the service user"
        ) from exc
    return lock
