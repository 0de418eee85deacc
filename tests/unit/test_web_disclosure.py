"""The publication screens' choices without a browser: what waits, what staff changed.

The office is ``tests/support/transparency_office.py`` (a Maildir read by the real pipeline, a
real SQLite register, the roster); decisions go through ``inbox_agent.transparency.publish`` as
the pages do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.transparency_office import MONDAY, A, B, C, Office, opened_office

from inbox_agent.deadlines import UkCalendar
from inbox_agent.transparency.anonymise import Redaction
from inbox_agent.transparency.publish import approve_publication, publish_log, withhold_publication
from inbox_agent.web.publication import build_overview, edited_text, found_items

ANSWERED = MONDAY + dt.timedelta(days=1)  # Tuesday 13 April 2027
IN_TIME = dt.datetime(2027, 4, 20, 12, tzinfo=dt.UTC)  # the 5th working day after
LATE = dt.datetime(2027, 4, 21, 12, tzinfo=dt.UTC)


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    with opened_office(tmp_path, publish_after_working_days=5) as o:
        yield o


@pytest.mark.parametrize(
    ("submitted", "expected"),
    [
        (None, None),  # the field was not sent: the draft
        ("Dear [name],\r\n\r\nThere are 412.\r\n", None),  # a browser's line ends, the draft
        ("  Dear [name],\n\nThere are 412.  ", None),
        ("There are 412.", "There are 412."),
        ("", ""),  # emptied: approve_publication refuses it, never silently the draft
    ],
)
def test_only_a_text_staff_changed_is_given_as_theirs(
    submitted: str | None, expected: str | None
) -> None:
    assert edited_text(submitted, "Dear [name],\n\nThere are 412.") == expected


def test_what_was_taken_out_is_listed_once_in_text_order() -> None:
    text = "Call Ann on 0123, Ann again."
    redactions = (
        Redaction(12, 16, "PHONE"),
        Redaction(5, 8, "PERSON"),
        Redaction(18, 21, "PERSON"),
    )
    assert found_items(text, redactions) == [("PERSON", "Ann"), ("PHONE", "0123")]


def test_answered_cases_wait_until_decided_and_late_ones_carry_the_parity_alert(
    office: Office, tmp_path: Path
) -> None:
    to_a = office.receive(f"{A['name']} <{A['email']}>", "Officers", "How many officers?")
    office.answer(to_a.reference, "There are 412.", now=ANSWERED)
    to_b = office.receive(f"{B['name']} <{B['email']}>", "Budget", "The budget, please?")
    office.answer(to_b.reference, "It is on our website.", now=ANSWERED)
    unanswered = office.receive(f"{C['name']} <{C['email']}>", "Custody", "How many cells?")
    public = office.receive("Pat Public <pat@example.com>", "Parking", "Where can I park?")
    office.answer(public.reference, "At the front.", now=ANSWERED)

    with office.register.transaction() as s:
        in_time = build_overview(s, office.settings, IN_TIME, UkCalendar())
        waiting = {w.case.reference: w for w in in_time.waiting}
        assert set(waiting) == {to_a.reference, to_b.reference, public.reference}
        assert unanswered.reference not in waiting
        assert all(w.answered == ANSWERED.date() and w.alert is None for w in waiting.values())

    with office.register.transaction() as s:
        late = build_overview(s, office.settings, LATE, UkCalendar())
        alerts = {w.case.reference: w.alert for w in late.waiting}
        assert alerts[public.reference] is None, "not a candidate: no parity deadline"
        alert = alerts[to_a.reference]
        assert alert is not None and alert.publish_by == dt.date(2027, 4, 20)

    with office.register.transaction() as s:
        approve_publication(s, office.settings, Office.case(s, to_a.reference), actor="r", now=LATE)
        withhold_publication(s, Office.case(s, to_b.reference), "personal", actor="r", now=LATE)
    with office.register.transaction() as s:
        decided = build_overview(s, office.settings, LATE, UkCalendar())
        assert [w.case.reference for w in decided.waiting] == [public.reference]
        assert [c.reference for _, c in decided.approved] == [to_a.reference]
        assert [(c.reference, p.reason) for p, c in decided.withheld] == [
            (to_b.reference, "personal")
        ]
        assert decided.published == []
        publish_log(s, office.settings, tmp_path / "site", actor="r", now=LATE)
    with office.register.transaction() as s:
        written = build_overview(s, office.settings, LATE, UkCalendar())
        assert written.approved == []
        assert [p.published_on for p, _ in written.published] == [LATE.date()]
