"""The statutory clock of a FOI request, a subject access request or an internal review.

A case's deadline is not one date: staff stop and restart the clock, and the law says how each
step moves it. This module replays the steps recorded for a case (``ClockEvent``, kept in the
register with who recorded it and why) over the date of receipt and returns the clock as it
stands. It is pure: no clock reads, no database, so every rule is tested with dates worked by
hand, and the web page, the reminders and the statistics all read the same answer.

The rules, by regime:

FOI (FOIA 2000)
  * clarification sought (s.1(3)): the authority need not comply until it has the further
    information; the clock stops, and the 20 working days start again from the day the answer
    is received (treated, like a request, as received on the next working day if it arrives on
    a non-working day). The request for clarification must itself be within the 20 days.
  * fees notice (s.9, s.10(2)): the working days from the day the notice is given to the day
    the fee is received are disregarded; the days used before the notice still count.
  * public-interest extension (s.10(3), s.17(2)): the notice must be given within the 20
    working days; ICO guidance treats up to 20 further working days as "reasonable".

SAR (UK GDPR Art. 12(3))
  * identity or clarification requested: the clock is paused; the month runs again from the
    day the information is received.
  * extension by two further months, with the notice (and reasons) within the first month.

Internal review (s.45 Code of Practice, ICO guidance)
  * 20 working days from receipt; extended to at most 40 in exceptional cases, the notice
    being given within the first 20.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum

from inbox_agent.deadlines import (
    FOI_WORKING_DAYS,
    PI_EXTENSION_WORKING_DAYS,
    REVIEW_EXCEPTIONAL_WORKING_DAYS,
    REVIEW_WORKING_DAYS,
    SAR_EXTENSION_MONTHS,
    UkCalendar,
    effective_receipt_date,
    sar_months_due_date,
    working_days_used,
)


class Regime(StrEnum):
    """Which law's clock a case runs on."""

    FOI = "foi"
    SAR = "sar"
    REVIEW = "review"


class ClockKind(StrEnum):
    """One step staff record on a clock; its date is the day it happened."""

    CLARIFICATION_SOUGHT = "clarification_sought"
    CLARIFICATION_RECEIVED = "clarification_received"
    ID_REQUESTED = "id_requested"
    FEES_NOTICE = "fees_notice"
    FEE_PAID = "fee_paid"
    EXTENSION = "extension"


ANSWERS: dict[ClockKind, ClockKind] = {
    ClockKind.CLARIFICATION_SOUGHT: ClockKind.CLARIFICATION_RECEIVED,
    ClockKind.ID_REQUESTED: ClockKind.CLARIFICATION_RECEIVED,
    ClockKind.FEES_NOTICE: ClockKind.FEE_PAID,
}
"""The steps that stop the clock, each with the step that starts it again."""

ALLOWED: dict[Regime, frozenset[ClockKind]] = {
    Regime.FOI: frozenset(
        {
            ClockKind.CLARIFICATION_SOUGHT,
            ClockKind.CLARIFICATION_RECEIVED,
            ClockKind.FEES_NOTICE,
            ClockKind.FEE_PAID,
            ClockKind.EXTENSION,
        }
    ),
    Regime.SAR: frozenset(
        {
            ClockKind.CLARIFICATION_SOUGHT,
            ClockKind.ID_REQUESTED,
            ClockKind.CLARIFICATION_RECEIVED,
            ClockKind.EXTENSION,
        }
    ),
    Regime.REVIEW: frozenset({ClockKind.EXTENSION}),
}

KIND_LABELS: dict[ClockKind, str] = {
    ClockKind.CLARIFICATION_SOUGHT: "Clarification sought (clock stopped)",
    ClockKind.CLARIFICATION_RECEIVED: "Clarification or identity received (clock restarted)",
    ClockKind.ID_REQUESTED: "Proof of identity requested (clock stopped)",
    ClockKind.FEES_NOTICE: "Fees notice given (clock stopped)",
    ClockKind.FEE_PAID: "Fee received (clock resumed)",
    ClockKind.EXTENSION: "Extension notice given",
}


class ClockError(ValueError):
    """A step the law does not allow at that point; the message says why, for staff."""


@dataclass(frozen=True)
class ClockEvent:
    """A recorded step: ``on`` the day it happened; ``until`` the new date of an extension."""

    kind: ClockKind
    on: dt.date
    until: dt.date | None = None


@dataclass(frozen=True)
class ClockState:
    """The clock after the steps so far.

    ``due`` is the date the answer is owed (None while the clock is stopped); ``statutory_due``
    the date before any extension (an extension notice must come by it); ``anchor`` and
    ``remaining`` say how ``statutory_due`` was counted: ``remaining`` working days after
    ``anchor`` (FOI, review), or one month from ``anchor`` (SAR).
    """

    regime: Regime
    anchor: dt.date
    remaining: int
    statutory_due: dt.date | None
    due: dt.date | None
    stopped_by: ClockKind | None = None
    stopped_on: dt.date | None = None
    extended: bool = False
    earliest: dt.date | None = None  # no step before this: the receipt, or the last answer

    @property
    def stopped(self) -> bool:
        return self.stopped_by is not None


def start_clock(regime: Regime, received: dt.date, cal: UkCalendar) -> ClockState:
    """The clock on the day of receipt, before any step."""
    if regime is Regime.SAR:
        due = sar_months_due_date(received, 1, cal)
        return ClockState(regime, received, 1, due, due, earliest=received)
    days = FOI_WORKING_DAYS if regime is Regime.FOI else REVIEW_WORKING_DAYS
    state = _counted(regime, effective_receipt_date(received, cal), days, cal)
    return replace(state, earliest=received)


def _counted(regime: Regime, anchor: dt.date, remaining: int, cal: UkCalendar) -> ClockState:
    due = cal.add_working_days(anchor, remaining)
    return ClockState(regime, anchor, remaining, due, due)


def apply_event(state: ClockState, event: ClockEvent, cal: UkCalendar) -> ClockState:
    """The clock after one more step; ``ClockError`` when the step is not allowed now."""
    if event.kind not in ALLOWED[state.regime]:
        raise ClockError(f"{KIND_LABELS[event.kind]} does not apply to this kind of case.")
    if event.on < (state.earliest or state.anchor) and not state.stopped:
        raise ClockError("A step cannot be dated before the clock started.")
    if event.kind in ANSWERS:
        return _stop(state, event)
    if event.kind is ClockKind.EXTENSION:
        return _extend(state, event, cal)
    return _resume(state, event, cal)


def _stop(state: ClockState, event: ClockEvent) -> ClockState:
    if state.stopped:
        raise ClockError("The clock is already stopped: record the answer first.")
    assert state.statutory_due is not None  # a running clock always has one
    if event.on > state.statutory_due:
        raise ClockError(
            "Too late: the clock can only be stopped before the statutory date "
            f"({state.statutory_due.isoformat()})."
        )
    return replace(state, due=None, stopped_by=event.kind, stopped_on=event.on)


def _resume(state: ClockState, event: ClockEvent, cal: UkCalendar) -> ClockState:
    if state.stopped_by is None or ANSWERS[state.stopped_by] is not event.kind:
        raise ClockError(f"{KIND_LABELS[event.kind]}: nothing is waiting for it.")
    assert state.stopped_on is not None
    if event.on < state.stopped_on:
        raise ClockError("The answer cannot be dated before the clock was stopped.")
    if state.regime is Regime.SAR:  # the month runs again from the day of receipt
        due = sar_months_due_date(event.on, 1, cal)
        return ClockState(state.regime, event.on, 1, due, due, earliest=event.on)
    if event.kind is ClockKind.FEE_PAID:  # s.10(2): the notice-to-payment days disregarded
        used = working_days_used(state.anchor, state.stopped_on, cal)
        resumed = _counted(state.regime, event.on, state.remaining - used, cal)
    else:  # s.1(3): 20 working days again from the clarification's (effective) receipt
        anchor = effective_receipt_date(event.on, cal)
        resumed = _counted(state.regime, anchor, FOI_WORKING_DAYS, cal)
    return replace(resumed, earliest=event.on)


def extension_limit(state: ClockState, cal: UkCalendar) -> dt.date:
    """The latest date an extension may run to, from the statutory date as it now stands."""
    assert state.statutory_due is not None
    if state.regime is Regime.SAR:
        return sar_months_due_date(state.anchor, 1 + SAR_EXTENSION_MONTHS, cal)
    if state.regime is Regime.REVIEW:
        return cal.add_working_days(state.anchor, REVIEW_EXCEPTIONAL_WORKING_DAYS)
    return cal.add_working_days(state.statutory_due, PI_EXTENSION_WORKING_DAYS)


def _extend(state: ClockState, event: ClockEvent, cal: UkCalendar) -> ClockState:
    if state.stopped or state.statutory_due is None:
        raise ClockError("The clock is stopped: it cannot be extended until it runs again.")
    if event.on > state.statutory_due:
        raise ClockError(
            f"Too late: the extension notice must be given by {state.statutory_due.isoformat()}."
        )
    limit = extension_limit(state, cal)
    until = limit if state.regime is Regime.SAR or event.until is None else event.until
    if until <= state.statutory_due:
        raise ClockError("The extended date must be after the statutory date.")
    if until > limit:
        raise ClockError(f"An extension may run to {limit.isoformat()} at the latest.")
    return replace(state, due=until, extended=True)


def replay(
    regime: Regime, received: dt.date, events: Iterable[ClockEvent], cal: UkCalendar
) -> ClockState:
    """The clock after every recorded step, in the order given (the order they were recorded)."""
    state = start_clock(regime, received, cal)
    for event in events:
        state = apply_event(state, event, cal)
    return state
