"""The reminder plan is pure: which reminders a case owes on a day, and their once-only keys."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from support.builders import base_config
from support.transparency_office import opened_office

from inbox_agent.deadlines import UkCalendar
from inbox_agent.ops.reminders import CaseFacts, ReminderJob, plan_reminders
from inbox_agent.pipeline import Pipeline
from inbox_agent.scheduler import run_daemon
from inbox_agent.settings import settings_from_dict

SETTINGS = settings_from_dict(
    base_config("sqlite://")
    | {
        "maildir": {"path": "/tmp/unused"},
        "casework": {"officer_addresses": {"Jo Bloggs": "jo@x.example"}},
    },
    Path("/tmp/inbox-agent.toml"),
)
CAL = UkCalendar()
FACTS = CaseFacts(
    1, "TST-2026-0001", "Overtime", "foi_request", "jo  bloggs", 7, dt.date(2026, 3, 31), False
)


def _plan(facts: CaseFacts, day: dt.date, hour: int = 9) -> list[tuple[str, str]]:
    return [
        (p.key, p.recipient)
        for p in plan_reminders([facts], SETTINGS, today=day, hour=hour, cal=CAL)
    ]


def test_keys_name_the_assignment_and_the_date_they_concern() -> None:
    assert _plan(FACTS, dt.date(2026, 3, 26)) == [
        ("assigned:1:7", "jo@x.example"),  # names match without case or spacing
        ("due_soon:1:2026-03-31", "jo@x.example"),
    ]
    moved = replace(FACTS, due=dt.date(2026, 4, 30), assignment_id=9)
    assert _plan(moved, dt.date(2026, 4, 27)) == [
        ("assigned:1:9", "jo@x.example"),
        ("due_soon:1:2026-04-30", "jo@x.example"),
    ]


def test_nothing_dated_before_the_hour_for_a_stopped_clock_or_a_response() -> None:
    assert _plan(FACTS, dt.date(2026, 4, 1), hour=6) == [("assigned:1:7", "jo@x.example")]
    for facts in (replace(FACTS, due=None), replace(FACTS, responded=True)):
        assert _plan(replace(facts, assignment_id=None), dt.date(2026, 4, 1)) == []
    missed = _plan(replace(FACTS, officer="Someone Else"), dt.date(2026, 4, 1))
    inbox = str(SETTINGS.office.inbox_address)
    assert [k for k, _ in missed] == [
        "assigned:1:7",
        "missed:1:2026-03-31",
        "escalation:1:2026-03-31",
    ]
    assert {to for _, to in missed} == {inbox}  # no address for the officer, no CE: the inbox


def test_the_daemon_runs_the_reminders_every_poll_one_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    added: list[dict[str, Any]] = []

    class Recording(BackgroundScheduler):  # type: ignore[misc]
        def add_job(self, func: Any, trigger: Any = None, **kwargs: Any) -> Any:
            job = super().add_job(func, trigger, **kwargs)
            added.append({"id": kwargs.get("id"), "func": func, **kwargs})
            return job

    monkeypatch.setattr("inbox_agent.scheduler.BackgroundScheduler", Recording)
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    with opened_office(tmp_path, roster=False) as office:
        pipeline = Pipeline(office.settings, office.register)
        pipeline.stop.set()  # start, then stop at once
        run_daemon([pipeline], 60)
    [job] = [a for a in added if a["id"] == "reminders:default"]
    assert isinstance(job["func"], ReminderJob)
    assert (job["seconds"], job["max_instances"], job["coalesce"]) == (60, 1, True)


def test_an_officer_without_a_configured_address_is_found_by_their_web_account() -> None:
    raj = replace(FACTS, officer="Raj  Reviewer", due=None)
    planned = plan_reminders(
        [raj], SETTINGS, today=dt.date(2026, 3, 4), hour=9, cal=CAL,
        accounts={"raj reviewer": "raj@x.example"},
    )  # fmt: skip
    assert [(p.key, p.recipient) for p in planned] == [("assigned:1:7", "raj@x.example")]
