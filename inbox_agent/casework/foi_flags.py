"""What the FOI officer should weigh before answering: s.12 aggregation and s.14 repeats.

Two decisions belong to the FOI officer, never to this daemon, but both start from facts the
register holds, so the case page puts those facts in front of them:

* **s.12 aggregation.** The Freedom of Information and Data Protection (Appropriate Limit and
  Fees) Regulations 2004, regulation 5: the costs of two or more requests may be added
  together when they are made by one person, or by people who appear to be acting in concert
  or in pursuance of a campaign, relate to any extent to the same or similar information, and
  are received within any period of 60 consecutive working days. Flagged: other FOI requests
  received within ``AGGREGATION_WORKING_DAYS`` working days either side of this one, from the
  same requester with a related request (``similar.RELATED``), or from someone else with the
  same request (``similar.SAME_QUESTION``).
* **s.14(2) repeated requests.** An authority need not comply with a request identical or
  substantially similar to one it has already complied with from the same person, unless a
  reasonable interval has passed. Flagged: an earlier request from the same requester, already
  answered, asking the same thing (``similar.SAME_QUESTION``); the flag says how long ago.

Pure: facts and scores in, flags out; working days from the ``UkCalendar`` passed in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from inbox_agent.classify import Category
from inbox_agent.deadlines import UkCalendar
from inbox_agent.similar import RELATED, SAME_QUESTION

AGGREGATION_WORKING_DAYS = 60
FOI = Category.FOI_REQUEST.value
S12 = "s.12"
S14 = "s.14"


@dataclass(frozen=True)
class RequestFacts:
    """What the flags need of one case; ``requester`` is ``precedents.requester_key``."""

    reference: str
    requester: str
    received: dt.date
    category: str
    answered: dt.date | None


@dataclass(frozen=True)
class Related:
    reference: str
    received: dt.date
    score: float
    same_requester: bool
    answered: dt.date | None


@dataclass(frozen=True)
class FoiFlag:
    section: str  # S12 | S14
    title: str
    explanation: str
    requests: tuple[Related, ...]


def _related(facts: RequestFacts, score: float, mine: RequestFacts) -> Related:
    return Related(
        facts.reference, facts.received, score, facts.requester == mine.requester, facts.answered
    )


def _gap(calendar: UkCalendar, a: dt.date, b: dt.date) -> int:
    first, last = sorted((a, b))
    return calendar.working_days_between(first, last)


def foi_flags(
    this: RequestFacts, others: Sequence[tuple[RequestFacts, float]], calendar: UkCalendar
) -> list[FoiFlag]:
    """The s.12 and s.14 flags for ``this`` FOI request (none for other categories)."""
    if this.category != FOI:
        return []
    aggregate, repeats = [], []
    for facts, score in others:
        if facts.category != FOI:
            continue
        same = facts.requester == this.requester
        close = _gap(calendar, facts.received, this.received) <= AGGREGATION_WORKING_DAYS
        if close and score >= (RELATED if same else SAME_QUESTION):
            aggregate.append(_related(facts, score, this))
        answered_before = facts.answered is not None and facts.received <= this.received
        if same and answered_before and score >= SAME_QUESTION:
            repeats.append(_related(facts, score, this))
    flags = []
    if aggregate:
        people = (
            "the same requester"
            if all(r.same_requester for r in aggregate)
            else ("this requester or others who may be acting in concert or in a campaign")
        )
        flags.append(
            FoiFlag(
                S12,
                "Possible aggregation of costs (FOIA s.12)",
                f"{len(aggregate)} similar FOI request(s) from {people} within "
                f"{AGGREGATION_WORKING_DAYS} working days of this one. The Fees Regulations "
                "2004 (reg. 5) allow their costs to be added together when estimating "
                "whether the appropriate limit is exceeded. The FOI officer decides.",
                tuple(sorted(aggregate, key=lambda r: r.received)),
            )
        )
    if repeats:
        flags.append(
            FoiFlag(
                S14,
                "Possible repeated request (FOIA s.14(2))",
                "The same requester asked substantially the same question before and was "
                "answered. The office need not comply again unless a reasonable interval has "
                "passed since that answer. The FOI officer decides.",
                tuple(sorted(repeats, key=lambda r: r.received)),
            )
        )
    return flags
