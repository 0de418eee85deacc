"""The register's rows for export: annex C's columns, ours, and the statutory casework.

``register/export.py`` owns the columns (titles, order) and writes them; the rows are filled
here because the statutory columns need the law: the clock as its recorded steps leave it
(``statutory.clock_state``, and ``clock_status`` for what a stopped clock awaits), the outcome
labels and exemption titles (``exemptions``), and the link between a request and its internal
review. Annex C's "decisions and risk mitigations" column also carries the statutory decision
(outcome, date and the exemptions cited), so an office pasting the protocol's columns alone
into its own workbook does not lose it.

One export reads the cases once, their first arrivals and review links in one query each,
and replays only the clocks of statutory cases.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, selectinload

from inbox_agent.casework.clock_status import ClockStop, clock_stop
from inbox_agent.casework.exemptions import OUTCOME_LABELS, exemption
from inbox_agent.casework.statutory import clock_state, first_received_times
from inbox_agent.casework.statutory_clock import ClockState, Regime
from inbox_agent.deadlines import UkCalendar
from inbox_agent.register.export import COLUMNS
from inbox_agent.register.models import Case, CaseStatus
from inbox_agent.settings import Settings

REGIME_NAMES = {Regime.FOI: "FOI", Regime.SAR: "Subject access", Regime.REVIEW: "Internal review"}


@dataclass(frozen=True)
class ReviewLinks:
    """References of the internal review of each case, and of the case each review reviews."""

    review_of: dict[int, str]  # review case id -> the original's reference
    reviewed_by: dict[int, str]  # original case id -> its review's reference

    @classmethod
    def load(cls, session: Session) -> ReviewLinks:
        original = aliased(Case)
        rows = session.execute(
            select(Case.id, Case.reference, original.id, original.reference).join(
                original, Case.review_of_id == original.id
            )
        )
        links = cls({}, {})
        for review_id, review_ref, original_id, original_ref in rows:
            links.review_of[review_id] = original_ref
            links.reviewed_by[original_id] = review_ref
        return links


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return str(value)


def exemptions_cited(case: Case) -> str:
    """``s.31 Law enforcement; s.40 Personal information``: the codes, each with its title."""
    cited = []
    for code in case.exemptions or []:
        known = exemption(code)
        cited.append(f"{code} {known.title}" if known else code)
    return "; ".join(cited)


def _clock_word(case: Case, clock: ClockState | None, stop: ClockStop | None) -> str:
    """Where the clock stands: a reply sent or an outcome recorded ends it, and so does closing."""
    if clock is None:
        return ""
    if case.responded_on is not None or case.status == CaseStatus.ANSWERED:
        return "responded"
    if case.status == CaseStatus.CLOSED:
        return "closed"
    if stop is not None:
        return "stopped"
    return "extended" if clock.extended else "running"


def _decisions(case: Case, clock: ClockState | None) -> str:
    """Staff's decisions and risk mitigations, then the statutory decision once recorded."""
    parts = [case.decisions_and_risk_mitigations or ""]
    if clock is not None and case.outcome:
        decision = f"{REGIME_NAMES[clock.regime]} outcome: {OUTCOME_LABELS[case.outcome]}"
        if case.responded_on:
            decision += f", responded {case.responded_on.isoformat()}"
        if case.exemptions:
            decision += f"; exemptions cited: {exemptions_cited(case)}"
        parts.append(decision)
    return "\n".join(part for part in parts if part)


def case_row(case: Case, clock: ClockState | None, links: ReviewLinks) -> dict[str, str]:
    """One register row: ``clock`` is the case's replayed clock (None: no statutory clock)."""
    requester = case.requester_email
    if case.requester_name:
        requester = f"{case.requester_name} <{case.requester_email}>"
    stop = clock_stop(case, clock)
    values: dict[str, Any] = {
        "reference": case.reference,
        "date_of_contact": case.date_of_contact,
        "requester": requester,
        "requester_type": case.requester_type,
        "officer": case.officer,
        "method_of_contact": case.method_of_contact,
        "information_sought": case.information_sought,
        "information_provided": case.information_provided,
        "date_added_to_register": case.date_added_to_register,
        "date_added_to_website": case.date_added_to_website,
        "decisions_and_risk_mitigations": _decisions(case, clock),
        "category": case.category,
        "status": case.status,
        "due_date": case.due_date,
        # a stopped clock's date is counted afresh when the answer arrives: none until then
        "statutory_date": clock.statutory_due if clock and stop is None else None,
        "clock": _clock_word(case, clock, stop),
        "clock_stopped_since": stop.since if stop else None,
        "clock_stopped_awaiting": _awaiting(stop),
        "outcome": OUTCOME_LABELS.get(case.outcome or "", case.outcome),
        "exemptions": exemptions_cited(case),
        "responded_on": case.responded_on,
        "internal_review": links.reviewed_by.get(case.id),
        "review_of": links.review_of.get(case.id),
    }
    return {key: _text(values[key]) for key, _ in COLUMNS}


def _awaiting(stop: ClockStop | None) -> str:
    if stop is None:
        return ""
    return f"{stop.waiting_for} ({stop.reason})" if stop.reason else stop.waiting_for


def register_rows(session: Session, settings: Settings) -> Iterator[dict[str, str]]:
    """Every case's row, oldest first, as ``register export`` and the web download write it."""
    calendar = UkCalendar.from_settings(settings.calendar)
    timezone = settings.office.timezone
    first = first_received_times(session)
    links = ReviewLinks.load(session)
    cases = select(Case).options(selectinload(Case.clock_events)).order_by(Case.id)
    for case in session.scalars(cases):
        clock = clock_state(case, calendar, timezone, first.get(case.id))
        yield case_row(case, clock, links)


def one_row(session: Session, settings: Settings, case: Case) -> dict[str, str]:
    """The row of one case (``register show``)."""
    calendar = UkCalendar.from_settings(settings.calendar)
    clock = clock_state(case, calendar, settings.office.timezone)
    return case_row(case, clock, ReviewLinks.load(session))
