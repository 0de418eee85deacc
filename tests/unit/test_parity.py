"""Parity: an answer to a candidate not published in time is flagged; offers are compared."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.transparency_office import B_AGENT, MONDAY, A, B, C, Office, opened_office

from inbox_agent.deadlines import UkCalendar
from inbox_agent.transparency.parity import ParityReport, build_parity, render_parity
from inbox_agent.transparency.publish import approve_publication, publish_log, withhold_publication

TUESDAY = MONDAY + dt.timedelta(days=1)  # the answer: 13 April 2027


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    with opened_office(tmp_path, publish_after_working_days=5) as o:
        yield o


def _report(office: Office, day: dt.date) -> ParityReport:
    now = dt.datetime.combine(day, dt.time(12, 0), tzinfo=dt.UTC)
    with office.register.transaction() as s:
        return build_parity(s, office.settings, now, UkCalendar())


def _answered_case(office: Office) -> str:
    case = office.receive(f"{A['name']} <{A['email']}>", "Officers", "How many officers are there?")
    office.answer(case.reference, "There are 412 officers.", now=TUESDAY)
    return case.reference


def test_an_unpublished_answer_is_flagged_after_the_configured_working_days(
    office: Office,
) -> None:
    reference = _answered_case(office)
    # Tuesday 13 April + 5 working days = Tuesday 20 April: still in time that day
    assert _report(office, dt.date(2027, 4, 20)).alerts == []
    report = _report(office, dt.date(2027, 4, 21))
    [alert] = report.alerts
    assert alert.reference == reference and alert.candidate == A["name"]
    assert (alert.answered, alert.publish_by, alert.working_days) == (
        dt.date(2027, 4, 13),
        dt.date(2027, 4, 20),
        6,
    )
    assert "not published after 6 working days" in alert.message
    assert any(line.startswith("  ALERT ") for line in render_parity(report))


def test_a_weekend_and_a_bank_holiday_do_not_count(office: Office) -> None:
    case = office.receive(f"{A['name']} <{A['email']}>", "Officers", "How many officers?")
    # answered Thursday 29 April 2027; Monday 3 May is the early May bank holiday
    office.answer(case.reference, "412.", now=dt.datetime(2027, 4, 29, 12, tzinfo=dt.UTC))
    # Fri 30 April, then Tue 4 .. Fri 7 May: the 5th working day is Friday 7 May
    assert _report(office, dt.date(2027, 5, 7)).alerts == []
    [alert] = _report(office, dt.date(2027, 5, 10)).alerts
    assert alert.publish_by == dt.date(2027, 5, 7)


def test_publishing_or_withholding_clears_the_alert(office: Office, tmp_path: Path) -> None:
    reference = _answered_case(office)
    late = dt.datetime(2027, 4, 26, 12, tzinfo=dt.UTC)
    with office.register.transaction() as s:
        approve_publication(s, office.settings, Office.case(s, reference), actor="r", now=late)
    assert len(_report(office, late.date()).alerts) == 1  # approved is not yet published
    with office.register.transaction() as s:
        publish_log(s, office.settings, tmp_path / "site", actor="r", now=late)
    report = _report(office, late.date())
    assert report.alerts == []
    [a] = [c for c in report.candidates if c.name == A["name"]]
    assert (a.asked, a.answered, a.published) == (1, 1, 1)

    other = office.receive(f"{C['name']} <{C['email']}>", "Custody", "My own custody record?")
    office.answer(other.reference, "Please make a subject access request.", now=TUESDAY)
    assert [x.reference for x in _report(office, late.date()).alerts] == [other.reference]
    with office.register.transaction() as s:
        withhold_publication(s, Office.case(s, other.reference), "personal", actor="r", now=late)
    assert _report(office, late.date()).alerts == []


def test_every_candidate_is_listed_with_what_they_asked_incumbent_included(
    office: Office,
) -> None:
    office.receive(f"{B['name']} <{B['email']}>", "Budget", "The force budget, please.")
    office.receive(f"{B_AGENT['name']} <{B_AGENT['email']}>", "Estates", "The estates plan?")
    report = _report(office, dt.date(2027, 4, 13))
    by_name = {c.name: c for c in report.candidates}
    assert set(by_name) == {A["name"], B["name"], C["name"]}  # the agent counts with B
    b = by_name[B["name"]]
    assert b.incumbent and b.party == "Conservative Party" and b.asked == 2
    assert {line.requester_type for line in b.cases} == {"candidate", "agent"}
    assert by_name[C["name"]].party == "Independent" and by_name[A["name"]].asked == 0
    data = json.loads(json.dumps(report.as_dict()))
    assert data["candidates"][0]["asked"] in (0, 1, 2)


def test_unknown_self_declared_candidates_are_listed_and_alerted(office: Office) -> None:
    case = office.receive("Ivy Stand <ivy@example.com>", "Plan", "I am a candidate. The plan?")
    office.answer(case.reference, "The plan is on our website.", now=TUESDAY)
    report = _report(office, dt.date(2027, 4, 30))
    assert [line.reference for line in report.unmatched] == [case.reference]
    assert [a.reference for a in report.alerts] == [case.reference]


def test_a_meeting_offered_to_one_candidate_is_listed_against_the_others(
    office: Office,
) -> None:
    case = office.receive(
        f"{A['name']} <{A['email']}>", "Meeting request", "Could I meet the Chief Constable?"
    )
    office.answer(
        case.reference, "The Chief Executive offers you a briefing on 20 April.", now=TUESDAY
    )
    other = office.receive(f"{B['name']} <{B['email']}>", "Budget", "The budget please.")
    office.answer(other.reference, "The budget is attached.", now=TUESDAY)
    report = _report(office, dt.date(2027, 4, 14))
    [offer] = report.offers
    assert offer.reference == case.reference and offer.offered_to == A["name"]
    assert offer.others == {B["name"]: [], C["name"]: []}
    text = "\n".join(render_parity(report))
    assert f"{B['name']}: nothing offered" in text
