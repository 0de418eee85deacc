"""check-config against real peers: what works says ok, what fails is named, and by whom
it must be fixed (exit 2: the operator; exit 1: a peer that may come back)."""

from __future__ import annotations

import io
import sqlite3
import ssl
from pathlib import Path
from typing import Any

import pytest
import trustme
from servers import DovecotServer, SmtpSink, free_port
from support.builders import base_config, real_office

from inbox_agent.cli.config import check_config
from inbox_agent.errors import ConfigError
from inbox_agent.pipeline import Pipeline
from inbox_agent.register.db import Register
from inbox_agent.settings import Settings, settings_from_dict

pytestmark = pytest.mark.integration


def _settings(
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_port: int,
    *,
    password: str | None = None,
    **imap: Any,
) -> Settings:
    data = base_config(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    data["imap"] = {
        "host": dovecot.host,
        "port": dovecot.port,
        "security": "none",
        "username": dovecot.user,
        "password": dovecot.password if password is None else password,
        "timeout_seconds": 3,
        **imap,
    }
    data["smtp"] = {
        "host": "127.0.0.1",
        "port": smtp_port,
        "security": "none",
        "from_address": "elections@opcc.testshire.example.org",  # replaced: real_office
        "timeout_seconds": 3,
    }
    return settings_from_dict(real_office(data), tmp_path / "inbox-agent.toml")


def _check(settings: Settings) -> tuple[int, str]:
    out = io.StringIO()
    return check_config(settings, out), out.getvalue()


def test_all_peers_reachable_and_nothing_created(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    code, text = _check(_settings(tmp_path, dovecot, smtp_sink.port, processed_folder="Done"))
    assert code == 0, text
    assert (
        "values: ok" in text and "emails rendered (every category, phase and protocol topic" in text
    )
    assert "database: ok" in text and "does not exist yet" in text
    assert f"imap {dovecot.host}:{dovecot.port} folder INBOX" in text
    assert "processed folder 'Done' will be created" in text
    assert f"smtp 127.0.0.1:{smtp_sink.port}" in text
    assert not (tmp_path / "r.sqlite3").exists()  # read-only: not even created
    assert "Done" not in dovecot.list_folders() and smtp_sink.messages == []


def test_an_existing_register_is_read_never_migrated(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    sqlite3.connect(tmp_path / "r.sqlite3").close()  # an empty database file
    code, text = _check(_settings(tmp_path, dovecot, smtp_sink.port))
    assert code == 0, text
    assert "empty; inbox-agent run creates the schema" in text
    with sqlite3.connect(tmp_path / "r.sqlite3") as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []
    Register(f"sqlite:///{tmp_path / 'r.sqlite3'}").dispose()  # what the daemon does
    code, text = _check(_settings(tmp_path, dovecot, smtp_sink.port))
    assert code == 0 and "(current), 0 cases" in text


def test_wrong_password_is_the_operators_and_the_secret_is_not_shown(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    settings = _settings(tmp_path, dovecot, smtp_sink.port, password="not-the-password")
    code, text = _check(settings)
    assert code == 2
    assert "mail source: FAILED" in text and "imap.username: login refused" in text
    assert "not-the-password" not in text


def test_a_server_that_is_down_is_retryable(tmp_path: Path, dovecot: DovecotServer) -> None:
    code, text = _check(_settings(tmp_path, dovecot, free_port()))
    assert code == 1, text
    assert "mail source: ok" in text and "outgoing mail: FAILED: cannot reach" in text


def test_a_missing_folder_names_the_key_and_the_folders_there(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    dovecot.create_folder("Elections 2027")
    settings = _settings(tmp_path, dovecot, smtp_sink.port, folder="Elections")
    code, text = _check(settings)
    assert code == 2
    assert "mail source: FAILED: imap.folder: spoc has no folder 'Elections'" in text
    assert "Elections 2027" in text and "INBOX" in text
    register = Register(settings.database.url)
    try:
        with pytest.raises(ConfigError, match=r"imap\.folder"):  # the daemon says the same
            Pipeline(settings, register).run_once()
    finally:
        register.dispose()


def test_tls_spoken_to_the_plain_port_is_the_operators(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    code, text = _check(_settings(tmp_path, dovecot, smtp_sink.port, security="ssl"))
    assert code == 2
    assert "imap.security: 127.0.0.1" in text and "does not speak TLS from the first byte" in text


def test_plain_text_to_the_tls_port_is_the_operators(
    tmp_path: Path, tls_dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    settings = _settings(tmp_path, tls_dovecot, smtp_sink.port, port=tls_dovecot.tls_port)
    code, text = _check(settings)
    assert code == 2, text
    assert f"imap.security: 127.0.0.1:{tls_dovecot.tls_port} expects TLS" in text
    assert 'set security = "ssl"' in text


def test_starttls_to_the_tls_port_and_an_untrusted_certificate(
    tmp_path: Path, tls_dovecot: DovecotServer, smtp_sink: SmtpSink, ca_file: Path
) -> None:
    port = tls_dovecot.tls_port
    code, text = _check(
        _settings(tmp_path, tls_dovecot, smtp_sink.port, port=port, security="starttls")
    )
    assert code == 2 and "imap.security" in text and "expects TLS" in text
    untrusted = _settings(tmp_path, tls_dovecot, smtp_sink.port, port=port, security="ssl")
    code, text = _check(untrusted)
    assert code == 2 and "imap.ca_file: the certificate of" in text
    trusted = _settings(
        tmp_path, tls_dovecot, smtp_sink.port, port=port, security="ssl", ca_file=str(ca_file)
    )
    code, text = _check(trusted)
    assert code == 0, text


def _smtp_settings(tmp_path: Path, dovecot: DovecotServer, port: int, security: str) -> Settings:
    settings = _settings(tmp_path, dovecot, port)
    assert settings.smtp is not None
    smtp = settings.smtp.model_copy(update={"security": security})
    return settings.model_copy(update={"smtp": smtp})


def test_smtp_security_that_does_not_match_the_port_is_the_operators(
    tmp_path: Path, dovecot: DovecotServer, ca: trustme.CA
) -> None:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    smtps, plain = SmtpSink(implicit_tls=context), SmtpSink()
    smtps.start()
    plain.start()
    try:
        code, text = _check(_smtp_settings(tmp_path, dovecot, smtps.port, "starttls"))
        assert code == 2, text
        assert f"outgoing mail: FAILED: smtp.security: 127.0.0.1:{smtps.port} expects TLS" in text
        code, text = _check(_smtp_settings(tmp_path, dovecot, plain.port, "ssl"))
        assert code == 2, text
        assert "smtp.security: 127.0.0.1" in text and "does not speak TLS" in text
        code, text = _check(_smtp_settings(tmp_path, dovecot, plain.port, "starttls"))
        assert code == 2 and "does not offer STARTTLS" in text
        assert smtps.messages == plain.messages == []
    finally:
        smtps.stop()
        plain.stop()
