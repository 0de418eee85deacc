"""The daemon as systemd runs it: a real process, a real signal, a clean exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from support.builders import demo_office

from inbox_agent.cli import main
from inbox_agent.errors import RegisterUnavailable
from inbox_agent.register.db import Register
from inbox_agent.register.models import Case

pytestmark = pytest.mark.integration


def _count_cases(url: str) -> int:
    reg = Register(url, migrate=False)
    try:
        with reg.transaction() as s:
            return int(s.scalar(select(func.count()).select_from(Case)) or 0)
    except RegisterUnavailable:  # the file exists before the daemon's migration commits
        return 0
    finally:
        reg.dispose()


def _demo_daemon(tmp_path: Path) -> tuple[subprocess.Popen[str], Path]:
    """``inbox-agent run`` on a copy of the demo, as a real process; returns it and the config."""
    config = demo_office(tmp_path)
    env = {**os.environ, "INBOX_AGENT_CONFIG": str(config)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "inbox_agent.cli", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return proc, config


def _wait_for_first_pass(proc: subprocess.Popen[str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo' / 'register.sqlite3'}"
    deadline = time.monotonic() + 60
    cases = 0
    while time.monotonic() < deadline and proc.poll() is None:
        if (tmp_path / "demo" / "register.sqlite3").exists():
            cases = _count_cases(url)
            if cases == 9:
                break
        time.sleep(0.2)
    assert cases == 9, "the first poll runs at start-up"


def _stop(proc: subprocess.Popen[str]) -> str:
    try:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    return err


def test_sigterm_stops_the_daemon_cleanly_after_its_first_pass(tmp_path: Path) -> None:
    proc, _ = _demo_daemon(tmp_path)
    try:
        _wait_for_first_pass(proc, tmp_path)
    finally:
        err = _stop(proc)
    assert proc.returncode == 0, err
    assert "event=stopping signal=SIGTERM" in err
    assert "event=stopped" in err
    for address in ("priya.natarajan@example.com", "m.olu@example.org", "lee.marsh@example.com"):
        assert address not in err, "addresses must be redacted in logs"


def test_a_second_daemon_on_the_same_sqlite_register_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    proc, config = _demo_daemon(tmp_path)
    try:
        _wait_for_first_pass(proc, tmp_path)
        assert main(["run", "--config", str(config)]) == 2
        err = capsys.readouterr().err
        assert f"another inbox-agent run (pid {proc.pid}) is using the register" in err
        assert "Traceback" not in err
        assert main(["run", "--once", "--config", str(config)]) == 2  # nor one pass beside it
    finally:
        assert _stop(proc) and proc.returncode == 0
    assert main(["run", "--once", "--config", str(config)]) == 0  # its lock died with it
    assert "fetched 0" in capsys.readouterr().err
