"""A stopped statutory clock as staff read it: what the office waits for, since when, and why.

While a clarification, a proof of identity or a fee is awaited the case has no due date
(``statutory_clock``: the clock is stopped, not running late), and a page that only showed the
due date would say "no due date", which reads as "no deadline" - the opposite of the truth:
the clock starts again the day the answer arrives. The replay (``statutory.clock_state``)
says the clock is stopped and since when; the reason is the one staff recorded with the step.
This module puts the two together once, for the queue, the case page, the dashboard and the
register export.

Only a case without a due date can have a stopped clock, so a page of cases replays just
those, with their first arrivals read in one query.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from inbox_agent.casework.statutory import clock_state, first_received_times, regime_of
from inbox_agent.casework.statutory_clock import ClockKind, ClockState
from inbox_agent.classify import STATUTORY
from inbox_agent.deadlines import UkCalendar
from inbox_agent.register.models import OPEN_STATUSES, Case

WAITING_FOR: dict[ClockKind, str] = {
    ClockKind.CLARIFICATION_SOUGHT: "clarification from the requester",
    ClockKind.ID_REQUESTED: "proof of identity",
    ClockKind.FEES_NOTICE: "the fee",
}
"""What a stopped clock waits for, by the step that stopped it (``statutory_clock.ANSWERS``)."""


@dataclass(frozen=True)
class ClockStop:
    """The step that stopped a case's clock: ``since`` the day it was taken."""

    kind: ClockKind
    since: dt.date
    reason: str  # as recorded with the step, for the audit trail

    @property
    def waiting_for(self) -> str:
        return WAITING_FOR[self.kind]

    @property
    def summary(self) -> str:
        """One line for a table cell or a spreadsheet: ``waiting for the fee since 2027-04-12``."""
        return f"waiting for {self.waiting_for} since {self.since.isoformat()}"

    def days(self, today: dt.date) -> int:
        """Calendar days stopped so far (a requester who never answers is a case to close)."""
        return max(0, (today - self.since).days)


def clock_stop(case: Case, clock: ClockState | None) -> ClockStop | None:
    """The stop in force on ``clock`` (the case's replayed clock), if it is stopped."""
    if clock is None or clock.stopped_by is None or clock.stopped_on is None:
        return None
    reason = next(
        (
            row.reason
            for row in reversed(case.clock_events)
            if row.kind == clock.stopped_by and row.on == clock.stopped_on
        ),
        "",
    )
    return ClockStop(clock.stopped_by, clock.stopped_on, reason)


def clock_stops(
    session: Session, cases: Iterable[Case], cal: UkCalendar, timezone: str
) -> dict[int, ClockStop]:
    """The cases among ``cases`` whose clock is stopped, by case id."""
    candidates = [
        case
        for case in cases
        if case.due_date is None and case.clock_events and regime_of(case) is not None
    ]
    if not candidates:
        return {}
    first = first_received_times(session, [case.id for case in candidates])
    stops = {}
    for case in candidates:
        stop = clock_stop(case, clock_state(case, cal, timezone, first.get(case.id)))
        if stop is not None:
            stops[case.id] = stop
    return stops


def open_stopped_cases(
    session: Session, cal: UkCalendar, timezone: str
) -> list[tuple[Case, ClockStop]]:
    """Every open statutory case whose clock is stopped, the longest-stopped first."""
    cases = list(
        session.scalars(
            select(Case)
            .where(
                Case.status.in_(OPEN_STATUSES),
                Case.due_date.is_(None),
                Case.category.in_(STATUTORY) | Case.review_of_id.is_not(None),
            )
            .options(selectinload(Case.clock_events))
            .order_by(Case.id)
        )
    )
    stops = clock_stops(session, cases, cal, timezone)
    found = [(case, stops[case.id]) for case in cases if case.id in stops]
    return sorted(found, key=lambda pair: (pair[1].since, pair[0].id))
