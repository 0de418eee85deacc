"""The s.45 Code of Practice quarterly figures and the ICO timeliness rate, from the register.

The FOI Code of Practice (2018, part 8) asks an authority to publish, each quarter, how many
requests it received, how many it answered in time, within a permitted extension or late, and
what the outcomes were; the ICO monitors the share answered in time, and expects at least 90%.
How each figure is counted, so the office can say so when it publishes them:

* a request belongs to the quarter of its date of receipt (the clock's start);
* "in time": a response recorded on or before the statutory date (after any clock stops);
  "in extension": after it, but on or before a public-interest (FOI) or two-month (SAR)
  extension recorded in time; "late": after the date that applied, or no response yet and
  that date has passed; "open": no response yet and still in time;
* the timeliness rate is (in time + in extension) / (every request whose date has passed or
  that has been answered), the ICO's measure; a quarter with none has no rate (shown "—");
* withdrawn requests count as received but not in the rate (nothing was owed);
* internal reviews are counted in the quarter they were asked for, with their results.

``quarterly_figures`` is pure; ``statistics_records`` reads the register.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from inbox_agent.casework.exemptions import Outcome, ReviewOutcome
from inbox_agent.casework.statutory import clock_start, clock_state, first_received_times, regime_of
from inbox_agent.casework.statutory_clock import Regime
from inbox_agent.classify import STATUTORY
from inbox_agent.deadlines import UkCalendar
from inbox_agent.register.models import Case

QUARTERS_SHOWN = 4


@dataclass(frozen=True)
class RequestRecord:
    """One statutory case as the statistics see it."""

    regime: Regime
    received: dt.date
    statutory_due: dt.date | None  # None while the clock is stopped
    due: dt.date | None
    responded_on: dt.date | None
    outcome: str | None
    exemptions: tuple[str, ...] = ()


@dataclass
class QuarterFigures:
    """One quarter's figures for one regime (FOI, SAR or internal reviews)."""

    regime: Regime
    quarter: str  # 2026-Q1
    start: dt.date
    received: int = 0
    in_time: int = 0
    in_extension: int = 0
    late: int = 0
    open: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    exemptions: Counter[str] = field(default_factory=Counter)

    @property
    def timeliness(self) -> float | None:
        """The ICO's rate: answered within the time allowed, of those whose time is up."""
        due = self.in_time + self.in_extension + self.late
        return (self.in_time + self.in_extension) / due if due else None


def quarter_of(day: dt.date) -> tuple[str, dt.date]:
    """``2026-Q2`` and its first day: quarters of the calendar year."""
    q = (day.month - 1) // 3
    return f"{day.year}-Q{q + 1}", dt.date(day.year, 3 * q + 1, 1)


def previous_quarters(today: dt.date, count: int) -> list[tuple[str, dt.date]]:
    """The ``count`` quarters up to and including today's, oldest first."""
    _, start = quarter_of(today)
    out = []
    for _ in range(count):
        out.append(quarter_of(start))
        start = quarter_of(start - dt.timedelta(days=1))[1]
    return out[::-1]


def _timeliness(record: RequestRecord, today: dt.date) -> str:
    """in_time | in_extension | late | open | withdrawn, by the rules in the module docstring."""
    if record.outcome in (Outcome.WITHDRAWN, ReviewOutcome.WITHDRAWN):
        return "withdrawn"
    answered = record.responded_on
    if answered is None:
        if record.due is not None and today > record.due:
            return "late"
        return "open"
    if record.statutory_due is not None and answered <= record.statutory_due:
        return "in_time"
    if record.due is not None and answered <= record.due:
        return "in_extension"
    return "late"


def quarterly_figures(
    records: Iterable[RequestRecord], today: dt.date, quarters: int = QUARTERS_SHOWN
) -> dict[Regime, list[QuarterFigures]]:
    """Per regime, the last ``quarters`` quarters' figures, oldest first, empty ones kept."""
    shown = previous_quarters(today, quarters)
    table = {
        regime: {name: QuarterFigures(regime, name, start) for name, start in shown}
        for regime in Regime
    }
    for record in records:
        figures = table[record.regime].get(quarter_of(record.received)[0])
        if figures is None:
            continue
        figures.received += 1
        kind = _timeliness(record, today)
        if kind != "withdrawn":
            setattr(figures, kind, getattr(figures, kind) + 1)
        if record.outcome:
            figures.outcomes[record.outcome] += 1
        figures.exemptions.update(record.exemptions)
    return {regime: list(rows.values()) for regime, rows in table.items()}


def statistics_records(session: Session, cal: UkCalendar, timezone: str) -> list[RequestRecord]:
    """Every FOI request, subject access request and internal review in the register."""
    records = []
    first = first_received_times(session)
    statutory = (Case.category.in_(STATUTORY)) | (Case.review_of_id.is_not(None))
    query = select(Case).where(statutory).options(selectinload(Case.clock_events))
    for case in session.scalars(query.order_by(Case.id)):
        regime = regime_of(case)
        clock = clock_state(case, cal, timezone, first.get(case.id)) if regime else None
        if regime is None or clock is None:
            continue
        records.append(
            RequestRecord(
                regime=regime,
                received=clock_start(case, timezone, first.get(case.id)),
                statutory_due=clock.statutory_due,
                due=clock.due,
                responded_on=case.responded_on,
                outcome=case.outcome,
                exemptions=tuple(case.exemptions or ()),
            )
        )
    return records


CSV_COLUMNS = (
    "regime",
    "quarter",
    "received",
    "in_time",
    "in_extension",
    "late",
    "open",
    "timeliness_percent",
    *(o.value for o in Outcome),
    *(f"review_{o.value}" for o in ReviewOutcome if o is not ReviewOutcome.WITHDRAWN),
    "exemptions",
)


def figures_csv(table: dict[Regime, list[QuarterFigures]]) -> bytes:
    """The figures as CSV (UTF-8 with BOM, so Excel opens it right), one row per quarter."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for regime, rows in table.items():
        for f in rows:
            rate = f.timeliness
            writer.writerow(
                [
                    regime.value,
                    f.quarter,
                    f.received,
                    f.in_time,
                    f.in_extension,
                    f.late,
                    f.open,
                    "" if rate is None else f"{100 * rate:.1f}",
                    *(f.outcomes.get(o.value, 0) for o in Outcome),
                    *(
                        f.outcomes.get(o.value, 0)
                        for o in ReviewOutcome
                        if o is not ReviewOutcome.WITHDRAWN
                    ),
                    "; ".join(f"{code} {n}" for code, n in sorted(f.exemptions.items())),
                ]
            )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
