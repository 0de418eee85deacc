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
from inbox_agent.deadlines import Phase, UkCalendar, foi_due_date, sar_due_date, target_due_date
from inbox_agent.protocol.rules import (
    NATIONAL_PROTOCOL,
    Outcome,
    Promise,
    ProtocolSettings,
    Publication,
    Topic,
    protocol_outcome,
)


class Action(StrEnum):
    LOG_MACHINE = "log_machine"  # machine mail: recorded, never answered
    JOIN_CASE = "join_case"  # a reply in an existing thread: no new case, no new acknowledgement
    OPEN_CASE = "open_case"


_NO_OUTCOME = Outcome((), (), Promise.NONE, Publication.NO, ())


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
    internal_forwarding_enabled: bool = True
    phase: Phase = Phase.BEFORE_PRE_ELECTION  # of ``received_on`` in the office's timetable
    topics: frozenset[Topic] = frozenset()  # what the message asks for (``protocol/topics.py``)
    protocol: ProtocolSettings = NATIONAL_PROTOCOL  # the office's [protocol]
    from_force: bool = False  # a force FOI disclosure (``cases.is_force_disclosure``)


@dataclass(frozen=True)
class Decision:
    action: Action
    category: Category
    acknowledge: bool
    forward_paro: bool
    needs_review: bool
    due_date: dt.date | None
    reasons: tuple[str, ...]
    routes: tuple[str, ...] = ()  # recipients who get a forward: "paro", "chief_executive" ...
    outcome: Outcome = _NO_OUTCOME  # the protocol's wording, promise and publication


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

    What an opened case's acknowledgement says and where the message is routed come from the
    office's protocol for the category, the election phase and the topics of the message.
    Nothing is routed on a guess, nor when the sending of it is held back or switched off,
    so the acknowledgement never claims a forward that did not happen.

    Only mail whose headers or structure say it is a machine's is logged without a case. When
    the text model alone reads a message as machine text (no machine header, no bounce or
    auto-reply structure), it may be a person whose words look like a robot's: it opens a
    case marked for review, with no acknowledgement (a robot must never be answered), which
    staff rescue by putting it in its category or close as machine mail.
    """
    category = facts.classification.category
    if category is Category.AUTOMATED and facts.classification.machine_headers:
        return _no_case(Action.LOG_MACHINE, category, "machine mail is never acknowledged")
    if facts.thread_case is not None:
        what = "the force's disclosure for" if facts.from_force else "reply in the thread of"
        return _no_case(Action.JOIN_CASE, category, f"{what} {facts.thread_case}")
    if facts.from_force:
        return _unmatched_force_mail(facts, category)
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
    outcome = protocol_outcome(facts.protocol, category, facts.phase, facts.topics)
    reasons.append(f"protocol ({facts.phase.value}): {'; '.join(outcome.cites)}")
    routes = _routes(facts, outcome, unsure=unsure, held=bool(held), reasons=reasons)
    acknowledge = not held and not withheld
    due = due_date_for(category, facts.received_on, calendar, facts.target_working_days)
    return Decision(
        Action.OPEN_CASE,
        category,
        acknowledge,
        "paro" in routes,
        unsure,
        due,
        tuple(reasons),
        routes=routes,
        outcome=outcome,
    )


def _no_case(action: Action, category: Category, reason: str) -> Decision:
    return Decision(action, category, False, False, False, None, (reason,))


def _machine_text_case(facts: Facts) -> Decision:
    """Machine text by the words alone: a case for staff, nothing sent, no clock."""
    reason = (
        "only the text model reads this as machine mail (no machine headers, no bounce or "
        "auto-reply structure): a case for review, no acknowledgement"
    )
    return Decision(
        Action.OPEN_CASE, Category.AUTOMATED, False, False, True, None, (reason, *_held_back(facts))
    )


def _unmatched_force_mail(facts: Facts, category: Category) -> Decision:
    """Mail from the force that names no case of ours: staff file it; no clock, no reply.

    The force sends its own FOI disclosures to the SPOC (Nottinghamshire 6.4, Norfolk 12);
    opened as a request it would start a second 20-day clock and acknowledge the force.
    """
    return Decision(
        Action.OPEN_CASE,
        category,
        False,
        False,
        True,
        None,
        ("from the force and matched to no case: marked for review, no clock, no reply",),
    )


def _routes(
    facts: Facts, outcome: Outcome, *, unsure: bool, held: bool, reasons: list[str]
) -> tuple[str, ...]:
    """The protocol's routes that are really taken; each refusal is given as a reason."""
    if not outcome.routes:
        return ()
    if unsure:
        reasons.append("no forward on a guess")
        return ()
    if held:
        return ()
    kept = []
    for key in outcome.routes:
        if key == "paro" and not facts.paro_forwarding_enabled:
            reasons.append("PARO forwarding is switched off: staff forward by hand")
        elif key != "paro" and not facts.internal_forwarding_enabled:
            reasons.append(f"internal forwarding is switched off: staff tell the {key} by hand")
        else:
            kept.append(key)
    return tuple(kept)


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
