"""The web UI's queries and actions on both registers: SQLite and a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from support.builders import base_config, message

from inbox_agent.deadlines import UkCalendar
from inbox_agent.register.db import Register
from inbox_agent.register.models import AuditEvent, Case, CaseStatus, StoredMessage
from inbox_agent.settings import Settings, settings_from_dict
from inbox_agent.web import accounts, casework
from inbox_agent.web.dashboard import build_dashboard
from inbox_agent.web.queue import QueueFilters, find_cases, officers, open_counts_by_category

pytestmark = pytest.mark.integration

NOW = dt.datetime(2027, 4, 14, 10, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.fixture
def register(db_url: str) -> Iterator[Register]:
    reg = Register(db_url)
    yield reg
    reg.dispose()


def _settings(db_url: str, tmp_path: Path) -> Settings:
    data = base_config(db_url)
    data["maildir"] = {"path": str(tmp_path / "mail")}
    return settings_from_dict(data, tmp_path / "inbox-agent.toml")


def _case(session: Session, n: int, **values: Any) -> Case:
    raw = message(f"Person {n} <p{n}@example.org>", f"Subject {n}", "A question\x00 with NUL")
    case = Case(
        **{
            "reference": f"TST-2027-{n:04d}",
            "status": CaseStatus.NEW,
            "category": "information_request",
            "confidence": 0.9,
            "classifier_version": "test",
            "date_of_contact": NOW - dt.timedelta(days=n),
            "requester_email": f"p{n}@example.org",
            "subject": f"Subject {n}",
            "date_added_to_register": NOW,
            "updated_at": NOW,
        }
        | values
    )
    session.add(case)
    session.flush()
    session.add(
        StoredMessage(
            sha256=f"sha-{n}",
            body_sha256="b",
            message_id=f"<m{n}@example.org>",
            raw=raw,
            size=len(raw),
            received_at=NOW - dt.timedelta(days=n),
            disposition="case",
            sender=f"p{n}@example.org",
            case_id=case.id,
        )
    )
    session.flush()
    return case


def test_queue_dashboard_and_actions_on_both_registers(
    register: Register, db_url: str, tmp_path: Path
) -> None:
    settings = _settings(db_url, tmp_path)
    with register.transaction() as s:
        _case(s, 1, due_date=TODAY + dt.timedelta(days=3), needs_review=True)
        _case(s, 2, category="foi_request", due_date=TODAY + dt.timedelta(days=15))
        _case(s, 3, due_date=TODAY - dt.timedelta(days=2), officer="Sam")
        _case(s, 4, status=CaseStatus.CLOSED, category="foi_request", due_date=TODAY)
        accounts.add_user(
            s, "sam", "a long password!", role="admin", display_name="Sam", actor="t", now=NOW
        )
    calendar = UkCalendar()
    with register.transaction() as s:
        page = find_cases(s, QueueFilters(), TODAY, calendar)
        assert [c.reference[-1] for c in page.cases] == ["2", "3", "1"]
        review = find_cases(s, QueueFilters(review=True, q="subject 1"), TODAY, calendar)
        assert [c.reference for c in review.cases] == ["TST-2027-0001"]
        assert open_counts_by_category(s) == {"information_request": 2, "foi_request": 1}
        assert officers(s) == ["Sam"]
        board = build_dashboard(s, settings, NOW, calendar)
        assert board.total == 4 and board.stopped == ()
        assert {c.category: (c.open, c.total) for c in board.categories} == {
            "foi_request": (1, 2),
            "information_request": (2, 2),
        }
        assert sum(w.count for w in board.weeks) == 4
    with register.transaction() as s:
        case = s.scalars(select(Case).where(Case.reference == "TST-2027-0001")).one()
        casework.reclassify(
            s, settings, calendar, case, category="foi_request", note="", actor="sam", now=NOW
        )
        casework.send_reply(s, settings, case, "Answer", actor="sam", now=NOW)
        casework.set_status(s, case, CaseStatus.CLOSED, "", actor="sam", now=NOW)
    with register.transaction() as s:
        actions = list(
            s.scalars(
                select(AuditEvent.action).where(AuditEvent.actor == "sam").order_by(AuditEvent.id)
            )
        )
        assert actions == [
            "category_corrected",
            "reclassification_recorded",
            "reply_queued",
            "case_closed",
        ]
