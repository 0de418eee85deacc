"""Clock steps, outcomes and internal reviews in the register, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from support.builders import base_config
from support.statutory_cases import statutory_case

from inbox_agent.casework.statutory import (
    CaseworkError,
    clock_state,
    open_review,
    record_clock_event,
    record_outcome,
)
from inbox_agent.deadlines import UkCalendar
from inbox_agent.register.db import Register
from inbox_agent.register.models import AuditEvent, Case, CaseStatus, ClockEventRow
from inbox_agent.settings import Settings, settings_from_dict
from inbox_agent.web.casework import reclassify

pytestmark = pytest.mark.integration

TZ = "Europe/London"
# received 09:00 BST on Mon 11 May 2026; the FOI clock is due Tue 9 Jun (test_statutory_clock)
RECEIVED = dt.datetime(2026, 5, 11, 8, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 6, 10, 9, 0, tzinfo=dt.UTC)
TODAY = NOW.date()


@pytest.fixture
def register(db_url: str) -> Iterator[Register]:
    reg = Register(db_url)
    yield reg
    reg.dispose()


def _foi(register: Register) -> None:
    with register.transaction() as s:
        statutory_case(s, 1, RECEIVED, due=dt.date(2026, 6, 9))


def _settings() -> Settings:
    data = base_config("sqlite://") | {"maildir": {"path": "/tmp/unused"}}
    return settings_from_dict(data, Path("/tmp/inbox-agent.toml"))


def _get(s: Session, reference: str) -> Case:
    return s.scalars(select(Case).where(Case.reference == reference)).one()


def test_clock_steps_outcome_and_review(register: Register) -> None:
    cal = UkCalendar()
    _foi(register)
    step = {"cal": cal, "timezone": TZ, "actor": "sam", "now": NOW, "today": TODAY}
    with register.transaction() as s:
        case = _get(s, "TST-2026-0001")
        record_clock_event(
            s,
            case=case,
            kind="fees_notice",
            on=dt.date(2026, 5, 18),
            until=None,
            reason="Copying 900 pages: fees notice for £45",
            **step,  # type: ignore[arg-type]
        )
        assert case.due_date is None
    with register.transaction() as s:
        case = _get(s, "TST-2026-0001")
        with pytest.raises(CaseworkError, match="reason"):
            record_clock_event(
                s,
                case=case,
                kind="fee_paid",
                on=dt.date(2026, 6, 8),
                until=None,
                reason=" ",
                **step,  # type: ignore[arg-type]
            )
        with pytest.raises(CaseworkError, match="nothing is waiting"):
            record_clock_event(
                s,
                case=case,
                kind="clarification_received",
                on=dt.date(2026, 6, 8),
                until=None,
                reason="wrong step",
                **step,  # type: ignore[arg-type]
            )
        record_clock_event(
            s,
            case=case,
            kind="fee_paid",
            on=dt.date(2026, 6, 8),
            until=None,
            reason="Cheque received",
            **step,  # type: ignore[arg-type]
        )
    with register.transaction() as s:  # confirming the category keeps the clock's steps
        case = _get(s, "TST-2026-0001")
        reclassify(s, _settings(), cal, case, category="foi_request", note="", actor="sam", now=NOW)
    with register.transaction() as s:
        case = _get(s, "TST-2026-0001")
        assert case.due_date == dt.date(2026, 7, 1)  # worked in test_statutory_clock
        assert case.status == CaseStatus.IN_PROGRESS
        state = clock_state(case, cal, TZ)
        assert state is not None and state.due == dt.date(2026, 7, 1)
        rows = s.scalars(select(ClockEventRow).order_by(ClockEventRow.id)).all()
        assert [(r.kind, r.actor, r.due_after) for r in rows] == [
            ("fees_notice", "sam", None),
            ("fee_paid", "sam", dt.date(2026, 7, 1)),
        ]
        with pytest.raises(CaseworkError, match="exemption"):
            record_outcome(
                s,
                case,
                outcome="refused",
                exemptions=[],
                responded_on=TODAY,
                actor="sam",
                now=NOW,
                today=TODAY,
            )
        with pytest.raises(CaseworkError, match="Not an exemption"):
            record_outcome(
                s,
                case,
                outcome="refused",
                exemptions=["sch2.16"],
                responded_on=TODAY,
                actor="sam",
                now=NOW,
                today=TODAY,
            )
        record_outcome(
            s,
            case,
            outcome="granted_in_part",
            exemptions=["s.40", "s.31"],
            responded_on=TODAY,
            actor="sam",
            now=NOW,
            today=TODAY,
        )
    with register.transaction() as s:
        case = _get(s, "TST-2026-0001")
        assert (case.outcome, case.exemptions) == ("granted_in_part", ["s.31", "s.40"])
        review = open_review(
            s,
            cal,
            case,
            received_on=dt.date(2026, 11, 9),
            request_text="Please review s.31",
            prefix="TST",
            actor="sam",
            now=NOW,
            today=dt.date(2026, 11, 9),
        )
        assert (review.reference, review.review_of_id) == ("TST-2026-0002", case.id)
        assert review.due_date == dt.date(2026, 12, 8)  # worked in test_statutory_clock
        with pytest.raises(CaseworkError, match="already has an internal review"):
            open_review(
                s,
                cal,
                case,
                received_on=dt.date(2026, 11, 9),
                request_text="again",
                prefix="TST",
                actor="sam",
                now=NOW,
                today=dt.date(2026, 11, 9),
            )
        ref = review.reference
    with register.transaction() as s:
        review = _get(s, ref)
        later = NOW.replace(month=12, day=1)
        record_clock_event(
            s,
            cal,
            TZ,
            review,
            kind="extension",
            on=dt.date(2026, 12, 1),
            until=dt.date(2027, 1, 11),
            reason="Exceptional: 4,000 documents to re-read",
            actor="sam",
            now=later,
            today=later.date(),
        )
        assert review.due_date == dt.date(2027, 1, 11)
        actions = s.scalars(
            select(AuditEvent.action).where(AuditEvent.actor == "sam").order_by(AuditEvent.id)
        ).all()
        assert actions == [
            "clock_event_recorded",
            "clock_event_recorded",
            "category_corrected",
            "reclassification_recorded",
            "outcome_recorded",
            "review_opened",
            "review_requested",
            "clock_event_recorded",
        ]
