"""Clock events on FOI, SAR and internal-review deadlines, with every date worked by hand.

The counting convention is test_deadlines.py's: "d1" is the first working day after the
(effective) date of receipt; bank holidays in any part of the UK are written [like this].
2026 holidays used below: 17 Mar [St Patrick, NIR], 3 Apr [Good Friday], 6 Apr [Easter
Monday, ENG/WLS/NIR], 4 May [early May], 25 May [spring], 15 Jun [SCT, World Cup],
30 Nov [St Andrew, SCT], 25 and 28 Dec; 1 Jan 2027 and 4 Jan 2027 [SCT, 2 January substitute].
"""

from __future__ import annotations

from datetime import date

import pytest

from inbox_agent.casework.statutory_clock import (
    ClockError,
    ClockEvent,
    ClockKind,
    Regime,
    replay,
)
from inbox_agent.deadlines import UkCalendar, add_months, review_due_date, working_days_used

D = date
K = ClockKind


@pytest.fixture(scope="module")
def cal() -> UkCalendar:
    return UkCalendar()


def E(kind: ClockKind, on: date, until: date | None = None) -> ClockEvent:
    return ClockEvent(kind, on, until)


# Request received Mon 2 Mar 2026: d1 Tue 3 ... d9 Fri 13, d10 Mon 16, [17], d11 Wed 18 ...
# d19 Mon 30, d20 Tue 31 Mar.
FOI_2_MARCH_DUE = D(2026, 3, 31)

CASES = [
    # (regime, received, events, due, stopped)
    pytest.param(Regime.FOI, D(2026, 3, 2), [], FOI_2_MARCH_DUE, False, id="foi-no-events"),
    pytest.param(
        Regime.FOI,
        D(2026, 3, 2),
        [E(K.CLARIFICATION_SOUGHT, D(2026, 3, 4))],
        None,
        True,
        id="foi-clarification-pending",
    ),
    # answer Fri 13 Mar: d1 Mon 16, [17], d2 Wed 18 ... d13 Thu 2 Apr, [3], [6], d14 Tue 7 ...
    # d17 Fri 10, d18 Mon 13, d19 Tue 14, d20 Wed 15 Apr
    pytest.param(
        Regime.FOI,
        D(2026, 3, 2),
        [E(K.CLARIFICATION_SOUGHT, D(2026, 3, 4)), E(K.CLARIFICATION_RECEIVED, D(2026, 3, 13))],
        D(2026, 4, 15),
        False,
        id="foi-clarification-restart",
    ),
    # answer Sat 14 Mar is received Mon 16: d1 Wed 18 [17 skipped] ... one day later: Thu 16 Apr
    pytest.param(
        Regime.FOI,
        D(2026, 3, 2),
        [E(K.CLARIFICATION_SOUGHT, D(2026, 3, 4)), E(K.CLARIFICATION_RECEIVED, D(2026, 3, 14))],
        D(2026, 4, 16),
        False,
        id="foi-clarification-answer-on-saturday",
    ),
    # a Saturday request (received Sat 7 Mar, counted from Mon 9) clarified the same Saturday;
    # the answer Mon 9 Mar: d4 Fri 13, d5 Mon 16, [17], d6 Wed 18 ... d15 Tue 31, d16 Wed 1 Apr,
    # d17 Thu 2, [3], [6], d18 Tue 7, d19 Wed 8, d20 Thu 9 Apr
    pytest.param(
        Regime.FOI,
        D(2026, 3, 7),
        [E(K.CLARIFICATION_SOUGHT, D(2026, 3, 7)), E(K.CLARIFICATION_RECEIVED, D(2026, 3, 9))],
        D(2026, 4, 9),
        False,
        id="foi-weekend-request-clarified-on-arrival",
    ),
    # Mon 11 May: notice Mon 18 May, 4 days used (12-15); fee Mon 8 Jun; 16 left: d1 Tue 9,
    # d2 Wed 10, d3 Thu 11, d4 Fri 12, [15], d5 Tue 16 ... d8 Fri 19, d9 Mon 22 ... d13 Fri 26,
    # d14 Mon 29, d15 Tue 30, d16 Wed 1 Jul
    pytest.param(
        Regime.FOI,
        D(2026, 5, 11),
        [E(K.FEES_NOTICE, D(2026, 5, 18)), E(K.FEE_PAID, D(2026, 6, 8))],
        D(2026, 7, 1),
        False,
        id="foi-fees-notice-disregarded",
    ),
    # without the notice: d4 Fri 15, d5 Mon 18 ... d9 Fri 22, [25], d10 Tue 26 ... d13 Fri 29,
    # d14 Mon 1 Jun ... d18 Fri 5, d19 Mon 8, d20 Tue 9 Jun
    pytest.param(Regime.FOI, D(2026, 5, 11), [], D(2026, 6, 9), False, id="foi-11-may"),
    # notice on the day of receipt uses nothing: 20 from payment Fri 22 May: [25], d1 Tue 26,
    # ... d4 Fri 29, d5 Mon 1 Jun ... d9 Fri 5, d10 Mon 8 ... d13 Thu 11, d14 Fri 12, [15],
    # d15 Tue 16 ... d18 Fri 19, d19 Mon 22, d20 Tue 23 Jun
    pytest.param(
        Regime.FOI,
        D(2026, 5, 11),
        [E(K.FEES_NOTICE, D(2026, 5, 11)), E(K.FEE_PAID, D(2026, 5, 22))],
        D(2026, 6, 23),
        False,
        id="foi-fees-notice-on-receipt-day",
    ),
    # public interest: notice on d20 (Tue 31 Mar); limit 20 more: Wed 1 Apr d1, Thu 2 d2, [3],
    # [6], d3 Tue 7 ... d6 Fri 10, d7 Mon 13 ... d11 Fri 17, d16 Fri 24, d20 Thu 30 Apr
    pytest.param(
        Regime.FOI,
        D(2026, 3, 2),
        [E(K.EXTENSION, D(2026, 3, 31), D(2026, 4, 30))],
        D(2026, 4, 30),
        False,
        id="foi-public-interest-longest",
    ),
    pytest.param(
        Regime.FOI,
        D(2026, 3, 2),
        [E(K.EXTENSION, D(2026, 3, 10), D(2026, 4, 14))],
        D(2026, 4, 14),
        False,
        id="foi-public-interest-shorter",
    ),
    # clarification restart (due Wed 15 Apr), then an extension: d1 Thu 16 ... d11 Thu 30,
    # d12 Fri 1 May, [4], d13 Tue 5 ... d16 Fri 8, d17 Mon 11 ... d20 Thu 14 May
    pytest.param(
        Regime.FOI,
        D(2026, 3, 2),
        [
            E(K.CLARIFICATION_SOUGHT, D(2026, 3, 4)),
            E(K.CLARIFICATION_RECEIVED, D(2026, 3, 13)),
            E(K.EXTENSION, D(2026, 4, 15), D(2026, 5, 14)),
        ],
        D(2026, 5, 14),
        False,
        id="foi-restart-then-extension",
    ),
    # SAR Sat 31 Jan: one month is Sat 28 Feb (shorter month), rolled to Mon 2 Mar
    pytest.param(Regime.SAR, D(2026, 1, 31), [], D(2026, 3, 2), False, id="sar-no-events"),
    pytest.param(
        Regime.SAR,
        D(2026, 1, 31),
        [E(K.ID_REQUESTED, D(2026, 2, 2))],
        None,
        True,
        id="sar-id-pending",
    ),
    # ID received Tue 17 Mar [a holiday in NIR only: the month still runs from it]: Fri 17 Apr
    pytest.param(
        Regime.SAR,
        D(2026, 1, 31),
        [E(K.ID_REQUESTED, D(2026, 2, 2)), E(K.CLARIFICATION_RECEIVED, D(2026, 3, 17))],
        D(2026, 4, 17),
        False,
        id="sar-id-restart",
    ),
    # clarification Tue 3 Feb, answer Mon 30 Mar: Thu 30 Apr
    pytest.param(
        Regime.SAR,
        D(2026, 1, 31),
        [E(K.CLARIFICATION_SOUGHT, D(2026, 2, 3)), E(K.CLARIFICATION_RECEIVED, D(2026, 3, 30))],
        D(2026, 4, 30),
        False,
        id="sar-clarification-restart",
    ),
    # Fri 30 Jan: month ends Sat 28 Feb -> Mon 2 Mar; notice on 2 Mar is in time; three months
    # from 30 Jan is Thu 30 Apr
    pytest.param(
        Regime.SAR,
        D(2026, 1, 30),
        [E(K.EXTENSION, D(2026, 3, 2))],
        D(2026, 4, 30),
        False,
        id="sar-extension",
    ),
    # Sun 30 Nov 2025: the month is Tue 30 Dec; extended, 30 Feb does not exist: Sat 28 Feb
    # 2026, rolled to Mon 2 Mar
    pytest.param(
        Regime.SAR,
        D(2025, 11, 30),
        [E(K.EXTENSION, D(2025, 12, 30))],
        D(2026, 3, 2),
        False,
        id="sar-extension-short-month",
    ),
    # review Mon 9 Nov 2026: d1 Tue 10 ... d14 Fri 27, [30 Nov], d15 Tue 1 Dec ... d20 Tue 8 Dec
    pytest.param(Regime.REVIEW, D(2026, 11, 9), [], D(2026, 12, 8), False, id="review-20"),
    # exceptional: d21 Wed 9 ... d32 Thu 24, [25], [28], d33 Tue 29, d34 Wed 30, d35 Thu 31,
    # [1 Jan], [4 Jan SCT], d36 Tue 5 ... d39 Fri 8, d40 Mon 11 Jan 2027
    pytest.param(
        Regime.REVIEW,
        D(2026, 11, 9),
        [E(K.EXTENSION, D(2026, 12, 1), D(2027, 1, 11))],
        D(2027, 1, 11),
        False,
        id="review-exceptional-40",
    ),
]


@pytest.mark.parametrize(("regime", "received", "events", "due", "stopped"), CASES)
def test_clock_after_events(
    cal: UkCalendar,
    regime: Regime,
    received: date,
    events: list[ClockEvent],
    due: date | None,
    stopped: bool,
) -> None:
    state = replay(regime, received, events, cal)
    assert state.due == due
    assert state.stopped is stopped


REFUSED = [
    # clarification sought after the 20th working day (Tue 31 Mar)
    pytest.param(
        Regime.FOI, D(2026, 3, 2), [E(K.CLARIFICATION_SOUGHT, D(2026, 4, 1))], "Too late", id="a"
    ),
    # extension notice on Wed 1 Apr, a day after the 20 working days
    pytest.param(
        Regime.FOI,
        D(2026, 3, 2),
        [E(K.EXTENSION, D(2026, 4, 1), D(2026, 4, 20))],
        "Too late",
        id="pi-notice-late",
    ),
    # more than 20 extra working days: Fri 1 May is d21
    pytest.param(
        Regime.FOI,
        D(2026, 3, 2),
        [E(K.EXTENSION, D(2026, 3, 31), D(2026, 5, 1))],
        "2026-04-30 at the latest",
        id="pi-too-long",
    ),
    pytest.param(
        Regime.FOI,
        D(2026, 3, 2),
        [E(K.EXTENSION, D(2026, 3, 20), D(2026, 3, 31))],
        "after the statutory date",
        id="pi-not-later",
    ),
    pytest.param(
        Regime.FOI, D(2026, 3, 2), [E(K.FEE_PAID, D(2026, 3, 4))], "nothing is waiting", id="b"
    ),
    pytest.param(
        Regime.FOI,
        D(2026, 3, 2),
        [E(K.FEES_NOTICE, D(2026, 3, 4)), E(K.CLARIFICATION_RECEIVED, D(2026, 3, 6))],
        "nothing is waiting",
        id="wrong-answer",
    ),
    pytest.param(
        Regime.FOI,
        D(2026, 3, 2),
        [E(K.FEES_NOTICE, D(2026, 3, 4)), E(K.EXTENSION, D(2026, 3, 6), D(2026, 4, 2))],
        "stopped",
        id="extend-stopped",
    ),
    pytest.param(
        Regime.FOI,
        D(2026, 3, 2),
        [E(K.FEES_NOTICE, D(2026, 3, 4)), E(K.FEE_PAID, D(2026, 3, 3))],
        "before the clock was stopped",
        id="paid-before-notice",
    ),
    pytest.param(
        Regime.FOI, D(2026, 3, 2), [E(K.FEES_NOTICE, D(2026, 3, 1))], "before the clock", id="c"
    ),
    pytest.param(
        Regime.SAR, D(2026, 1, 31), [E(K.FEES_NOTICE, D(2026, 2, 2))], "does not apply", id="d"
    ),
    # SAR month (rolled) ended Mon 2 Mar: notice on Tue 3 Mar is out of the first month
    pytest.param(
        Regime.SAR, D(2026, 1, 31), [E(K.EXTENSION, D(2026, 3, 3))], "Too late", id="sar-late"
    ),
    # review beyond 40 working days: Tue 12 Jan 2027 is d41
    pytest.param(
        Regime.REVIEW,
        D(2026, 11, 9),
        [E(K.EXTENSION, D(2026, 12, 1), D(2027, 1, 12))],
        "2027-01-11 at the latest",
        id="review-41",
    ),
    pytest.param(
        Regime.REVIEW,
        D(2026, 11, 9),
        [E(K.CLARIFICATION_SOUGHT, D(2026, 11, 10))],
        "does not apply",
        id="review-no-stop",
    ),
]


@pytest.mark.parametrize(("regime", "received", "events", "message"), REFUSED)
def test_steps_the_law_does_not_allow(
    cal: UkCalendar, regime: Regime, received: date, events: list[ClockEvent], message: str
) -> None:
    with pytest.raises(ClockError, match=message):
        replay(regime, received, events, cal)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (D(2026, 1, 31), 1, D(2026, 2, 28)),
        (D(2028, 1, 31), 1, D(2028, 2, 29)),  # leap year
        (D(2025, 11, 30), 3, D(2026, 2, 28)),
        (D(2026, 12, 15), 2, D(2027, 2, 15)),
        (D(2026, 5, 3), 0, D(2026, 5, 3)),
    ],
)
def test_add_months(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_working_days_used_before_a_notice(cal: UkCalendar) -> None:
    # Mon 11 May to a notice on Mon 18 May: 12, 13, 14, 15 used; the notice day is disregarded
    assert working_days_used(D(2026, 5, 11), D(2026, 5, 18), cal) == 4
    # a notice on Tue 26 May (after [25]): 12-15, 18-22 = 9
    assert working_days_used(D(2026, 5, 11), D(2026, 5, 26), cal) == 9
    assert working_days_used(D(2026, 5, 11), D(2026, 5, 11), cal) == 0


def test_review_due_dates(cal: UkCalendar) -> None:
    assert review_due_date(D(2026, 11, 9), cal) == D(2026, 12, 8)
    assert review_due_date(D(2026, 11, 9), cal, exceptional=True) == D(2027, 1, 11)
