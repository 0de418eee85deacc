"""The weekly summary to the Chief Executive: content, once a week, and its scheduled job."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select
from support.transparency_office import MONDAY, A, Office, opened_office

from inbox_agent.deadlines import UkCalendar
from inbox_agent.ops.reports import WeeklyReportJob, queue_weekly_report
from inbox_agent.pipeline import Pipeline
from inbox_agent.register.models import OutboxMessage
from inbox_agent.scheduler import run_daemon

CHIEF = "chief.executive@opcc.testshire.example.org"


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    with opened_office(tmp_path, weekly_report_to=CHIEF, publish_after_working_days=3) as o:
        yield o


def _body(row: OutboxMessage) -> str:
    msg: Message = message_from_bytes(row.raw)
    part = msg.get_payload(decode=True) if not msg.is_multipart() else None
    assert isinstance(part, bytes)
    return part.decode("utf-8")


def test_the_summary_counts_categories_overdue_cases_and_parity_alerts(office: Office) -> None:
    foi = office.receive(
        "Bob Voter <bob@example.net>",
        "FOI request",
        "Under the Freedom of Information Act 2000, please send me the cost of the office.",
    )
    case = office.receive(f"{A['name']} <{A['email']}>", "Officers", "How many officers?")
    office.answer(case.reference, "There are 412.", now=MONDAY + dt.timedelta(days=1))
    with office.register.transaction() as s:
        Office.case(s, foi.reference).due_date = dt.date(2027, 5, 10)
    now = dt.datetime(2027, 5, 17, 7, 0, tzinfo=dt.UTC)  # Monday, 08:00 in London
    with office.register.transaction() as s:
        row = queue_weekly_report(s, office.settings, now, UkCalendar())
        assert row is not None
        assert (row.kind, row.case_id, row.recipient) == ("report", None, CHIEF)
        body = _body(row)
        assert "weekly summary 2027-W20" in row.raw.decode()
        again = queue_weekly_report(s, office.settings, now + dt.timedelta(hours=3), UkCalendar())
        assert again is None  # one a week, whatever restarts or runs happen
    assert f"{foi.reference} (foi request), due Monday 10 May 2027, 7 day(s)" in body
    assert "foi request: 1" in body and "information request: 1" in body
    assert f"- {case.reference}: the answer given to {A['name']} on 2027-04-13" in body
    assert "working days: 1" in body


def test_without_a_recipient_nothing_is_queued(tmp_path: Path) -> None:
    office = Office(tmp_path)
    try:
        with office.register.transaction() as s:
            assert queue_weekly_report(s, office.settings, MONDAY, UkCalendar()) is None
            assert s.scalars(select(OutboxMessage)).all() == []
    finally:
        office.close()


def test_the_job_queues_and_sends_through_the_outbox(office: Office) -> None:
    pipeline = Pipeline(office.settings, office.register, clock=lambda: MONDAY)
    job = WeeklyReportJob(office.settings, office.register, pipeline.sender, pipeline.clock)
    job()
    job()
    with office.register.transaction() as s:
        rows = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "report")).all()
        assert [r.status for r in rows] == ["sent"]
    assert len(list((office.tmp_path / "outbox" / "new").iterdir())) == 1


def test_the_daemon_schedules_it_weekly_one_at_a_time(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    added: list[dict[str, Any]] = []

    class Recording(BackgroundScheduler):  # type: ignore[misc]
        def add_job(self, func: Any, trigger: Any = None, **kwargs: Any) -> Any:
            job = super().add_job(func, trigger, **kwargs)
            added.append({"id": kwargs.get("id"), "trigger": job.trigger, **kwargs})
            return job

    monkeypatch.setattr("inbox_agent.scheduler.BackgroundScheduler", Recording)
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    pipeline = Pipeline(office.settings, office.register)
    pipeline.stop.set()  # start, then stop at once
    run_daemon([pipeline], 60)
    [weekly] = [a for a in added if a["id"] == "weekly_report:default"]
    assert weekly["max_instances"] == 1 and weekly["coalesce"] is True
    trigger = str(weekly["trigger"])
    assert "day_of_week='mon'" in trigger and "hour='8'" in trigger and "minute='0'" in trigger
    assert str(weekly["trigger"].timezone) == "Europe/London"
    assert added[0]["id"] == "poll:default"
