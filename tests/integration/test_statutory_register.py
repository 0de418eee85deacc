"""Clock steps, outcomes and internal reviews in the register, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from support.builders import base_config
from support.statutory_cases import statutory_case

from inbox_agent.casework.clock_status import clock_stops, open_stopped_cases
from inbox_agent.casework.register_rows import register_rows
from inbox_agent.casework.statutory import (
    CaseworkError,
    clock_state,
    open_review,
    record_clock_event,
    record_outcome,
)
from inbox_agent.deadlines import UkCalendar
from inbox_agent.register.db import Register
from inbox_agent.register.export import write_csv
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


def _steps(s: Session, case: Case, *steps: tuple[str, dt.date, str]) -> None:
    for kind, on, reason in steps:
        record_clock_event(
            s,
            UkCalendar(),
            TZ,
            case,
            kind=kind,
            on=on,
            until=None,
            reason=reason,
            actor="sam",
            now=NOW,
            today=TODAY,
        )


def may(day: int) -> dt.date:
    return dt.date(2026, 5, day)


def test_a_stopped_clock_says_what_is_awaited_since_when_and_why(register: Register) -> None:
    with register.transaction() as s:
        asked = statutory_case(s, 1, RECEIVED, due=dt.date(2026, 6, 9))
        _steps(s, asked, ("clarification_sought", may(13), "Which force area?"))
        paid = statutory_case(s, 2, RECEIVED, due=dt.date(2026, 6, 9), requester="p@example.org")
        _steps(s, paid, ("fees_notice", may(12), "900 pages"), ("fee_paid", may(20), "Paid"))
        sar = statutory_case(s, 3, RECEIVED, category="subject_access_request")
        _steps(s, sar, ("id_requested", may(14), "Passport copy"))
        sar.status = CaseStatus.CLOSED  # never answered: closed, still stopped
        statutory_case(s, 4, RECEIVED, due=dt.date(2026, 6, 9))  # no steps: running
        twice = statutory_case(s, 5, RECEIVED, due=dt.date(2026, 6, 9))
        _steps(
            s,
            twice,
            ("clarification_sought", may(12), "Which year?"),
            ("clarification_received", may(15), "2025"),
            ("clarification_sought", may(18), "Calendar or financial year?"),
        )
    with register.transaction() as s:
        cases = list(s.scalars(select(Case).order_by(Case.id)))
        stops = clock_stops(s, cases, UkCalendar(), TZ)
        by_ref = {c.reference: stops[c.id] for c in cases if c.id in stops}
        assert {ref: (st.kind, st.since, st.reason) for ref, st in by_ref.items()} == {
            "TST-2026-0001": ("clarification_sought", may(13), "Which force area?"),
            "TST-2026-0003": ("id_requested", may(14), "Passport copy"),
            "TST-2026-0005": ("clarification_sought", may(18), "Calendar or financial year?"),
        }
        assert by_ref["TST-2026-0003"].waiting_for == "proof of identity"
        assert by_ref["TST-2026-0001"].summary == (
            "waiting for clarification from the requester since 2026-05-13"
        )
        assert by_ref["TST-2026-0001"].days(may(20)) == 7
        opened = open_stopped_cases(s, UkCalendar(), TZ)
        assert [c.reference for c, _ in opened] == ["TST-2026-0001", "TST-2026-0005"]


STATUTORY_COLUMNS = (
    "statutory_date",
    "clock",
    "clock_stopped_since",
    "clock_stopped_awaiting",
    "outcome",
    "exemptions",
    "responded_on",
    "internal_review",
    "review_of",
)


def test_the_register_export_carries_outcome_exemptions_clock_and_review_link(
    register: Register,
) -> None:
    settings = _settings()
    with register.transaction() as s:
        refused = statutory_case(s, 1, RECEIVED, due=dt.date(2026, 6, 9))
        refused.decisions_and_risk_mitigations = "=1+1 Chief Executive consulted"
        _steps(s, refused, ("extension", may(29), "s.31 public interest test"))
        refusal = {"outcome": "refused", "exemptions": ["s.40", "s.31"], "responded_on": TODAY}
        record_outcome(s, refused, actor="sam", now=NOW, today=TODAY, **refusal)  # type: ignore[arg-type]
        asked = statutory_case(s, 2, RECEIVED, due=dt.date(2026, 6, 9), requester="a@example.org")
        _steps(s, asked, ("clarification_sought", may(12), "Which force area?"))
        statutory_case(s, 3, RECEIVED, category="information_request", requester="i@example.org")
        review = open_review(
            s,
            UkCalendar(),
            refused,
            received_on=dt.date(2026, 6, 15),
            request_text="Please look again at s.31",
            prefix="TST",
            actor="sam",
            now=NOW,
            today=dt.date(2026, 6, 15),
        )
        review_due, extended_due = review.due_date, refused.due_date
    assert extended_due is not None and extended_due > dt.date(2026, 6, 9)
    with register.transaction() as s:
        rows = {row["reference"]: row for row in register_rows(s, settings)}
        out = io.StringIO()
        assert write_csv(rows.values(), out) == 4
    assert [{k: rows[ref][k] for k in STATUTORY_COLUMNS} for ref in sorted(rows)] == [
        {
            "statutory_date": "2026-06-09",
            "clock": "responded",
            "clock_stopped_since": "",
            "clock_stopped_awaiting": "",
            "outcome": "Refused in full",
            "exemptions": "s.31 Law enforcement; s.40 Personal information",
            "responded_on": TODAY.isoformat(),
            "internal_review": "TST-2026-0004",
            "review_of": "",
        },
        {
            "statutory_date": "",
            "clock": "stopped",
            "clock_stopped_since": "2026-05-12",
            "clock_stopped_awaiting": "clarification from the requester (Which force area?)",
            "outcome": "",
            "exemptions": "",
            "responded_on": "",
            "internal_review": "",
            "review_of": "",
        },
        dict.fromkeys(STATUTORY_COLUMNS, ""),  # an information request: no statutory clock
        {
            "statutory_date": review_due.isoformat() if review_due else "?",
            "clock": "running",
            "clock_stopped_since": "",
            "clock_stopped_awaiting": "",
            "outcome": "",
            "exemptions": "",
            "responded_on": "",
            "internal_review": "",
            "review_of": "TST-2026-0001",
        },
    ]
    assert rows["TST-2026-0001"]["due_date"] == extended_due.isoformat()
    assert rows["TST-2026-0001"]["decisions_and_risk_mitigations"] == (
        "=1+1 Chief Executive consulted\nFOI outcome: Refused in full, responded "
        f"{TODAY.isoformat()}; exemptions cited: s.31 Law enforcement; s.40 Personal information"
    )
    written = {r["Reference"]: r for r in csv.DictReader(io.StringIO(out.getvalue()))}
    assert written["TST-2026-0001"]["Decisions and risk mitigations"].startswith("'=1+1")
    assert written["TST-2026-0001"]["Exemptions cited"] == rows["TST-2026-0001"]["exemptions"]
    assert written["TST-2026-0002"]["Statutory clock"] == "stopped"
    assert written["TST-2026-0004"]["Review of"] == "TST-2026-0001"
