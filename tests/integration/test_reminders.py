"""Officers' reminders and the escalation, through the outbox to aiosmtpd, each sent once.

A FOI request received Mon 2 Mar 2026 is due Tue 31 Mar (tests/unit/test_statutory_clock.py).
With ``remind_working_days_before = 3`` the reminder is owed from Thu 26 Mar (27, 30, 31 are
the three working days left), not on Wed 25 Mar (four left); from Wed 1 Apr the date is missed.
Wednesday 1 April is in BST: 07:00 office time is 06:00 UTC.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import SmtpSink
from sqlalchemy import func, select
from support.builders import base_config, smtp_config
from support.concurrency import fire_together
from support.statutory_cases import statutory_case

from inbox_agent.deadlines import UkCalendar
from inbox_agent.ops.reminders import ReminderJob, queue_reminders
from inbox_agent.register.db import Register
from inbox_agent.register.models import OutboxMessage, ReminderSent
from inbox_agent.send import Sender
from inbox_agent.settings import Settings, settings_from_dict
from inbox_agent.web.casework import assign_officer

pytestmark = pytest.mark.integration

OFFICER = "Fiona Officer"
OFFICER_TO = "fiona.officer@opcc.testshire.example.org"
CHIEF = "chief.executive@opcc.testshire.example.org"
RECEIVED = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
SINK_TIMEOUT_S = 5.0


def _utc(day: int, month: int, hour: int) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, 0, tzinfo=dt.UTC)


def _settings(url: str, tmp_path: Path, sink: SmtpSink) -> Settings:
    data = base_config(url)
    data["maildir"] = {"path": str(tmp_path / "inbox")}
    data["smtp"] = smtp_config(sink.host, sink.port)
    data["casework"] = {
        "officer_addresses": {OFFICER: OFFICER_TO},
        "chief_executive": CHIEF,
        "remind_working_days_before": 3,
        "reminder_hour": 7,
    }
    return settings_from_dict(data, tmp_path / "inbox-agent.toml")


@pytest.fixture
def register(db_url: str) -> Iterator[Register]:
    reg = Register(db_url)
    yield reg
    reg.dispose()


def _subject(raw: bytes) -> str:
    return email.message_from_bytes(raw, policy=email.policy.default)["Subject"]


def _run(register: Register, settings: Settings, now: dt.datetime) -> list[str]:
    """One pass of the daemon's job, as a fresh process would make it (restart-safe)."""
    with register.transaction() as s:
        keys = queue_reminders(s, settings, now, UkCalendar())
    Sender(settings, register, clock=lambda: now).drain()
    return [k.split(":")[0] for k in keys]


def test_reminders_on_assignment_before_and_after_the_date_once_each(
    register: Register, db_url: str, tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    settings = _settings(db_url, tmp_path, smtp_sink)
    with register.transaction() as s:
        case = statutory_case(s, 1, RECEIVED, due=dt.date(2026, 3, 31))
        statutory_case(s, 2, RECEIVED, requester="other@example.org")  # nobody's: CE only
        assign_officer(s, case, OFFICER, actor="sam", now=_utc(4, 3, 9))
    assert _run(register, settings, _utc(4, 3, 10)) == ["assigned"]
    assert _run(register, settings, _utc(4, 3, 10)) == [], "a restart sends nothing again"
    assert _run(register, settings, _utc(25, 3, 12)) == [], "four working days left"
    assert _run(register, settings, _utc(26, 3, 6)) == [], "before reminder_hour (07:00 GMT)"
    assert _run(register, settings, _utc(26, 3, 7)) == ["due_soon", "due_soon"]
    assert _run(register, settings, _utc(30, 3, 9)) == [], "one due-soon reminder per date"
    assert _run(register, settings, _utc(1, 4, 6)) == ["missed", "escalation"] * 2
    assert _run(register, settings, _utc(2, 4, 9)) == []

    got = smtp_sink.wait_for_messages(7, timeout=SINK_TIMEOUT_S)
    inbox = str(settings.office.inbox_address)
    sent = [(m.rcpt_tos[0], _subject(m.data)) for m in got]
    assert sent == [
        (OFFICER_TO, "[TST-2026-0001] Case assigned to you"),
        (OFFICER_TO, "[TST-2026-0001] Statutory date approaching"),
        (inbox, "[TST-2026-0002] Statutory date approaching"),  # unassigned: the SPOC inbox
        (OFFICER_TO, "[TST-2026-0001] Statutory date missed"),
        (CHIEF, "[TST-2026-0001] Escalation: statutory date missed"),
        (inbox, "[TST-2026-0002] Statutory date missed"),
        (CHIEF, "[TST-2026-0002] Escalation: statutory date missed"),
    ]
    body = email.message_from_bytes(got[1].data, policy=email.policy.default).get_body()
    assert body is not None and "due by Tuesday 31 March 2026" in body.get_content()
    assert b"Auto-Submitted: auto-generated" in got[0].data

    with register.transaction() as s:
        keys = s.scalar(select(func.count()).select_from(ReminderSent))
        rows = s.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "reminder")
        )
    assert (keys, rows) == (7, 7)


def test_two_nodes_firing_together_send_each_reminder_once(
    postgres_url: str, tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    settings = _settings(postgres_url, tmp_path, smtp_sink)
    now = _utc(1, 4, 9)
    setup = Register(postgres_url)
    try:
        with setup.transaction() as s:
            for n in range(1, 6):
                case = statutory_case(s, n, RECEIVED, requester=f"p{n}@example.org")
                assign_officer(s, case, OFFICER, actor="sam", now=RECEIVED)
    finally:
        setup.dispose()
    registers = [Register(postgres_url) for _ in range(2)]
    jobs = [
        ReminderJob(settings, r, Sender(settings, r, clock=lambda: now), lambda: now)
        for r in registers
    ]
    try:
        fire_together(jobs)
    finally:
        for r in registers:
            r.dispose()
    # five cases: assigned, missed and escalation each
    got = smtp_sink.wait_for_messages(15, timeout=SINK_TIMEOUT_S)
    assert len(got) == 15
    assert sorted(m.rcpt_tos[0] for m in got) == sorted([CHIEF] * 5 + [OFFICER_TO] * 10)
