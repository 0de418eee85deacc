"""Statutory casework in the register: clock steps, outcomes and exemptions, internal reviews.

Each function changes the register in the caller's transaction and leaves an audit event with
the member of staff and their reason; none reads the clock (``now`` and the office's
``today`` are passed). The dates themselves come from ``statutory_clock``: the case's
``due_date`` is always the replay of its recorded steps, so it cannot drift from them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox_agent.cases import allocate_reference
from inbox_agent.casework.exemptions import (
    FOI_EXEMPTIONS,
    SAR_EXEMPTIONS,
    WITHHOLDING,
    Exemption,
    Outcome,
    ReviewOutcome,
)
from inbox_agent.casework.statutory_clock import (
    ClockError,
    ClockEvent,
    ClockKind,
    ClockState,
    Regime,
    replay,
    start_clock,
)
from inbox_agent.classify import Category
from inbox_agent.deadlines import UkCalendar, received_local_date
from inbox_agent.register.audit import AuditAction, record
from inbox_agent.register.models import Case, CaseStatus, ClockEventRow, StoredMessage

REASON_MAX = 2000
REVIEW_TEXT_MAX = 4000


class CaseworkError(ValueError):
    """A step staff asked for that cannot be recorded; the message says why."""


def regime_of(case: Case) -> Regime | None:
    """Which statutory clock the case runs on, if any."""
    if case.review_of_id is not None:
        return Regime.REVIEW
    if case.category == Category.FOI_REQUEST:
        return Regime.FOI
    if case.category == Category.SUBJECT_ACCESS_REQUEST:
        return Regime.SAR
    return None


def clock_start(case: Case, timezone: str, first_received: dt.datetime | None = None) -> dt.date:
    """The date of receipt the clock counts from: set for a review, else the first message's.

    ``first_received`` saves loading the case's messages when the caller has it already
    (``first_received_times``, one query for many cases).
    """
    if case.clock_started_on is not None:
        return case.clock_started_on
    if first_received is None and case.messages:
        first_received = case.messages[0].received_at
    return received_local_date(first_received or case.date_of_contact, timezone)


def first_received_times(
    session: Session, case_ids: Collection[int] | None = None
) -> dict[int, dt.datetime]:
    """Each case's first message's arrival, in one query (no raw bytes loaded); only the
    ``case_ids`` given, when a page needs a few."""
    where = (
        StoredMessage.case_id.is_not(None)
        if case_ids is None
        else StoredMessage.case_id.in_(list(case_ids))
    )
    rows = session.execute(
        select(StoredMessage.case_id, func.min(StoredMessage.received_at))
        .where(where)
        .group_by(StoredMessage.case_id)
    )
    return {int(case_id): _aware(at) for case_id, at in rows if case_id is not None and at}


def _aware(value: dt.datetime) -> dt.datetime:
    """``min()`` comes back untyped on SQLite: naive UTC, or an ISO string."""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def recorded_events(case: Case) -> list[ClockEvent]:
    return [ClockEvent(ClockKind(r.kind), r.on, r.until) for r in case.clock_events]


def clock_state(
    case: Case, cal: UkCalendar, timezone: str, first_received: dt.datetime | None = None
) -> ClockState | None:
    """The case's clock as its recorded steps leave it; None for a case with no statutory clock."""
    regime = regime_of(case)
    if regime is None:
        return None
    start = clock_start(case, timezone, first_received)
    try:
        return replay(regime, start, recorded_events(case), cal)
    except ClockError:  # steps recorded under another category: the clock as received
        return start_clock(regime, start, cal)


def record_clock_event(
    session: Session,
    cal: UkCalendar,
    timezone: str,
    case: Case,
    *,
    kind: str,
    on: dt.date,
    until: dt.date | None,
    reason: str,
    actor: str,
    now: dt.datetime,
    today: dt.date,
) -> ClockState:
    """Record one step with its reason; the due date follows. Refused steps change nothing."""
    regime = regime_of(case)
    if regime is None:
        raise CaseworkError("Only FOI requests, subject access requests and reviews have a clock.")
    try:
        step = ClockKind(kind)
    except ValueError:
        raise CaseworkError("Choose a step from the list.") from None
    why = " ".join(reason.split())[:REASON_MAX]
    if not why:
        raise CaseworkError("Give the reason for this step: it goes on the audit trail.")
    if on > today:
        raise CaseworkError("A step cannot be dated in the future.")
    event = ClockEvent(step, on, until)
    try:
        state = replay(regime, clock_start(case, timezone), [*recorded_events(case), event], cal)
    except ClockError as exc:
        raise CaseworkError(str(exc)) from None
    old_due = case.due_date
    row = ClockEventRow(
        case_id=case.id,
        kind=step.value,
        on=on,
        until=state.due if step is ClockKind.EXTENSION else None,
        reason=why,
        actor=actor,
        at=now,
        due_after=state.due,
    )
    session.add(row)
    case.clock_events.append(row)
    case.due_date = state.due
    case.updated_at = now
    if case.status == CaseStatus.NEW:
        case.status = CaseStatus.IN_PROGRESS
    record(
        session,
        AuditAction.CLOCK_EVENT_RECORDED,
        at=now,
        actor=actor,
        case=case,
        step=step.value,
        on=on.isoformat(),
        until=row.until.isoformat() if row.until else None,
        reason=why,
        old_due_date=old_due.isoformat() if old_due else None,
        due_date=state.due.isoformat() if state.due else None,
    )
    return state


def exemptions_for(case: Case) -> tuple[Exemption, ...]:
    regime = regime_of(case)
    if regime is Regime.SAR:
        return SAR_EXEMPTIONS
    return FOI_EXEMPTIONS


def outcomes_for(case: Case) -> tuple[str, ...]:
    if regime_of(case) is Regime.REVIEW:
        return tuple(ReviewOutcome)
    return tuple(Outcome)


def record_outcome(
    session: Session,
    case: Case,
    *,
    outcome: str,
    exemptions: Iterable[str],
    responded_on: dt.date,
    actor: str,
    now: dt.datetime,
    today: dt.date,
) -> None:
    """The outcome and the exemptions relied on; a withholding outcome must name one."""
    if outcome not in outcomes_for(case):
        raise CaseworkError("Choose an outcome from the list.")
    allowed = {e.code for e in exemptions_for(case)}
    codes = sorted(set(exemptions))
    unknown = [c for c in codes if c not in allowed]
    if unknown:
        raise CaseworkError(f"Not an exemption for this kind of case: {', '.join(unknown)}.")
    if outcome in WITHHOLDING and not codes:
        raise CaseworkError("A refusal must name the exemption it relies on (FOIA s.17(1)).")
    if responded_on > today:
        raise CaseworkError("The response date cannot be in the future.")
    old = (case.outcome, list(case.exemptions or []))
    case.outcome = outcome
    case.exemptions = codes
    case.responded_on = responded_on
    case.updated_at = now
    record(
        session,
        AuditAction.OUTCOME_RECORDED,
        at=now,
        actor=actor,
        case=case,
        outcome=outcome,
        exemptions=codes,
        responded_on=responded_on.isoformat(),
        old_outcome=old[0],
        old_exemptions=old[1],
    )


def open_review(
    session: Session,
    cal: UkCalendar,
    case: Case,
    *,
    received_on: dt.date,
    request_text: str,
    prefix: str,
    actor: str,
    now: dt.datetime,
    today: dt.date,
) -> Case:
    """An internal review as its own case, linked to the original, with its own clock."""
    if regime_of(case) not in (Regime.FOI, Regime.SAR):
        raise CaseworkError("Only a FOI request or a subject access request can be reviewed.")
    if received_on > today:
        raise CaseworkError("The review request cannot be dated in the future.")
    existing = session.scalars(select(Case).where(Case.review_of_id == case.id)).first()
    if existing is not None:
        raise CaseworkError(f"This case already has an internal review: {existing.reference}.")
    text = request_text.replace("\r\n", "\n").strip()[:REVIEW_TEXT_MAX]
    if not text:
        raise CaseworkError("Say what the requester asked to be reviewed.")
    state = start_clock(Regime.REVIEW, received_on, cal)
    review = Case(
        reference=allocate_reference(session, prefix, received_on.year),
        status=CaseStatus.IN_PROGRESS,
        category=case.category,
        confidence=1.0,
        classifier_version="staff",
        classification_reasons=[f"internal review of {case.reference}"],
        needs_review=False,
        date_of_contact=now,
        requester_name=case.requester_name,
        requester_email=case.requester_email,
        requester_type=case.requester_type,
        officer=None,
        subject=f"Internal review: {case.subject}"[:500],
        information_sought=text,
        date_added_to_register=now,
        due_date=state.due,
        updated_at=now,
        person_id=case.person_id,
        clock_started_on=received_on,
        review_of_id=case.id,
        exemptions=[],
    )
    session.add(review)
    session.flush()
    record(
        session,
        AuditAction.REVIEW_OPENED,
        at=now,
        actor=actor,
        case=review,
        review_of=case.reference,
        received_on=received_on.isoformat(),
        due_date=state.due.isoformat() if state.due else None,
    )
    record(
        session,
        AuditAction.REVIEW_REQUESTED,
        at=now,
        actor=actor,
        case=case,
        review=review.reference,
    )
    return review


def review_of(session: Session, case: Case) -> Case | None:
    return session.get(Case, case.review_of_id) if case.review_of_id else None


def reviews_of(session: Session, case: Case) -> list[Case]:
    return list(session.scalars(select(Case).where(Case.review_of_id == case.id)))
