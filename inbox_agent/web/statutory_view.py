"""The case page's statutory part: the clock and its steps, outcome, internal review, letters.

Kept apart from ``views`` so the case page's other owners can change theirs without touching
this: ``views`` asks here for the values of the ``web/_statutory.html.j2`` block, for a
letter to put in the reply box, and for the three POST actions registered in ``ACTIONS``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from inbox_agent.casework import statutory
from inbox_agent.casework.clock_status import ClockStop, clock_stop
from inbox_agent.casework.exemptions import OUTCOME_LABELS, Exemption
from inbox_agent.casework.letters import Letter, letter, letters_for, render_letter
from inbox_agent.casework.statutory import CaseworkError
from inbox_agent.casework.statutory_clock import ALLOWED, KIND_LABELS, ClockKind, ClockState, Regime
from inbox_agent.deadlines import received_local_date
from inbox_agent.errors import ConfigError
from inbox_agent.register.models import Case, ClockEventRow
from inbox_agent.web.casework import ActionError
from inbox_agent.web.context import Ctx

REGIME_LABELS = {
    Regime.FOI: "Freedom of Information Act 2000: 20 working days (s.10)",
    Regime.SAR: "UK GDPR Art. 12(3): one month",
    Regime.REVIEW: "Internal review: 20 working days (40 in exceptional cases)",
}
EXEMPTION_FIELD = "exemption:"


@dataclass(frozen=True)
class StatutoryView:
    """What the statutory block of the case page shows."""

    regime: Regime
    regime_label: str
    clock: ClockState
    stop: ClockStop | None  # what a stopped clock waits for, since when, why
    steps: list[ClockEventRow]
    kinds: list[tuple[str, str]]
    outcomes: list[tuple[str, str]]
    exemptions: tuple[Exemption, ...]
    review_of: Case | None
    reviews: list[Case]
    letters: tuple[Letter, ...]
    chosen_letter: str


def _today(ctx: Ctx) -> dt.date:
    return received_local_date(ctx.now, ctx.settings.office.timezone)


def build_view(ctx: Ctx, session: Session, case: Case) -> StatutoryView | None:
    regime = statutory.regime_of(case)
    clock = statutory.clock_state(case, ctx.web.calendar, ctx.settings.office.timezone)
    if regime is None or clock is None:
        return None
    kinds = [(k.value, KIND_LABELS[k]) for k in ClockKind if k in ALLOWED[regime]]
    return StatutoryView(
        regime=regime,
        regime_label=REGIME_LABELS[regime],
        clock=clock,
        stop=clock_stop(case, clock),
        steps=list(case.clock_events),
        kinds=kinds,
        outcomes=[(o, OUTCOME_LABELS[o]) for o in statutory.outcomes_for(case)],
        exemptions=statutory.exemptions_for(case),
        review_of=statutory.review_of(session, case),
        reviews=statutory.reviews_of(session, case),
        letters=letters_for(regime),
        chosen_letter=ctx.request.query_params.get("letter", ""),
    )


def case_values(ctx: Ctx, session: Session, case: Case) -> dict[str, Any]:
    """The ``statutory`` value the case page's block reads (None: the block shows nothing)."""
    return {"statutory": build_view(ctx, session, case), "outcome_labels": OUTCOME_LABELS}


def letter_draft(ctx: Ctx, session: Session, case: Case) -> str | None:
    """The letter asked for with ``?letter=``, filled from the case; None when none was asked.

    A letter that does not apply to this case, or an office template that fails, leaves the
    ordinary draft and says why, rather than an error page in the middle of casework.
    """
    code = ctx.request.query_params.get("letter")
    if not code:
        return None
    chosen = letter(code)
    regime = statutory.regime_of(case)
    if chosen is None or regime not in chosen.regimes:
        ctx.flash("That letter does not apply to this case.", error=True)
        return None
    clock = statutory.clock_state(case, ctx.web.calendar, ctx.settings.office.timezone)
    try:
        return render_letter(
            ctx.settings,
            chosen,
            case,
            clock,
            signer=ctx.user.name,
            today=_today(ctx),
            original=statutory.review_of(session, case),
        )
    except ConfigError as exc:
        ctx.flash(f"The letter could not be filled in: {exc}", error=True)
        return None


def _date(ctx: Ctx, name: str, what: str, *, required: bool = True) -> dt.date | None:
    value = ctx.form.get(name, "").strip()
    if not value and not required:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ActionError(f"Give {what} as a date, for example 2027-04-12.") from None


def _clock(ctx: Ctx, session: Session, case: Case) -> str:
    on = _date(ctx, "on", "the date of the step")
    assert on is not None
    until = _date(ctx, "until", "the extended date", required=False)
    try:
        state = statutory.record_clock_event(
            session,
            ctx.web.calendar,
            ctx.settings.office.timezone,
            case,
            kind=ctx.form.get("kind", ""),
            on=on,
            until=until,
            reason=ctx.form.get("reason", ""),
            actor=ctx.user.username,
            now=ctx.now,
            today=_today(ctx),
        )
    except CaseworkError as exc:
        raise ActionError(str(exc)) from None
    if state.due is None:
        return "Recorded: the clock is stopped until the answer arrives."
    return f"Recorded: the response is now due on {state.due.isoformat()}."


def _outcome(ctx: Ctx, session: Session, case: Case) -> str:
    responded = _date(ctx, "responded_on", "the date of the response")
    assert responded is not None
    codes = [k[len(EXEMPTION_FIELD) :] for k in ctx.form if k.startswith(EXEMPTION_FIELD)]
    try:
        statutory.record_outcome(
            session,
            case,
            outcome=ctx.form.get("outcome", ""),
            exemptions=codes,
            responded_on=responded,
            actor=ctx.user.username,
            now=ctx.now,
            today=_today(ctx),
        )
    except CaseworkError as exc:
        raise ActionError(str(exc)) from None
    return "Outcome recorded."


def _review(ctx: Ctx, session: Session, case: Case) -> str:
    received = _date(ctx, "received_on", "the date the review was asked for")
    assert received is not None
    try:
        review = statutory.open_review(
            session,
            ctx.web.calendar,
            case,
            received_on=received,
            request_text=ctx.form.get("request", ""),
            prefix=ctx.settings.office.reference_prefix,
            actor=ctx.user.username,
            now=ctx.now,
            today=_today(ctx),
        )
    except CaseworkError as exc:
        raise ActionError(str(exc)) from None
    due = review.due_date.isoformat() if review.due_date else "not set"
    return f"Internal review {review.reference} opened; due {due}."


ACTIONS: dict[str, Callable[[Ctx, Session, Case], str]] = {
    "clock": _clock,
    "outcome": _outcome,
    "review": _review,
}
