"""Where the protocol lives: facts in, a Decision out, no I/O and no clock.

The pipeline gathers the facts (the parsed message, its classification, whether it belongs to
a known case, today's date in the UK, the calendar) and this module says what should happen.
Keeping it pure means every rule of the protocol can be tested from a table.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from inbox_agent.classify import Category, Classification
from inbox_agent.deadlines import UkCalendar, foi_due_date, sar_due_date, target_due_date


class Action(StrEnum):
    LOG_MACHINE = "log_machine"  # machine mail by its headers: recorded, never answered
    JOIN_CASE = "join_case"  # a reply in an existing thread: no new case, no new acknowledgement
    OPEN_CASE = "open_case"


# Categories whose acknowledgement is safe to send on a guess: none reveal a routing decision.
_PARO_CATEGORY = Category.ELECTORAL_PROCESS


@dataclass(frozen=True)
class Facts:
    """What the pipeline knows about a message, gathered before deciding."""

    classification: Classification
    received_on: dt.date  # UK-local date of receipt
    thread_case: str | None  # reference of the case this message replies to, if any
    has_requester: bool  # a usable reply address exists
    review_below: float
    target_working_days: int
    delivered_at: dt.datetime | None = None  # when the mailbox received it
    acknowledge_since: dt.datetime | None = None  # first-run cut-off: older mail is not answered
    recent_acknowledgements: int = 0  # to this requester in the last 24 hours
    max_acknowledgements_per_day: int = 3
    acknowledgements_enabled: bool = True
    paro_forwarding_enabled: bool = True


@dataclass(frozen=True)
class Decision:
    action: Action
    category: Category
    acknowledge: bool
    forward_paro: bool
    needs_review: bool
    due_date: dt.date | None
    reasons: tuple[str, ...]


def due_date_for(
    category: Category, received: dt.date, calendar: UkCalendar, target_days: int
) -> dt.date | None:
    """Statutory clocks for FOI and subject access; the office's own target for the rest."""
    if category is Category.FOI_REQUEST:
        return foi_due_date(received, calendar)
    if category is Category.SUBJECT_ACCESS_REQUEST:
        return sar_due_date(received, calendar)
    if category in (Category.AUTOMATED, Category.OUT_OF_SCOPE):
        return None
    return target_due_date(received, target_days, calendar)


def decide(facts: Facts, calendar: UkCalendar) -> Decision:
    """Apply the protocol: machine mail is logged, replies join, everything else opens a case.

    Only mail whose headers or structure say it is a machine's is logged without a case. When
    the text model alone reads a message as machine text (no machine header, no bounce or
    auto-reply structure), it may be a person whose words look like a robot's: it opens a
    case marked for review, with no acknowledgement (a robot must never be answered), which
    staff rescue by putting it in its category or close as machine mail.
    """
    category = facts.classification.category
    if category is Category.AUTOMATED and facts.classification.machine_headers:
        return Decision(
            Action.LOG_MACHINE,
            category,
            False,
            False,
            False,
            None,
            ("machine mail is never acknowledged",),
        )
    if facts.thread_case is not None:
        return Decision(
            Action.JOIN_CASE,
            category,
            False,
            False,
            False,
            None,
            (f"reply in the thread of {facts.thread_case}",),
        )
    if category is Category.AUTOMATED:
        return _machine_text_case(facts)
    unsure = facts.classification.confidence < facts.review_below
    reasons: list[str] = []
    if unsure:
        reasons.append(
            f"confidence {facts.classification.confidence:.2f} below "
            f"{facts.review_below:.2f}: marked for review"
        )
    held = _held_back(facts)
    reasons.extend(held)
    withheld = _ack_withheld(facts)
    reasons.extend(withheld)
    forward = category is _PARO_CATEGORY and not unsure and not held
    if category is _PARO_CATEGORY and unsure:
        reasons.append("no PARO forward on a guess")
    if category is _PARO_CATEGORY and not facts.paro_forwarding_enabled:
        forward = False
        reasons.append("PARO forwarding is switched off: staff forward by hand")
    acknowledge = not held and not withheld
    due = due_date_for(category, facts.received_on, calendar, facts.target_working_days)
    return Decision(Action.OPEN_CASE, category, acknowledge, forward, unsure, due, tuple(reasons))


def _machine_text_case(facts: Facts) -> Decision:
    """Machine text by the words alone: a case for staff, nothing sent, no clock."""
    reason = (
        "only the text model reads this as machine mail (no machine headers, no bounce or "
        "auto-reply structure): a case for review, no acknowledgement"
    )
    return Decision(
        Action.OPEN_CASE, Category.AUTOMATED, False, False, True, None, (reason, *_held_back(facts))
    )


def _held_back(facts: Facts) -> list[str]:
    """Nothing is sent for mail older than the first-run cut-off: staff decide by hand."""
    since, delivered = facts.acknowledge_since, facts.delivered_at
    if since is not None and delivered is not None and delivered < since:
        return [f"received before the cut-off {since.isoformat()}: registered, nothing sent"]
    return []


def _ack_withheld(facts: Facts) -> list[str]:
    if not facts.acknowledgements_enabled:
        return ["acknowledgements are switched off"]
    if not facts.has_requester:
        return ["no usable reply address"]
    if facts.recent_acknowledgements >= facts.max_acknowledgements_per_day:
        return [
            f"sender already had {facts.recent_acknowledgements} acknowledgements in 24 hours "
            f"(cap {facts.max_acknowledgements_per_day}): registered, not acknowledged"
        ]
    return []
