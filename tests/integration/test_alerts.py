"""The SPOC is told once when polling has failed too long, and once when it recovers.

Dovecot is really stopped, so every poll really fails; the alert really goes out through the
outbox to a real SMTP server. A fake clock moves the outage on without sleeping.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from servers import DovecotServer, SmtpSink
from sqlalchemy import select
from support.builders import HUMAN, imap_settings, message, smtp_config
from support.clock import FakeClock

from inbox_agent.pipeline import Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.models import AlertState, AuditEvent, OutboxMessage, OutboxStatus
from inbox_agent.scheduler import PollJob
from inbox_agent.settings import AlertsSettings, Settings

pytestmark = pytest.mark.integration

IT = "it-service-desk@opcc.testshire.example.org"
START = dt.datetime(2027, 4, 14, 8, 0, tzinfo=dt.UTC)
INTERVAL = 60
MAX_CALLS = 200  # every loop below is bounded


@pytest.fixture
def register(db_url: str) -> Iterator[Register]:
    reg = Register(db_url)
    try:
        yield reg
    finally:
        reg.dispose()


def _settings(db_url: str, dovecot: DovecotServer, sink: SmtpSink, **alerts: Any) -> Settings:
    settings = imap_settings(
        db_url,
        dovecot.host,
        dovecot.port,
        dovecot.user,
        dovecot.password,
        smtp=smtp_config(sink.host, sink.port),
        actions={"acknowledge_since": "2020-01-01T00:00:00Z"},
        timeout_seconds=5.0,
    )
    return settings.model_copy(update={"alerts": AlertsSettings(**alerts)})


def _parsed(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _alerts_received(sink: SmtpSink) -> list[EmailMessage]:
    return [_parsed(m.data) for m in sink.messages if m.rcpt_tos == (IT,)]


def _run_until(job: PollJob, clock: FakeClock, until: dt.datetime) -> int:
    """Call the job once a minute of fake time, as the scheduler would; return the calls."""
    calls = 0
    while clock.now < until:
        assert calls < MAX_CALLS
        job()
        calls += 1
        clock.now += dt.timedelta(seconds=INTERVAL)
    return calls


def _make_job(settings: Settings, register: Register, clock: FakeClock) -> PollJob:
    return PollJob(Pipeline(settings, register, clock=clock), INTERVAL)


def test_one_alert_after_the_threshold_and_one_recovery(
    db_url: str, register: Register, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    settings = _settings(db_url, dovecot, smtp_sink, email=IT, poll_failure_minutes=30)
    clock = FakeClock(START)
    job = _make_job(settings, register, clock)
    job()
    assert job.failures == 0

    dovecot.stop()
    failed_at = clock.now = START + dt.timedelta(minutes=1)
    _run_until(job, clock, failed_at + dt.timedelta(minutes=29))
    assert job.failures >= 1
    assert _alerts_received(smtp_sink) == [], "no alert before the threshold"

    _run_until(job, clock, failed_at + dt.timedelta(minutes=120))
    alerts = _alerts_received(smtp_sink)
    assert len(alerts) == 1, "exactly one alert however long the outage lasts"
    alert = alerts[0]
    assert "cannot read the election inbox for" in str(alert["Subject"])
    assert alert["Auto-Submitted"] == "auto-generated"
    body = alert.get_body(preferencelist=("plain",))
    assert body is not None
    text = " ".join(body.get_content().split())  # unwrapped
    assert "MailboxUnavailable" in text and "Wednesday 14 April 2027 at 09:01 (BST)" in text
    assert dovecot.password not in text

    # a restart in the middle of the outage neither repeats the alert nor forgets it
    job = _make_job(settings, register, clock)
    _run_until(job, clock, clock.now + dt.timedelta(minutes=30))
    assert len(_alerts_received(smtp_sink)) == 1

    dovecot.start()
    dovecot.append("INBOX", message(*HUMAN[0]))
    job.not_before = None  # the scheduler's backoff is tested elsewhere; poll now
    job()
    assert job.failures == 0
    alerts = _alerts_received(smtp_sink)
    assert len(alerts) == 2
    assert "being read again" in str(alerts[1]["Subject"])
    _run_until(job, clock, clock.now + dt.timedelta(minutes=10))
    assert len(_alerts_received(smtp_sink)) == 2, "one recovery email, not one per poll"
    assert any(m.rcpt_tos == ("ann@example.com",) for m in smtp_sink.messages)

    with register.transaction() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "alert")).all()
        assert [(r.case_id, r.status, r.recipient) for r in rows] == [
            (None, OutboxStatus.SENT, IT),
            (None, OutboxStatus.SENT, IT),
        ]
        state = s.scalars(select(AlertState)).one()
        assert state.failing_since is None and state.raised_at is None
        actions = [e.action for e in s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
        assert actions.count("alert_raised") == 1 and actions.count("alert_cleared") == 1


def test_a_short_outage_emails_nobody(
    db_url: str, register: Register, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    settings = _settings(db_url, dovecot, smtp_sink, email=IT, poll_failure_minutes=30)
    clock = FakeClock(START)
    job = _make_job(settings, register, clock)
    job()
    dovecot.stop()
    _run_until(job, clock, START + dt.timedelta(minutes=20))
    dovecot.start()
    job.not_before = None
    job()
    _run_until(job, clock, clock.now + dt.timedelta(minutes=60))
    assert job.failures == 0
    assert _alerts_received(smtp_sink) == []
    with register.transaction() as s:
        assert s.scalars(select(AlertState)).one().failing_since is None


def test_without_an_alert_address_the_outage_is_logged_and_audited(
    db_url: str,
    register: Register,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = _settings(db_url, dovecot, smtp_sink)
    assert settings.alerts.email is None and settings.alerts.poll_failure_minutes == 30
    clock = FakeClock(START)
    job = _make_job(settings, register, clock)
    dovecot.stop()
    _run_until(job, clock, START + dt.timedelta(minutes=45))
    assert smtp_sink.messages == []
    assert sum("event=alert_raised" in r.getMessage() for r in caplog.records) == 1
    with register.transaction() as s:
        assert s.scalars(select(OutboxMessage)).all() == []
        raised = s.scalars(select(AuditEvent).where(AuditEvent.action == "alert_raised")).all()
        assert len(raised) == 1
