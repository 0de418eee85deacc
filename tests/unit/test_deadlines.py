"""Deadlines worked by hand from the published UK bank holiday lists (gov.uk, 2021-2026).

Every expected date below was counted on a calendar before the code ran; the working is in
the comment beside it. "Day 0" is the (effective) date of receipt, "d1" the first working day
after it. Bank holidays are written [like this] where the count steps over them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from inbox_agent.deadlines import (
    Phase,
    UkCalendar,
    election_phase,
    foi_due_date,
    received_local_date,
    sar_due_date,
    target_due_date,
)
from inbox_agent.settings import ElectionSettings

D = date


@pytest.fixture(scope="module")
def cal() -> UkCalendar:
    return UkCalendar()


# Weekdays that are a bank holiday in at least one part of the UK, from the gov.uk lists
# for England and Wales, Scotland and Northern Ireland (weekend dates omitted: the
# substitute day is listed instead).
UK_WEEKDAY_HOLIDAYS = {
    2021: "01-01 01-04 03-17 04-02 04-05 05-03 05-31 07-12 08-02 08-30 11-30 12-27 12-28",
    2022: "01-03 01-04 03-17 04-15 04-18 05-02 06-02 06-03 07-12 08-01 08-29 09-19 11-30 "
    "12-26 12-27",
    2023: "01-02 01-03 03-17 04-07 04-10 05-01 05-08 05-29 07-12 08-07 08-28 11-30 12-25 12-26",
    2024: "01-01 01-02 03-18 03-29 04-01 05-06 05-27 07-12 08-05 08-26 12-02 12-25 12-26",
    2025: "01-01 01-02 03-17 04-18 04-21 05-05 05-26 07-14 08-04 08-25 12-01 12-25 12-26",
    2026: "01-01 01-02 03-17 04-03 04-06 05-04 05-25 06-15 07-13 08-03 08-31 11-30 12-25 12-28",
}


@pytest.mark.parametrize("year", sorted(UK_WEEKDAY_HOLIDAYS))
def test_non_working_weekdays_match_the_official_lists(cal: UkCalendar, year: int) -> None:
    expected = {D.fromisoformat(f"{year}-{md}") for md in UK_WEEKDAY_HOLIDAYS[year].split()}
    weekdays = (D(year, 1, 1) + timedelta(days=k) for k in range(366))
    closed = {
        d for d in weekdays if d.year == year and d.weekday() < 5 and not cal.is_working_day(d)
    }
    assert closed == expected


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (D(2024, 3, 16), False),  # Saturday
        (D(2024, 3, 17), False),  # Sunday (St Patrick's Day itself)
        (D(2024, 3, 18), False),  # St Patrick's Day substitute, Northern Ireland only
        (D(2024, 3, 19), True),
        (D(2025, 7, 14), False),  # Battle of the Boyne substitute (12 July was a Saturday)
        (D(2025, 12, 1), False),  # St Andrew's Day substitute (30 November was a Sunday)
        (D(2026, 1, 2), False),  # 2 January, Scotland only
        (D(2026, 6, 15), False),  # World Cup bank holiday, Scotland only (proclaimed 2026)
    ],
)
def test_is_working_day(cal: UkCalendar, day: date, working: bool) -> None:
    assert cal.is_working_day(day) is working


FOI_CASES = [
    # --- Easter ---------------------------------------------------------------------------
    # Wed 20 Mar 2024. d1 Thu 21, d2 Fri 22, d3-6 Mon 25-Thu 28, [Good Fri 29], [Easter Mon
    # 1 Apr], d7-10 Tue 2-Fri 5, d11-15 Mon 8-Fri 12, d16-20 Mon 15-Fri 19.
    (D(2024, 3, 20), D(2024, 4, 19)),
    # Fri 15 Mar 2024. [Mon 18 St Patrick's substitute, NI], d1-4 Tue 19-Fri 22, d5-8 Mon 25-
    # Thu 28, [Good Fri 29], [Easter Mon 1 Apr], d9-12 Tue 2-Fri 5, d13-17 Mon 8-Fri 12,
    # d18-20 Mon 15-Wed 17.
    (D(2024, 3, 15), D(2024, 4, 17)),
    # Wed 25 Mar 2026. d1 Thu 26, d2 Fri 27, d3-6 Mon 30-Thu 2 Apr, [Good Fri 3], [Easter Mon
    # 6], d7-10 Tue 7-Fri 10, d11-15 Mon 13-Fri 17, d16-20 Mon 20-Fri 24.
    (D(2026, 3, 25), D(2026, 4, 24)),
    # --- Christmas, with substitute days --------------------------------------------------
    # Wed 15 Dec 2021 (25/26 Dec on Sat/Sun, 1/2 Jan 2022 on Sat/Sun). d1 Thu 16, d2 Fri 17,
    # d3-7 Mon 20-Fri 24, [Mon 27, Tue 28 substitutes], d8-10 Wed 29-Fri 31, [Mon 3 Jan New
    # Year substitute], [Tue 4 Jan Scottish 2 Jan substitute], d11-13 Wed 5-Fri 7,
    # d14-18 Mon 10-Fri 14, d19 Mon 17, d20 Tue 18.
    (D(2021, 12, 15), D(2022, 1, 18)),
    # Thu 15 Dec 2022 (25 Dec a Sunday; 1/2 Jan 2023 Sun/Mon). d1 Fri 16, d2-6 Mon 19-Fri 23,
    # [Mon 26 Boxing Day], [Tue 27 Christmas substitute], d7-9 Wed 28-Fri 30, [Mon 2 Jan New
    # Year substitute], [Tue 3 Jan Scottish 2 Jan substitute], d10-12 Wed 4-Fri 6,
    # d13-17 Mon 9-Fri 13, d18-20 Mon 16-Wed 18.
    (D(2022, 12, 15), D(2023, 1, 18)),
    # --- Scotland's 2 January -------------------------------------------------------------
    # Fri 22 Dec 2023. [Mon 25], [Tue 26], d1-3 Wed 27-Fri 29, [Mon 1 Jan], [Tue 2 Jan,
    # Scotland], d4-6 Wed 3-Fri 5, d7-11 Mon 8-Fri 12, d12-16 Mon 15-Fri 19, d17-20 Mon 22-
    # Thu 25.
    (D(2023, 12, 22), D(2024, 1, 25)),
    # Tue 23 Dec 2025. d1 Wed 24, [Thu 25], [Fri 26], d2-4 Mon 29-Wed 31, [Thu 1 Jan],
    # [Fri 2 Jan, Scotland], d5-9 Mon 5-Fri 9, d10-14 Mon 12-Fri 16, d15-19 Mon 19-Fri 23,
    # d20 Mon 26.
    (D(2025, 12, 23), D(2026, 1, 26)),
    # --- St Patrick's Day (Northern Ireland) ----------------------------------------------
    # Fri 14 Mar 2025. [Mon 17 St Patrick's], d1-4 Tue 18-Fri 21, d5-9 Mon 24-Fri 28,
    # d10-14 Mon 31-Fri 4 Apr, d15-19 Mon 7-Fri 11, d20 Mon 14. (Without NI: Fri 11 Apr.)
    (D(2025, 3, 14), D(2025, 4, 14)),
    # --- Battle of the Boyne (Northern Ireland) -------------------------------------------
    # Wed 10 Jul 2024. d1 Thu 11, [Fri 12 Boyne], d2-6 Mon 15-Fri 19, d7-11 Mon 22-Fri 26,
    # d12-16 Mon 29-Fri 2 Aug, [Mon 5 Aug, Scottish summer bank holiday], d17-20 Tue 6-Fri 9.
    (D(2024, 7, 10), D(2024, 8, 9)),
    # Fri 11 Jul 2025 (12 July a Saturday). [Mon 14 substitute], d1-4 Tue 15-Fri 18,
    # d5-9 Mon 21-Fri 25, d10-14 Mon 28-Fri 1 Aug, [Mon 4 Aug, Scotland], d15-18 Tue 5-Fri 8,
    # d19 Mon 11, d20 Tue 12.
    (D(2025, 7, 11), D(2025, 8, 12)),
    # Fri 10 Jul 2026 (12 July a Sunday). [Mon 13 substitute], d1-4 Tue 14-Fri 17,
    # d5-9 Mon 20-Fri 24, d10-14 Mon 27-Fri 31, [Mon 3 Aug, Scotland], d15-18 Tue 4-Fri 7,
    # d19 Mon 10, d20 Tue 11.
    (D(2026, 7, 10), D(2026, 8, 11)),
    # --- St Andrew's Day (Scotland) -------------------------------------------------------
    # Wed 29 Nov 2023. [Thu 30 St Andrew's], d1 Fri 1 Dec, d2-6 Mon 4-Fri 8, d7-11 Mon 11-
    # Fri 15, d12-16 Mon 18-Fri 22, [Mon 25], [Tue 26], d17-19 Wed 27-Fri 29, [Mon 1 Jan],
    # [Tue 2 Jan, Scotland], d20 Wed 3 Jan.
    (D(2023, 11, 29), D(2024, 1, 3)),
    # Fri 29 Nov 2024 (30 Nov a Saturday). [Mon 2 Dec substitute], d1-4 Tue 3-Fri 6,
    # d5-9 Mon 9-Fri 13, d10-14 Mon 16-Fri 20, d15 Mon 23, d16 Tue 24, [Wed 25], [Thu 26],
    # d17 Fri 27, d18 Mon 30, d19 Tue 31, [Wed 1 Jan], [Thu 2 Jan, Scotland], d20 Fri 3 Jan.
    (D(2024, 11, 29), D(2025, 1, 3)),
    # Fri 28 Nov 2025 (30 Nov a Sunday). [Mon 1 Dec substitute], d1-4 Tue 2-Fri 5,
    # d5-9 Mon 8-Fri 12, d10-14 Mon 15-Fri 19, d15-17 Mon 22-Wed 24, [Thu 25], [Fri 26],
    # d18-20 Mon 29-Wed 31.
    (D(2025, 11, 28), D(2025, 12, 31)),
    # --- Receipt on a non-working day: treated as received on the next working day ---------
    # Fri 5 Jun 2026 (a working day, so day 0). d1-5 Mon 8-Fri 12, [Mon 15 World Cup bank
    # holiday, Scotland], d6-9 Tue 16-Fri 19, d10-14 Mon 22-Fri 26, d15-19 Mon 29-Fri 3 Jul,
    # d20 Mon 6 Jul.
    (D(2026, 6, 5), D(2026, 7, 6)),
    # Sat 6 Jun 2026 -> received Mon 8 (day 0). d1-4 Tue 9-Fri 12, [Mon 15], d5-8 Tue 16-
    # Fri 19, d9-13 Mon 22-Fri 26, d14-18 Mon 29-Fri 3 Jul, d19 Mon 6, d20 Tue 7 Jul.
    (D(2026, 6, 6), D(2026, 7, 7)),
    # Sun 7 Jun 2026 -> received Mon 8: as above.
    (D(2026, 6, 7), D(2026, 7, 7)),
    # Mon 8 Jun 2026, a working day: day 0 itself, as above.
    (D(2026, 6, 8), D(2026, 7, 7)),
    # Good Friday 3 Apr 2026 -> [Sat, Sun, Easter Mon 6] -> received Tue 7 (day 0).
    # d1-3 Wed 8-Fri 10, d4-8 Mon 13-Fri 17, d9-13 Mon 20-Fri 24, d14-18 Mon 27-Fri 1 May,
    # [Mon 4 May], d19 Tue 5, d20 Wed 6 May.
    (D(2026, 4, 3), D(2026, 5, 6)),
]


@pytest.mark.parametrize(("received", "due"), FOI_CASES)
def test_foi_due_date(cal: UkCalendar, received: date, due: date) -> None:
    assert foi_due_date(received, cal) == due


@pytest.mark.parametrize(("received", "due"), FOI_CASES)
def test_foi_due_date_is_twentieth_working_day_of_the_target_rule(
    cal: UkCalendar, received: date, due: date
) -> None:
    assert target_due_date(received, 20, cal) == due
    assert cal.is_working_day(due)


@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        # Wed 20 Mar 2024: d1 Thu 21, d2 Fri 22, d3-5 Mon 25-Wed 27.
        (D(2024, 3, 20), 5, D(2024, 3, 27)),
        # Thu 28 Mar 2024: [Good Fri 29], [Easter Mon 1 Apr], d1 Tue 2, d2 Wed 3.
        (D(2024, 3, 28), 2, D(2024, 4, 3)),
        # Sat 23 Mar 2024 -> received Mon 25: 0 days is the effective receipt day itself.
        (D(2024, 3, 23), 0, D(2024, 3, 25)),
    ],
)
def test_target_due_date(cal: UkCalendar, received: date, days: int, due: date) -> None:
    assert target_due_date(received, days, cal) == due


def test_override_closure_moves_the_deadline() -> None:
    # Wed 20 Mar 2024 is due Fri 19 Apr (above). Closing Mon 8 Apr removes d11, so the old d20
    # becomes d19 and d20 is the next working day, Mon 22 Apr.
    closed = UkCalendar(extra_closures=[D(2024, 4, 8)])
    assert not closed.is_working_day(D(2024, 4, 8))
    assert foi_due_date(D(2024, 3, 20), closed) == D(2024, 4, 22)


def test_override_working_day_moves_the_deadline() -> None:
    # Wed 10 Jul 2024 is due Fri 9 Aug (above), with [Fri 12 Jul] skipped. Treating 12 July as
    # worked makes it d2, so every later day moves up by one: d20 is Thu 8 Aug.
    unobserved = UkCalendar(extra_working_days=[D(2024, 7, 12)])
    assert unobserved.is_working_day(D(2024, 7, 12))
    assert foi_due_date(D(2024, 7, 10), unobserved) == D(2024, 8, 8)


@pytest.mark.parametrize(
    ("closures", "working", "message"),
    [
        ([D(2024, 7, 12)], [D(2024, 7, 12)], "both as closures and as working days"),
        ([], [D(2024, 7, 13)], "never a working day"),  # a Saturday
    ],
)
def test_contradictory_overrides_are_refused(
    closures: list[date], working: list[date], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        UkCalendar(extra_closures=closures, extra_working_days=working)


@pytest.mark.parametrize(
    ("a", "b", "count"),
    [
        (D(2024, 3, 20), D(2024, 4, 19), 20),  # the Easter 2024 FOI case above
        (D(2024, 3, 28), D(2024, 4, 1), 0),  # Good Friday, weekend, Easter Monday
        (D(2024, 3, 28), D(2024, 4, 2), 1),
        (D(2024, 3, 20), D(2024, 3, 20), 0),
        (D(2024, 4, 19), D(2024, 3, 20), -20),
    ],
)
def test_working_days_between(cal: UkCalendar, a: date, b: date, count: int) -> None:
    assert cal.working_days_between(a, b) == count


def test_add_working_days_refuses_a_negative_count(cal: UkCalendar) -> None:
    with pytest.raises(ValueError, match="0 or more"):
        cal.add_working_days(D(2024, 3, 20), -1)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (D(2025, 1, 31), D(2025, 2, 28)),  # no 31 Feb: last day of February
        (D(2024, 1, 31), D(2024, 2, 29)),  # leap year
        (D(2025, 1, 30), D(2025, 2, 28)),
        (D(2024, 2, 29), D(2024, 3, 29)),  # 29 March exists (a Good Friday: see below)
        (D(2025, 8, 31), D(2025, 9, 30)),  # no 31 Sep
        (D(2025, 8, 1), D(2025, 9, 1)),  # the ICO's own example: 1 August -> 1 September
        (D(2025, 12, 15), D(2026, 1, 15)),  # into the next year
        (D(2025, 12, 31), D(2026, 1, 31)),
        (D(2026, 2, 28), D(2026, 3, 28)),  # a Saturday: without a calendar, no roll-over
    ],
)
def test_sar_due_date(received: date, due: date) -> None:
    assert sar_due_date(received) == due


@pytest.mark.parametrize(
    ("received", "due"),
    [
        # 29 Mar 2024 is Good Friday -> [Sat 30, Sun 31, Easter Mon 1 Apr] -> Tue 2 Apr.
        (D(2024, 2, 29), D(2024, 4, 2)),
        # 28 Feb 2026 is a Saturday -> Mon 2 Mar.
        (D(2026, 1, 31), D(2026, 3, 2)),
        # 28 Mar 2026 is a Saturday -> Mon 30 Mar.
        (D(2026, 2, 28), D(2026, 3, 30)),
        # 25 Dec 2025 Thu -> [Fri 26 Boxing Day, Sat, Sun] -> Mon 29 Dec.
        (D(2025, 11, 25), D(2025, 12, 29)),
        # 17 Mar 2025 Mon is St Patrick's Day (NI) -> Tue 18 Mar.
        (D(2025, 2, 17), D(2025, 3, 18)),
        # 30 Sep 2025 is a Tuesday: stays.
        (D(2025, 8, 31), D(2025, 9, 30)),
    ],
)
def test_sar_due_date_rolls_to_the_next_working_day(
    cal: UkCalendar, received: date, due: date
) -> None:
    assert sar_due_date(received, cal) == due


# Bedfordshire 2024 (config/bedfordshire.toml): pre-election period from Tue 26 Mar,
# nominations close Fri 5 Apr, statement Mon 8 Apr, poll Thu 2 May.
ELECTION_2024 = ElectionSettings(
    pre_election_period_start=D(2024, 3, 26),
    nominations_close=D(2024, 4, 5),
    persons_nominated_published=D(2024, 4, 8),
    poll_date=D(2024, 5, 2),
)


@pytest.mark.parametrize(
    ("on", "phase"),
    [
        (D(2023, 11, 1), Phase.BEFORE_PRE_ELECTION),
        (D(2024, 3, 25), Phase.BEFORE_PRE_ELECTION),  # the day before the period starts
        (D(2024, 3, 26), Phase.PRE_ELECTION),  # the first day of the period
        (D(2024, 4, 5), Phase.PRE_ELECTION),  # nominations close at 4 pm that day
        (D(2024, 4, 6), Phase.AFTER_NOMINATIONS),
        (D(2024, 4, 8), Phase.AFTER_NOMINATIONS),  # statement published: no new phase
        (D(2024, 5, 2), Phase.AFTER_NOMINATIONS),  # polling day itself
        (D(2024, 5, 3), Phase.AFTER_POLL),  # the count and declaration
        (D(2025, 1, 1), Phase.AFTER_POLL),
    ],
)
def test_election_phase(on: date, phase: Phase) -> None:
    assert election_phase(on, ELECTION_2024) is phase


def test_election_phase_when_every_date_is_the_same_day() -> None:
    # The settings validator allows it; the day belongs to the pre-election period.
    same = D(2024, 5, 2)
    election = ElectionSettings(
        pre_election_period_start=same,
        nominations_close=same,
        persons_nominated_published=same,
        poll_date=same,
    )
    assert election_phase(same - timedelta(days=1), election) is Phase.BEFORE_PRE_ELECTION
    assert election_phase(same, election) is Phase.PRE_ELECTION
    assert election_phase(same + timedelta(days=1), election) is Phase.AFTER_POLL


@pytest.mark.parametrize(
    ("received_at", "local"),
    [
        # BST began at 01:00 UTC on Sun 31 Mar 2024: 23:30 UTC is 00:30 BST on 1 April.
        (datetime(2024, 3, 31, 23, 30, tzinfo=UTC), D(2024, 4, 1)),
        # 00:30 UTC on 31 March is still GMT: 00:30 on 31 March.
        (datetime(2024, 3, 31, 0, 30, tzinfo=UTC), D(2024, 3, 31)),
        # Winter: UTC and UK dates agree.
        (datetime(2024, 1, 31, 23, 30, tzinfo=UTC), D(2024, 1, 31)),
        # BST ended at 01:00 UTC on Sun 27 Oct 2024: 23:30 UTC on 26 Oct is 00:30 BST, 27 Oct.
        (datetime(2024, 10, 26, 23, 30, tzinfo=UTC), D(2024, 10, 27)),
        (datetime(2024, 10, 27, 23, 30, tzinfo=UTC), D(2024, 10, 27)),
        # Not UTC: 01:00 at +02:00 is 23:00 UTC on 31 May, 00:00 BST on 1 June.
        (datetime(2024, 6, 1, 1, 0, tzinfo=timezone(timedelta(hours=2))), D(2024, 6, 1)),
    ],
)
def test_received_local_date(received_at: datetime, local: date) -> None:
    assert received_local_date(received_at, "Europe/London") == local


def test_received_local_date_refuses_a_naive_timestamp() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        received_local_date(datetime(2024, 3, 31, 23, 30), "Europe/London")
