"""s.12 aggregation and s.14 repeats: pure over facts and scores, in working days."""

from __future__ import annotations

import datetime as dt

from inbox_agent.casework.foi_flags import FOI, S12, S14, RequestFacts, foi_flags
from inbox_agent.deadlines import UkCalendar
from inbox_agent.similar import RELATED, SAME_QUESTION

CALENDAR = UkCalendar()
TODAY = dt.date(2027, 4, 12)  # a Monday


def _facts(ref: str, who: str, received: dt.date, *, answered: bool = False) -> RequestFacts:
    return RequestFacts(
        ref, who, received, FOI, received + dt.timedelta(days=3) if answered else None
    )


THIS = _facts("T-1", "ann@example.org", TODAY)


def test_related_requests_from_one_person_within_60_working_days_may_be_aggregated() -> None:
    inside = _facts("T-2", "ann@example.org", CALENDAR.add_working_days(TODAY, 60))
    outside = _facts("T-3", "ann@example.org", CALENDAR.add_working_days(TODAY, 61))
    [flag] = foi_flags(THIS, [(inside, RELATED), (outside, 0.9)], CALENDAR)
    assert flag.section == S12 and [r.reference for r in flag.requests] == ["T-2"]
    assert "same requester" in flag.explanation


def test_another_person_counts_only_with_the_same_request() -> None:
    related = _facts("T-4", "bob@example.org", TODAY)
    assert foi_flags(THIS, [(related, RELATED)], CALENDAR) == []
    [flag] = foi_flags(THIS, [(related, SAME_QUESTION)], CALENDAR)
    assert flag.section == S12 and "acting in concert" in flag.explanation


def test_the_same_request_answered_before_is_a_possible_repeat() -> None:
    earlier = _facts("T-5", "ann@example.org", TODAY - dt.timedelta(days=200), answered=True)
    unanswered = _facts("T-6", "ann@example.org", TODAY - dt.timedelta(days=200))
    flags = foi_flags(THIS, [(earlier, SAME_QUESTION), (unanswered, 0.9)], CALENDAR)
    assert [f.section for f in flags] == [S14]  # 200 days back: too old to aggregate
    assert [r.reference for r in flags[0].requests] == ["T-5"]


def test_only_foi_requests_are_flagged() -> None:
    other = RequestFacts("T-7", "ann@example.org", TODAY, "information_request", None)
    assert foi_flags(other, [(THIS, 1.0)], CALENDAR) == []
    assert foi_flags(THIS, [(other, 1.0)], CALENDAR) == []
