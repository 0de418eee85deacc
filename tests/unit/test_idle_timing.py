"""IMAP IDLE without a server: backoff and renewal on a fake clock; waking the poll job."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from support.builders import imap_settings, maildir_settings
from support.clock import FakeClock

from inbox_agent.errors import MailboxUnavailable
from inbox_agent.idle import STABLE_SECONDS, Backoff, IdleWatcher, has_new_mail, says_bye
from inbox_agent.pipeline import PassReport, Pipeline
from inbox_agent.register.db import Register
from inbox_agent.scheduler import PollJob
from inbox_agent.settings import ImapSettings


class RecordingStop(threading.Event):
    """A stop event whose waits take no real time: they advance the fake clock instead."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.waits.append(timeout)
        self.clock.now += timeout
        return self.is_set()


class FakeIdleClient:
    """Just the IDLE commands; ``idle_check`` spends its timeout on the fake clock."""

    def __init__(self, clock: FakeClock, stop: threading.Event, until: float) -> None:
        self.clock, self.stop, self.until = clock, stop, until
        self.calls: list[tuple[str, float]] = []
        self.pushes: dict[float, list[tuple[object, ...]]] = {}

    def idle(self) -> None:
        self.calls.append(("idle", self.clock.now))

    def idle_done(self) -> tuple[bytes, list[tuple[object, ...]]]:
        self.calls.append(("done", self.clock.now))
        return b"Idle completed", []

    def idle_check(self, timeout: float) -> list[tuple[object, ...]]:
        self.clock.now += timeout
        if self.clock.now >= self.until:
            self.stop.set()
        return self.pushes.pop(self.clock.now, [])


def _imap(**keys: object) -> ImapSettings:
    settings = imap_settings("sqlite://", "127.0.0.1", 143, "spoc", "pw", **keys)
    assert settings.imap is not None
    return settings.imap


def test_backoff_doubles_from_one_second_to_five_minutes_and_resets() -> None:
    backoff = Backoff()
    delays = [backoff.next_delay() for _ in range(12)]
    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]
    backoff.reset()
    assert backoff.next_delay() == 1


def test_idle_is_reissued_every_renew_interval_and_done_on_stop() -> None:
    clock = FakeClock(0.0)
    stop = threading.Event()
    woken: list[float] = []
    cfg = _imap(idle_renew_seconds=1500)
    watcher = IdleWatcher(
        cfg, "pw", lambda: woken.append(clock.now), stop=stop, monotonic=clock, check_seconds=60
    )
    client = FakeIdleClient(clock, stop, until=4000)
    client.pushes[120.0] = [(3, b"EXISTS")]
    watcher.idle(client)  # type: ignore[arg-type]
    idles = [t for name, t in client.calls if name == "idle"]
    dones = [t for name, t in client.calls if name == "done"]
    assert idles == [0, 1500, 3000]
    assert dones == [1500, 3000, 4020]  # the last check ends on a 60 s boundary after 4000
    assert watcher.renewals == 2
    assert woken == [120.0]


def test_default_renewal_is_inside_the_rfc_2177_29_minute_timeout() -> None:
    assert _imap().idle_renew_seconds == 25 * 60
    with pytest.raises(Exception, match="idle_renew_seconds"):
        _imap(idle_renew_seconds=29 * 60)


def test_server_bye_is_a_dropped_connection() -> None:
    clock = FakeClock(0.0)
    stop = threading.Event()
    watcher = IdleWatcher(_imap(), "pw", lambda: None, stop=stop, monotonic=clock)
    client = FakeIdleClient(clock, stop, until=100)
    client.pushes[1.0] = [(b"BYE", b"Server shutting down.")]
    with pytest.raises(MailboxUnavailable, match="closed the IDLE connection"):
        watcher.idle(client)  # type: ignore[arg-type]


def test_reconnections_back_off_and_a_stable_connection_resets_the_backoff() -> None:
    clock = FakeClock(0.0)
    stop = RecordingStop(clock)
    outcomes = ["down"] * 4 + ["stable"] + ["down"] * 2 + ["stop"]
    watcher = IdleWatcher(_imap(), "pw", lambda: None, stop=stop, monotonic=clock)

    def watch_once() -> bool:
        outcome = outcomes.pop(0)
        if outcome == "stop":
            stop.set()
            return True
        if outcome == "stable":  # connected, idled for a while, then dropped
            watcher.connected_at = clock.now
            clock.now += STABLE_SECONDS
        raise MailboxUnavailable(f"{outcome}")

    watcher.watch_once = watch_once  # type: ignore[method-assign]
    watcher.run()
    assert stop.waits == [1, 2, 4, 8, 1, 2, 4]


def test_new_mail_and_bye_are_read_from_untagged_responses() -> None:
    assert has_new_mail([(4, b"EXISTS")])
    assert has_new_mail([(1, b"RECENT")])
    assert not has_new_mail([(0, b"RECENT"), (2, b"EXPUNGE"), (b"OK", b"Still here")])
    assert not has_new_mail([(1, b"FETCH", (b"FLAGS", (b"\\Seen",)))])
    assert says_bye([(b"BYE", b"Server shutting down.")])
    assert not says_bye([(1, b"EXISTS")])


def _poll_job(tmp_path: Path) -> tuple[PollJob, Pipeline, Register]:
    settings = maildir_settings(f"sqlite:///{tmp_path / 'r.sqlite3'}", tmp_path / "box")
    register = Register(settings.database.url)
    pipeline = Pipeline(settings, register)
    return PollJob(pipeline, 60), pipeline, register


def test_a_wake_during_a_pass_runs_one_more_pass_and_a_burst_no_more(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job, pipeline, register = _poll_job(tmp_path)
    triggered: list[int] = []
    job.trigger = lambda: triggered.append(1)
    passes: list[int] = []

    def run_once() -> PassReport:
        passes.append(1)
        if len(passes) == 1:
            for _ in range(10):  # a burst of EXISTS while the first pass runs
                job.wake()
        return PassReport()

    monkeypatch.setattr(pipeline, "run_once", run_once)
    try:
        job()
    finally:
        register.dispose()
    assert len(passes) == 2
    assert triggered == []  # busy: the running call reruns itself instead of the scheduler
    job.wake()
    assert triggered == [1]


def test_a_wake_cuts_short_the_backoff_after_the_mailbox_was_unreachable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job, pipeline, register = _poll_job(tmp_path)
    outcomes: list[Exception | None] = [MailboxUnavailable("down"), None, RuntimeError("bug")]

    def run_once() -> PassReport:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome
        return PassReport()

    monkeypatch.setattr(pipeline, "run_once", run_once)
    try:
        job()
        assert job.not_before is not None and job.mailbox_down
        job.wake()  # the IDLE watcher reached the server again
        assert job.not_before is None
        job()
        assert job.failures == 0
        job()  # not a mailbox fault: a wake leaves this backoff alone
        job.wake()
        assert job.not_before is not None
    finally:
        register.dispose()
