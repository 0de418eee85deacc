"""The s.45 quarterly figures and the ICO timeliness rate, from records counted by hand."""

from __future__ import annotations

import datetime as dt

from inbox_agent.casework.statistics import (
    RequestRecord,
    figures_csv,
    previous_quarters,
    quarterly_figures,
)
from inbox_agent.casework.statutory_clock import Regime
from inbox_agent.web.statistics_view import build_chart

D = dt.date
TODAY = D(2026, 7, 15)


def foi(
    received: D,
    statutory: D | None,
    due: D | None,
    responded: D | None,
    outcome: str | None = None,
    *codes: str,
) -> RequestRecord:
    return RequestRecord(Regime.FOI, received, statutory, due, responded, outcome, codes)


RECORDS = [
    foi(D(2026, 1, 5), D(2026, 2, 2), D(2026, 2, 2), D(2026, 1, 30), "granted_in_full"),
    foi(D(2026, 2, 10), D(2026, 3, 10), D(2026, 4, 8), D(2026, 3, 20), "refused", "s.31", "s.40"),
    foi(D(2026, 3, 2), D(2026, 3, 31), D(2026, 3, 31), D(2026, 4, 2), "granted_in_part", "s.40"),
    foi(D(2026, 3, 20), D(2026, 4, 20), D(2026, 4, 20), None),  # unanswered, date passed: late
    foi(D(2026, 3, 25), D(2026, 4, 24), D(2026, 4, 24), None, "withdrawn"),
    foi(D(2026, 7, 1), D(2026, 7, 29), D(2026, 7, 29), None),  # still in time: open
    foi(D(2025, 6, 1), D(2025, 6, 30), D(2025, 6, 30), D(2025, 6, 2)),  # before the quarters shown
    foi(D(2026, 6, 29), None, None, None),  # clock stopped (clarification): open
    RequestRecord(
        Regime.SAR,
        D(2026, 4, 10),
        D(2026, 5, 11),
        D(2026, 5, 11),
        D(2026, 5, 11),
        "granted_in_full",
    ),
    RequestRecord(
        Regime.REVIEW, D(2026, 5, 1), D(2026, 6, 1), D(2026, 6, 1), D(2026, 6, 3), "upheld"
    ),
]


def test_quarters_shown_end_with_today() -> None:
    assert [q for q, _ in previous_quarters(TODAY, 4)] == [
        "2025-Q4",
        "2026-Q1",
        "2026-Q2",
        "2026-Q3",
    ]
    assert previous_quarters(D(2026, 1, 1), 2) == [
        ("2025-Q4", D(2025, 10, 1)),
        ("2026-Q1", D(2026, 1, 1)),
    ]


def test_figures_per_quarter_and_the_timeliness_rate() -> None:
    table = quarterly_figures(RECORDS, TODAY)
    q4, q1, q2, q3 = table[Regime.FOI]
    assert (q4.received, q4.timeliness) == (0, None)
    assert (q1.received, q1.in_time, q1.in_extension, q1.late, q1.open) == (5, 1, 1, 2, 0)
    assert q1.timeliness == 0.5  # (1 + 1) / 4: the withdrawn request is not in the rate
    assert dict(q1.outcomes) == {
        "granted_in_full": 1,
        "refused": 1,
        "granted_in_part": 1,
        "withdrawn": 1,
    }
    assert dict(q1.exemptions) == {"s.31": 1, "s.40": 2}
    assert (q2.received, q3.received, q3.open, q3.timeliness) == (1, 1, 1, None)
    assert q2.open == 1  # the stopped clock
    sar = table[Regime.SAR][2]
    assert (sar.quarter, sar.in_time, sar.timeliness) == ("2026-Q2", 1, 1.0)
    review = table[Regime.REVIEW][2]
    assert (review.late, dict(review.outcomes), review.timeliness) == (1, {"upheld": 1}, 0.0)


def test_csv_one_row_per_regime_and_quarter() -> None:
    text = figures_csv(quarterly_figures(RECORDS, TODAY)).decode("utf-8-sig")
    lines = text.splitlines()
    assert lines[0].startswith("regime,quarter,received,in_time,in_extension,late,open,")
    assert len(lines) == 1 + 3 * 4
    assert lines[2] == "foi,2026-Q1,5,1,1,2,0,50.0,1,1,1,0,1,0,0,0,s.31 1; s.40 2"


def test_chart_bars_stack_to_the_received_count() -> None:
    rows = quarterly_figures(RECORDS, TODAY)[Regime.FOI]
    chart = build_chart(Regime.FOI, rows)
    q1 = [s for s in chart.segments if s.x == chart.segments[0].x]
    assert [s.label for s in q1] == ["In time: 1", "Within an extension: 1", "Late: 2"]
    plot = chart.baseline - 24
    assert abs(sum(s.height for s in q1) - plot * 4 / 5) < 0.5  # 4 of the 5 received
    assert [label.rate for label in chart.labels] == ["—", "50%", "—", "—"]
    assert "2026-Q1: 5 received, 1 in time" in chart.description
