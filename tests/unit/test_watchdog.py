"""sd_notify over a real datagram socket: READY, WATCHDOG keep-alives, STOPPING."""

from __future__ import annotations

import mailbox
import os
import shutil
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.builders import HUMAN, base_config, message

from inbox_agent.ops.watchdog import BusyTimer, Watchdog, WatchdogJob
from inbox_agent.pipeline import Pipeline
from inbox_agent.register.db import Register
from inbox_agent.scheduler import PollJob, run_daemon
from inbox_agent.settings import Settings, settings_from_dict

RECV_TIMEOUT_S = 10.0


@pytest.fixture
def notify_socket() -> Iterator[tuple[str, socket.socket]]:
    """A bound AF_UNIX datagram socket, as systemd's; short path (sun_path is 108 bytes)."""
    directory = tempfile.mkdtemp(prefix="ia-notify-")
    path = os.path.join(directory, "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(path)
        sock.settimeout(RECV_TIMEOUT_S)
        yield path, sock
    finally:
        sock.close()
        shutil.rmtree(directory, ignore_errors=True)


def _received(sock: socket.socket) -> str:
    return sock.recv(4096).decode()


def _settings(tmp_path: Path) -> Settings:
    data = base_config(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    data["maildir"] = {"path": str(tmp_path / "box")}
    data["smtp"] = {
        "from_address": "elections@opcc.testshire.example.org",
        "deliver": "maildir",
        "maildir_path": str(tmp_path / "outbox"),
    }
    return settings_from_dict(data, tmp_path / "inbox-agent.toml")


def _mailbox(tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "box", create=True)
    box.add(message(*HUMAN[0]))
    box.close()


def test_each_notification_is_one_datagram(notify_socket: tuple[str, socket.socket]) -> None:
    path, sock = notify_socket
    watchdog = Watchdog(path)
    assert watchdog.ready() and watchdog.ping() and watchdog.stopping()
    assert [_received(sock) for _ in range(3)] == ["READY=1", "WATCHDOG=1", "STOPPING=1"]


def test_abstract_namespace_address() -> None:
    name = f"inbox-agent-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(RECV_TIMEOUT_S)
        assert Watchdog(f"@{name}").ping()
        assert _received(sock) == "WATCHDOG=1"


def test_outside_systemd_nothing_is_sent_and_nothing_fails(tmp_path: Path) -> None:
    watchdog = Watchdog.from_environment({})
    assert watchdog.address is None and watchdog.interval is None
    assert watchdog.ready() is False
    gone = Watchdog(str(tmp_path / "no-such-socket"))
    assert gone.ping() is False  # logged, never raised: a lost keep-alive must not stop a pass


def test_keep_alive_interval_is_half_of_watchdog_usec() -> None:
    env = {"NOTIFY_SOCKET": "/run/systemd/notify", "WATCHDOG_USEC": "600000000"}
    assert Watchdog.from_environment(env).interval == 300.0
    assert Watchdog.from_environment({**env, "WATCHDOG_PID": str(os.getpid())}).interval == 300.0
    # the variables were meant for another process (e.g. inherited from a parent)
    assert Watchdog.from_environment({**env, "WATCHDOG_PID": "1"}).interval is None
    assert Watchdog.from_environment({**env, "WATCHDOG_USEC": "soon"}).interval is None


def test_keep_alives_stop_while_a_pass_is_stuck(notify_socket: tuple[str, socket.socket]) -> None:
    path, sock = notify_socket
    busy: list[float | None] = [None]
    job = WatchdogJob(Watchdog(path), lambda: busy[0], stall_limit=60.0)
    job()  # idle
    assert _received(sock) == "WATCHDOG=1"
    busy[0] = 59.0  # a long pass, still within the limit
    job()
    assert _received(sock) == "WATCHDOG=1"
    busy[0] = 61.0  # stuck: systemd must be left to kill us
    job()
    job()
    sock.settimeout(0.2)
    with pytest.raises(TimeoutError):
        sock.recv(4096)
    busy[0] = None  # the pass ended after all
    job()
    sock.settimeout(RECV_TIMEOUT_S)
    assert _received(sock) == "WATCHDOG=1"


def test_busy_timer_measures_only_while_inside() -> None:
    timer = BusyTimer()
    assert timer.busy_for() is None
    with timer:
        time.sleep(0.01)
        busy = timer.busy_for()
        assert busy is not None and busy >= 0.01
    assert timer.busy_for() is None


def test_poll_job_pings_after_a_good_pass_only(
    tmp_path: Path, notify_socket: tuple[str, socket.socket]
) -> None:
    path, sock = notify_socket
    settings = _settings(tmp_path)  # the Maildir does not exist yet: the poll fails
    register = Register(settings.database.url)
    try:
        job = PollJob(Pipeline(settings, register), 60, watchdog=Watchdog(path))
        job()
        assert job.failures == 1
        sock.settimeout(0.2)
        with pytest.raises(TimeoutError):
            sock.recv(4096)
        _mailbox(tmp_path)
        job.not_before = None  # skip the backoff
        job()
        assert job.failures == 0
        sock.settimeout(RECV_TIMEOUT_S)
        assert _received(sock) == "WATCHDOG=1"
    finally:
        register.dispose()


def test_daemon_says_ready_keeps_alive_and_says_stopping(
    tmp_path: Path, notify_socket: tuple[str, socket.socket], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, sock = notify_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # keep-alive every 0.1 s
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    _mailbox(tmp_path)
    settings = _settings(tmp_path)
    register = Register(settings.database.url)
    pipeline = Pipeline(settings, register)
    received: list[str] = []

    def listen() -> None:
        """Collect until STOPPING; stop the daemon after READY and three keep-alives."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                state = _received(sock)
            except TimeoutError:
                break
            received.append(state)
            if state == "STOPPING=1":
                return
            if received.count("WATCHDOG=1") >= 3:
                pipeline.stop.set()
        pipeline.stop.set()  # never hang the test run

    listener = threading.Thread(target=listen)
    listener.start()
    try:
        run_daemon([pipeline], 60)
    finally:
        pipeline.stop.set()
        listener.join(timeout=RECV_TIMEOUT_S + 30)
        register.dispose()
    assert received[0] == "READY=1"
    assert received[-1] == "STOPPING=1"
    assert received.count("WATCHDOG=1") >= 3
