"""The queue: cases filtered, searched and ordered the way the office works them.

Open statutory cases come first (FOI and subject access run on legal clocks), then by due
date, then by when the request arrived. Filters arrive as query-string values, so every view
of the queue is a link staff can bookmark or share; unknown values are ignored, never an
error, but a search longer than ``SEARCH_MAX`` is refused with a message, not cut short.

A search looks in every message of a case (sender, subject, words) and, unless a status is
chosen, in every status: the case someone is asking about is often closed. "New replies"
lists the cases whose requester wrote again after they were answered or closed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, or_, select
from sqlalchemy.orm import Session

from inbox_agent.classify import STATUTORY, Category
from inbox_agent.deadlines import UkCalendar
from inbox_agent.ops.health import overdue_condition
from inbox_agent.register.models import OPEN_STATUSES, Case, CaseStatus, StoredMessage

PAGE_SIZE = 50
DUE_SOON_WORKING_DAYS = 5
OPEN = OPEN_STATUSES
STATUS_CHOICES = ("open", *(s.value for s in CaseStatus), "all")
DUE_CHOICES = ("", "soon", "overdue")
SEARCH_MAX = 200
OFFICER_FILTER_MAX = 100


@dataclass(frozen=True)
class QueueFilters:
    category: str = ""
    status: str = "open"
    review: bool = False
    officer: str = ""  # "" any, "-" unassigned, else the officer's name
    due: str = ""
    q: str = ""
    page: int = 1
    new_reply: bool = False
    error: str = ""  # a filter refused (too long): shown, and nothing is searched

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> QueueFilters:
        category = params.get("category", "")
        q = " ".join(params.get("q", "").split())
        officer = params.get("officer", "").strip()
        # a search finds a case whatever its status, unless staff chose one
        status = params.get("status", "all" if q else "open")
        due = params.get("due", "")
        try:
            page = max(1, min(int(params.get("page", "1")), 10_000))
        except ValueError:
            page = 1
        error = ""
        if len(q) > SEARCH_MAX:
            error = f"The search is {len(q)} characters long; at most {SEARCH_MAX} are allowed."
        elif len(officer) > OFFICER_FILTER_MAX:
            error = f"An officer's name has at most {OFFICER_FILTER_MAX} characters."
        return cls(
            category=category if category in {c.value for c in Category} else "",
            status=status if status in STATUS_CHOICES else "open",
            review=params.get("review", "") == "yes",
            officer=officer if not error else "",
            due=due if due in DUE_CHOICES else "",
            q=q if not error else "",
            page=page,
            new_reply=params.get("reply", "") == "new",
            error=error,
        )

    def query_string(self, **changes: str | int | bool) -> dict[str, str]:
        """The filters as query parameters (for links that change one of them)."""
        values: dict[str, str | int | bool] = {
            "category": self.category,
            "status": self.status,
            "review": "yes" if self.review else "",
            "officer": self.officer,
            "due": self.due,
            "q": self.q,
            "reply": "new" if self.new_reply else "",
        }
        values.update(changes)
        return {k: str(v) for k, v in values.items() if v not in ("", None, False)}


@dataclass(frozen=True)
class QueuePage:
    cases: list[Case]
    total: int
    page: int
    pages: int


def due_soon_limit(today: dt.date, calendar: UkCalendar) -> dt.date:
    return calendar.add_working_days(today, DUE_SOON_WORKING_DAYS)


def _conditions(
    filters: QueueFilters, today: dt.date, calendar: UkCalendar
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.error:
        return [Case.id.is_(None)]  # nothing: the page says why
    if filters.category:
        where.append(Case.category == filters.category)
    if filters.new_reply:
        where.append(Case.new_reply_at.is_not(None))  # in whatever status
    elif filters.status == "open" or filters.due:
        where.append(Case.status.in_(OPEN))
    elif filters.status != "all":
        where.append(Case.status == filters.status)
    if filters.review:
        where.append(Case.needs_review.is_(True))
    if filters.officer == "-":
        where.append(or_(Case.officer.is_(None), Case.officer == ""))
    elif filters.officer:
        where.append(func.lower(Case.officer) == filters.officer.lower())
    if filters.due == "overdue":
        where.append(overdue_condition(today))
    elif filters.due == "soon":
        where.append(and_(Case.due_date >= today, Case.due_date <= due_soon_limit(today, calendar)))
    if filters.q:
        where.append(_search(filters.q))
    return where


def _search(text: str) -> ColumnElement[bool]:
    """Reference, requester, subject, the request, what was answered, or any of its messages."""
    needle = text.lower()
    in_case = (
        func.lower(column).contains(needle, autoescape=True)
        for column in (
            Case.reference,
            Case.requester_email,
            Case.requester_name,
            Case.subject,
            Case.information_sought,
            Case.information_provided,
        )
    )
    in_messages = (
        select(StoredMessage.id)
        .where(
            StoredMessage.case_id == Case.id,
            or_(
                StoredMessage.search_text.contains(needle, autoescape=True),
                func.lower(StoredMessage.subject).contains(needle, autoescape=True),
                func.lower(StoredMessage.sender).contains(needle, autoescape=True),
            ),
        )
        .exists()
    )
    return or_(*in_case, in_messages)


def ordered(stmt: Select[Any]) -> Select[Any]:
    closed_last = case((Case.status.in_(OPEN), 0), else_=1)
    statutory_first = case((Case.category.in_(STATUTORY), 0), else_=1)
    return stmt.order_by(
        closed_last,
        statutory_first,
        Case.due_date.is_(None),
        Case.due_date,
        Case.date_of_contact,
        Case.id,
    )


def count_cases(
    session: Session, filters: QueueFilters, today: dt.date, calendar: UkCalendar
) -> int:
    where = _conditions(filters, today, calendar)
    return int(session.scalar(select(func.count()).select_from(Case).where(*where)) or 0)


def find_cases(
    session: Session, filters: QueueFilters, today: dt.date, calendar: UkCalendar
) -> QueuePage:
    where = _conditions(filters, today, calendar)
    total = count_cases(session, filters, today, calendar)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(filters.page, pages)
    stmt = ordered(select(Case).where(*where)).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    return QueuePage(list(session.scalars(stmt)), total, page, pages)


def open_counts_by_category(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Case.category, func.count()).where(Case.status.in_(OPEN)).group_by(Case.category)
    )
    return {category: int(count) for category, count in rows}


def officers(session: Session) -> list[str]:
    """Names cases are assigned to, for the filter's choices."""
    rows = session.scalars(
        select(Case.officer).where(Case.officer.is_not(None), Case.officer != "").distinct()
    )
    return sorted({name for name in rows if name}, key=str.lower)
