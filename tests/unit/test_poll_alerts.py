"""The alert state machine in the poll job, on a Maildir source that is missing (polls fail)."""

from __future__ import annotations

import datetime as dt
import email
import mailbox
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from support.builders import base_config
from support.clock import FakeClock

from inbox_agent.pipeline import Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.models import AuditEvent, OutboxMessage
from inbox_agent.scheduler import PollJob
from inbox_agent.settings import Settings, settings_from_dict

IT = "it@opcc.testshire.example.org"
START = dt.datetime(2027, 4, 14, 8, 0, tzinfo=dt.UTC)


def _settings(tmp_path: Path) -> Settings:
    data = base_config(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    data["maildir"] = {"path": str(tmp_path / "box")}  # not created: every poll fails
    data["smtp"] = {
        "from_address": "elections@opcc.testshire.example.org",
        "deliver": "maildir",
        "maildir_path": str(tmp_path / "outbox"),
    }
    data["alerts"] = {"email": IT, "poll_failure_minutes": 30}
    return settings_from_dict(data, tmp_path / "inbox-agent.toml")


@pytest.fixture
def register(tmp_path: Path) -> Iterator[Register]:
    reg = Register(_settings(tmp_path).database.url)
    try:
        yield reg
    finally:
        reg.dispose()


def _alerts(register: Register) -> list[OutboxMessage]:
    with register.transaction() as s:
        return list(s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "alert")))


def test_the_alert_is_not_held_back_by_the_retry_backoff(
    tmp_path: Path, register: Register
) -> None:
    clock = FakeClock(START)
    job = PollJob(Pipeline(_settings(tmp_path), register, clock=clock), 60)
    raised_at = None
    for minute in range(60):  # the scheduler calls once a minute; polls back off to 15 min
        clock.now = START + dt.timedelta(minutes=minute)
        job()
        if raised_at is None and _alerts(register):
            raised_at = minute
    assert raised_at == 31  # the first call after 30 minutes, though no poll was due then
    assert len(_alerts(register)) == 1
    delivered = list(mailbox.Maildir(tmp_path / "outbox", create=False))
    assert len(delivered) == 1 and delivered[0]["To"] == IT  # drained at once


def test_an_unexpected_error_counts_as_a_failed_poll(
    tmp_path: Path, register: Register, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(START)
    pipeline = Pipeline(_settings(tmp_path), register, clock=clock)

    def broken() -> None:
        raise RuntimeError("a bug (injected)")

    monkeypatch.setattr(pipeline, "run_once", broken)
    job = PollJob(pipeline, 60)
    job()  # must not raise into the scheduler
    assert job.failures == 1 and job.not_before == START + dt.timedelta(minutes=2)
    clock.now = START + dt.timedelta(minutes=31)
    job()
    with register.transaction() as s:
        raised = s.scalars(select(AuditEvent).where(AuditEvent.action == "alert_raised")).one()
    assert "RuntimeError: a bug (injected)" in raised.detail["error"]


def test_an_outage_recorded_before_a_restart_is_cleared_by_the_first_good_poll(
    tmp_path: Path, register: Register
) -> None:
    clock = FakeClock(START)
    settings = _settings(tmp_path)
    job = PollJob(Pipeline(settings, register, clock=clock), 60)
    for minute in (0, 40):
        clock.now = START + dt.timedelta(minutes=minute)
        job()
    assert len(_alerts(register)) == 1
    mailbox.Maildir(tmp_path / "box", create=True).close()  # fixed; the service restarts
    fresh = PollJob(Pipeline(settings, register, clock=clock), 60)
    fresh()
    assert fresh.failures == 0
    subjects = [email.message_from_bytes(row.raw)["Subject"] for row in _alerts(register)]
    assert len(subjects) == 2 and "being read again" in subjects[1]
