"""IMAP IDLE against a real Dovecot: mail is processed in seconds although the poll is 300 s.

The daemon runs as systemd runs it (the CLI in a child process, a TOML in tmp, SIGTERM to
stop). Dovecot re-checks an idling mailbox every second (``tests/servers.py``), so new mail is
reported within about a second of its APPEND.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from servers import DovecotServer, wait_until
from sqlalchemy import func, select
from support.builders import HUMAN, INBOX, base_config, imap_settings, message

from inbox_agent.errors import RegisterUnavailable
from inbox_agent.idle import IdleWatcher
from inbox_agent.register.db import Register
from inbox_agent.register.models import Case

pytestmark = pytest.mark.integration

ARRIVAL_LIMIT_S = 20.0  # a poll every 300 s could not explain anything under this
RECONNECT_LIMIT_S = 30.0
START_LIMIT_S = 90.0  # the child imports spaCy and migrates the register first
STOP_LIMIT_S = 20.0


def _count_cases(url: str) -> int:
    reg = Register(url, migrate=False)
    try:
        with reg.transaction() as s:
            return int(s.scalar(select(func.count()).select_from(Case)) or 0)
    except RegisterUnavailable:  # the file exists before the daemon's migration commits
        return 0
    finally:
        reg.dispose()


def _write_config(path: Path, server: DovecotServer, db_url: str) -> None:
    sections: dict[str, dict[str, object]] = {
        **base_config(db_url),
        "imap": {
            "host": server.host,
            "port": server.port,
            "security": "none",
            "username": server.user,
            "password": server.password,
            "timeout_seconds": 10,
        },
        "poll": {"interval_seconds": 300},
        "smtp": {
            "from_address": INBOX,
            "deliver": "maildir",
            "maildir_path": str(path.parent / "outbox"),
        },
    }
    lines: list[str] = []
    for name, keys in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in keys.items())
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _enquiry(n: int) -> bytes:
    sender, subject, body = HUMAN[n % len(HUMAN)]
    return message(sender, f"{subject} ({n})", body, message_id=f"<idle-{n}@example.com>")


def test_daemon_processes_new_mail_within_seconds_and_after_a_server_restart(
    dovecot: DovecotServer, tmp_path: Path
) -> None:
    config, log_file = tmp_path / "agent.toml", tmp_path / "daemon.log"
    url = f"sqlite:///{tmp_path / 'register.sqlite3'}"
    _write_config(config, dovecot, url)
    with log_file.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "inbox_agent.cli", "--config", str(config), "run"],
            env={**os.environ, "INBOX_AGENT_CONFIG": str(config)},
            stdout=subprocess.DEVNULL,
            stderr=err,
        )

    def logged(text: str) -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"daemon exited: {log_file.read_text()}")
        return text in log_file.read_text()

    try:
        wait_until(
            lambda: logged("event=idle_watching") and logged("event=fetched"),
            timeout=START_LIMIT_S,
            what="the daemon's first pass and IDLE",
        )
        dovecot.append("INBOX", _enquiry(1))
        wait_until(lambda: _count_cases(url) == 1, timeout=ARRIVAL_LIMIT_S, what="case 1")

        dovecot.stop()
        dovecot.start()  # same port, same mail
        wait_until(
            lambda: logged("event=idle_reconnected"),
            timeout=RECONNECT_LIMIT_S,
            what="the IDLE watcher to reconnect",
        )
        dovecot.append("INBOX", _enquiry(2))
        wait_until(lambda: _count_cases(url) == 2, timeout=ARRIVAL_LIMIT_S, what="case 2")

        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=STOP_LIMIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    text = log_file.read_text()
    assert proc.returncode == 0, text
    assert "event=idle_dropped" in text
    assert "event=idle_stopped" in text
    assert "event=stopped" in text


def test_watcher_reports_new_mail_and_stops_promptly(dovecot: DovecotServer) -> None:
    settings = imap_settings(
        "sqlite://", dovecot.host, dovecot.port, dovecot.user, dovecot.password
    )
    assert settings.imap is not None
    wakes: list[float] = []
    stop = threading.Event()
    watcher = IdleWatcher(
        settings.imap, dovecot.password, lambda: wakes.append(time.monotonic()), stop=stop
    )
    watcher.start()
    try:
        wait_until(lambda: len(wakes) == 1, timeout=10, what="the wake on connecting")
        time.sleep(0.5)  # IDLE is issued right after the first wake
        appended = time.monotonic()
        dovecot.append("INBOX", _enquiry(3))
        wait_until(lambda: len(wakes) >= 2, timeout=ARRIVAL_LIMIT_S, what="an EXISTS wake")
        assert wakes[1] - appended < 5.0  # Dovecot re-checks every second
    finally:
        started = time.monotonic()
        assert watcher.stop_and_join(timeout=5.0), "the watcher thread did not stop"
    assert time.monotonic() - started < 5.0
