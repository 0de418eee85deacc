"""TLS is verified by default, a private CA can be given, and both TLS modes work for real."""

from __future__ import annotations

import datetime as dt
import ssl
from pathlib import Path

import pytest
import trustme
from servers import DovecotServer, SmtpSink
from sqlalchemy import select
from support.builders import HUMAN, imap_settings, message

from inbox_agent.errors import ConfigError
from inbox_agent.pipeline import Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.models import OutboxMessage, OutboxStatus

pytestmark = pytest.mark.integration


def _server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def _register(tmp_path: Path) -> Register:
    return Register(f"sqlite:///{tmp_path / 'r.sqlite3'}")


@pytest.mark.parametrize("mode", ["ssl", "starttls"])
def test_imap_over_tls_with_the_office_ca(
    mode: str, tls_dovecot: DovecotServer, ca_file: Path, tmp_path: Path
) -> None:
    port = tls_dovecot.tls_port if mode == "ssl" else tls_dovecot.port
    settings = imap_settings(
        f"sqlite:///{tmp_path / 'r.sqlite3'}",
        "127.0.0.1",
        port,
        tls_dovecot.user,
        tls_dovecot.password,
        security=mode,
        ca_file=str(ca_file),
    )
    register = _register(tmp_path)
    assert Pipeline(settings, register).run_once().cases_opened == 1
    register.dispose()


def test_imap_refuses_an_untrusted_certificate_by_default(
    tls_dovecot: DovecotServer, tmp_path: Path
) -> None:
    settings = imap_settings(
        f"sqlite:///{tmp_path / 'r.sqlite3'}",
        "127.0.0.1",
        tls_dovecot.tls_port,
        tls_dovecot.user,
        tls_dovecot.password,
        security="ssl",
    )
    register = _register(tmp_path)
    with pytest.raises(ConfigError, match=r"imap\.ca_file: the certificate of 127\.0\.0\.1"):
        Pipeline(settings, register).run_once()
    assert tls_dovecot.uids("INBOX"), "nothing may be taken from the mailbox"
    register.dispose()


@pytest.mark.parametrize("mode", ["ssl", "starttls"])
def test_smtp_over_tls_delivers_and_untrusted_certificate_stops_the_drain(
    mode: str, ca: trustme.CA, ca_file: Path, tmp_path: Path, dovecot: DovecotServer
) -> None:
    context = _server_context(ca)
    sink = SmtpSink(**({"implicit_tls": context} if mode == "ssl" else {"starttls": context}))
    sink.start()
    try:
        dovecot.append("INBOX", message(*HUMAN[0]))
        smtp = {
            "host": "127.0.0.1",
            "port": sink.port,
            "security": mode,
            "from_address": "elections@opcc.testshire.example.org",
            "timeout_seconds": 10,
        }
        url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
        untrusted = imap_settings(
            url, dovecot.host, dovecot.port, dovecot.user, dovecot.password, smtp=smtp
        )
        register = _register(tmp_path)
        with pytest.raises(ConfigError, match=r"smtp\.ca_file"):  # the operator's to fix
            Pipeline(untrusted, register).run_once()
        with register.transaction() as session:  # queued as it was: not counted against it
            row = session.scalars(select(OutboxMessage)).one()
            assert (row.status, row.attempts) == (OutboxStatus.QUEUED, 0)
        trusted = imap_settings(
            url,
            dovecot.host,
            dovecot.port,
            dovecot.user,
            dovecot.password,
            smtp={**smtp, "ca_file": str(ca_file)},
        )
        sender = Pipeline(trusted, register).sender
        sender.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)  # past backoff
        assert sender.drain().sent == 1
        assert len(sink.messages) == 1
        register.dispose()
    finally:
        sink.stop()
