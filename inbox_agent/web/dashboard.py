"""The dashboard's figures: the daemon's health (``inbox_agent.ops.health``) and the case counts.

Health is the same snapshot ``inbox-agent status`` prints, so the page and the command never
disagree. The counts are what the SPOC reports on: cases per category (open and in all), and
cases opened per week, by the ISO week of arrival in the office's time zone. The overdue
count uses ``health.overdue_condition``, the queue's own, so the two always agree. Statutory
cases whose clock is stopped have no due date, so they are never overdue: they are listed
apart, longest-stopped first, with what the office waits for (``casework.clock_status``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from inbox_agent.casework.clock_status import ClockStop, open_stopped_cases
from inbox_agent.deadlines import UkCalendar
from inbox_agent.ops.health import Health, build_health, overdue_condition
from inbox_agent.register.models import Case
from inbox_agent.settings import Settings
from inbox_agent.web.queue import OPEN

WEEKS_SHOWN = 12


@dataclass(frozen=True)
class CategoryCount:
    category: str
    open: int
    total: int


@dataclass(frozen=True)
class WeekCount:
    week_start: dt.date
    label: str  # ISO week, e.g. 2027-W14
    count: int


@dataclass(frozen=True)
class Dashboard:
    health: Health
    categories: tuple[CategoryCount, ...]
    weeks: tuple[WeekCount, ...]
    total: int
    overdue: int  # every category, as the queue's "overdue" filter counts (one condition)
    stopped: tuple[tuple[Case, ClockStop], ...]  # open statutory cases, clock stopped


def category_counts(session: Session) -> tuple[CategoryCount, ...]:
    open_ = func.sum(case((Case.status.in_(OPEN), 1), else_=0))
    rows = session.execute(
        select(Case.category, func.count(), open_).group_by(Case.category).order_by(Case.category)
    )
    return tuple(CategoryCount(cat, int(opened or 0), int(total)) for cat, total, opened in rows)


def week_counts(session: Session, today: dt.date, zone: ZoneInfo) -> tuple[WeekCount, ...]:
    """Cases per ISO week for the last ``WEEKS_SHOWN`` weeks, oldest first, empty weeks kept."""
    this_monday = today - dt.timedelta(days=today.weekday())
    first = this_monday - dt.timedelta(weeks=WEEKS_SHOWN - 1)
    since = dt.datetime.combine(first, dt.time(), zone) - dt.timedelta(days=1)
    contacts = session.scalars(select(Case.date_of_contact).where(Case.date_of_contact >= since))
    counts: Counter[dt.date] = Counter()
    for contact in contacts:
        day = contact.astimezone(zone).date()
        counts[day - dt.timedelta(days=day.weekday())] += 1
    weeks = []
    for n in range(WEEKS_SHOWN):
        monday = first + dt.timedelta(weeks=n)
        year, week, _ = monday.isocalendar()
        weeks.append(WeekCount(monday, f"{year}-W{week:02d}", counts.get(monday, 0)))
    return tuple(weeks)


def build_dashboard(
    session: Session, settings: Settings, now: dt.datetime, calendar: UkCalendar
) -> Dashboard:
    zone = settings.office.zone
    categories = category_counts(session)
    today = now.astimezone(zone).date()
    overdue = session.scalar(select(func.count()).select_from(Case).where(overdue_condition(today)))
    return Dashboard(
        health=build_health(session, now, settings),
        categories=categories,
        weeks=week_counts(session, today, zone),
        total=sum(c.total for c in categories),
        overdue=int(overdue or 0),
        stopped=tuple(open_stopped_cases(session, calendar, settings.office.timezone)),
    )
