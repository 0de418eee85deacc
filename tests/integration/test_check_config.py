"""check-config against real peers: what works says ok, what fails is named."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from servers import DovecotServer, SmtpSink, free_port
from support.builders import base_config

from inbox_agent.cli.commands import check_config
from inbox_agent.settings import Settings, settings_from_dict

pytestmark = pytest.mark.integration


def _settings(tmp_path: Path, dovecot: DovecotServer, password: str, smtp_port: int) -> Settings:
    data = base_config(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    data["imap"] = {
        "host": dovecot.host,
        "port": dovecot.port,
        "security": "none",
        "username": dovecot.user,
        "password": password,
    }
    data["smtp"] = {
        "host": "127.0.0.1",
        "port": smtp_port,
        "security": "none",
        "from_address": "elections@opcc.testshire.example.org",
        "timeout_seconds": 5,
    }
    return settings_from_dict(data, tmp_path / "inbox-agent.toml")


def test_all_peers_reachable(tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink) -> None:
    out = io.StringIO()
    settings = _settings(tmp_path, dovecot, dovecot.password, smtp_sink.port)
    assert check_config(settings, out) == 0, out.getvalue()
    text = out.getvalue()
    assert "database: ok" in text
    assert f"imap {dovecot.host}:{dovecot.port} folder INBOX" in text
    assert f"smtp 127.0.0.1:{smtp_sink.port}" in text


def test_wrong_password_and_dead_smtp_are_named_and_secret_not_shown(
    tmp_path: Path, dovecot: DovecotServer
) -> None:
    out = io.StringIO()
    settings = _settings(tmp_path, dovecot, "not-the-password", free_port())
    assert check_config(settings, out) == 2
    text = out.getvalue()
    assert "mail source: FAILED" in text and "imap.username" in text
    assert "outgoing mail: FAILED" in text
    assert "database: ok" in text
    assert "not-the-password" not in text
