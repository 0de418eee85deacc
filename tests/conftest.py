"""Shared pytest fixtures: real Dovecot, PostgreSQL and SMTP peers, and the public corpora.

The servers come from ``tests/servers.py``. Dovecot starts in about 0.1 s, so each test gets a
fresh one; PostgreSQL's initdb takes seconds, so one cluster serves the session and each test
gets a fresh database. Every fixture tears down in ``finally``, so a failing test leaves no
server or temporary directory behind.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import DovecotServer, PostgresServer, ServerError, SmtpSink, find_postgres_bin_dir

from inbox_agent.classify.training.evaluation import CORPORA_ENV, PUBLIC_CORPORA


@pytest.fixture
def dovecot() -> Iterator[DovecotServer]:
    """A fresh, running Dovecot with one user (``dovecot.user``) and an empty INBOX."""
    if shutil.which("dovecot") is None and not Path("/usr/sbin/dovecot").exists():
        pytest.fail("Dovecot is not installed: run scripts/test.sh, which installs dovecot-imapd")
    server = DovecotServer()
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL cluster for the whole session."""
    try:
        bin_dir = find_postgres_bin_dir()
    except ServerError as e:
        pytest.fail(f"PostgreSQL is not available: {e} (scripts/test.sh installs it)")
    server = PostgresServer(bin_dir=bin_dir)
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def postgres_url(postgres: PostgresServer) -> Iterator[str]:
    """SQLAlchemy URL of a new, empty database, dropped after the test."""
    if not postgres.running:  # a test that stopped the shared server without restarting it
        postgres.start()
    dbname = f"test_{uuid.uuid4().hex[:16]}"
    url = postgres.create_database(dbname)
    try:
        yield url
    finally:
        if not postgres.running:
            postgres.start()
        postgres.drop_database(dbname)


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A running SMTP server on 127.0.0.1 that records every message it accepts."""
    sink = SmtpSink()
    try:
        sink.start()
        yield sink
    finally:
        sink.stop()


@pytest.fixture(scope="session")
def corpora_dir() -> Path:
    """The public corpora: ``../shared/corpora`` beside this checkout, or $INBOX_AGENT_CORPORA."""
    path = PUBLIC_CORPORA
    if not path.is_dir():
        pytest.fail(
            f"public corpora not found at {path}: put ../shared beside the checkout "
            f"or set ${CORPORA_ENV}"
        )
    return path


@pytest.fixture(autouse=True)
def _restore_root_logging() -> Iterator[None]:
    """CLI tests call setup_logging, which points the root logger at the captured stderr;
    put the handlers back so later tests do not log into a closed stream."""
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
