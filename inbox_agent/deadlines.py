"""UK working days, the statutory answer deadlines, and the election phase of a day.

Everything here is a pure function of the dates it is given: nothing reads the clock, so
``decide.py`` and the tests can ask "what if this arrived on Good Friday?" and get the same
answer every time. The rules come from:

* FOIA 2000 s.10(1): answer "not later than the twentieth working day following the date of
  receipt"; s.10(6): a working day is any day other than a Saturday, a Sunday, Christmas Day,
  Good Friday or a bank holiday "in any part of the United Kingdom". So St Patrick's Day
  (Northern Ireland only) or 2 January (Scotland only) stops the clock in Bedfordshire too.
* UK GDPR Art. 12(3) and the ICO's right-of-access guidance: one calendar month for a subject
  access request, counted from the day of receipt.
* The office's election timetable (``ElectionSettings``), which sets the pre-election period.

The bank holidays come from the ``holidays`` package, one table per part of the UK. A
proclamation can add or move a bank holiday at short notice (the 2022 State Funeral, Scotland's
2026 World Cup holiday), so the calendar takes an override table the operator can edit the
same day, without waiting for a package release.

This calendar is the FOIA one. The electoral timetable counts its own working days (England and
Wales bank holidays only, plus Christmas Eve); do not derive statutory election dates from it.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import holidays

if TYPE_CHECKING:  # settings imports the protocol, which names the phases defined here
    from inbox_agent.settings import CalendarSettings, ElectionSettings

UK_PARTS = ("ENG", "WLS", "SCT", "NIR")
"""``holidays`` subdivision codes: England, Wales, Scotland, Northern Ireland."""

FOI_WORKING_DAYS = 20
"""FOIA s.10(1): the twentieth working day following the date of receipt."""

_SATURDAY = 5
_ONE_DAY = timedelta(days=1)


class UkCalendar:
    """Which days count as FOIA working days, for every part of the UK at once.

    ``extra_closures`` are days to treat as non-working although the package does not list
    them (a bank holiday proclaimed after the installed release). ``extra_working_days`` are
    days the package lists as a bank holiday that were not in fact observed; they may not fall
    at a weekend, because s.10(6) never makes a Saturday or Sunday a working day. A day in both
    tables is a contradiction in the configuration and is refused.
    """

    def __init__(
        self,
        extra_closures: Iterable[date] = (),
        extra_working_days: Iterable[date] = (),
    ) -> None:
        self._closures = frozenset(extra_closures)
        self._working = frozenset(extra_working_days)
        _check_overrides(self._closures, self._working)
        self._parts = tuple(holidays.country_holidays("GB", subdiv=part) for part in UK_PARTS)
        self._known: dict[date, bool] = {}  # the answer never changes for a calendar: memoised

    @classmethod
    def from_settings(cls, calendar: CalendarSettings) -> UkCalendar:
        """The office's calendar (``[calendar]``): every part of the code counts the same days."""
        return cls(calendar.extra_closures, calendar.extra_working_days)

    def is_working_day(self, day: date) -> bool:
        """True unless ``day`` is a weekend, an override closure or a bank holiday anywhere."""
        known = self._known.get(day)
        if known is None:
            known = self._known[day] = self._working_day(day)
        return known

    def _working_day(self, day: date) -> bool:
        if day in self._closures or day.weekday() >= _SATURDAY:
            return False
        if day in self._working:
            return True
        return not any(day in part for part in self._parts)

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after ``day``."""
        following = day + _ONE_DAY
        while not self.is_working_day(following):
            following += _ONE_DAY
        return following

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start``; ``start`` itself is day 0, never day 1.

        Counting from day 0 is how s.10(1) reads ("following the date of receipt"), and it
        makes ``add_working_days(a, working_days_between(a, b)) == b`` for a working day ``b``.
        """
        if n < 0:
            raise ValueError(f"n must be 0 or more, not {n}")
        day = start
        for _ in range(n):
            day = self.next_working_day(day)
        return day

    def working_days_between(self, a: date, b: date) -> int:
        """How many working days fall after ``a`` up to and including ``b``.

        On a FOI request's due date this is 20 when counted from the day of receipt, so it
        answers "which working day of the 20 are we on?". Negative when ``b`` is before ``a``.
        """
        if b < a:
            return -self.working_days_between(b, a)
        return sum(
            1 for k in range(1, (b - a).days + 1) if self.is_working_day(a + timedelta(days=k))
        )


def _check_overrides(closures: frozenset[date], working: frozenset[date]) -> None:
    """Refuse override tables that contradict themselves or the statute."""
    both = sorted(closures & working)
    if both:
        days = ", ".join(d.isoformat() for d in both)
        raise ValueError(f"dates listed both as closures and as working days: {days}")
    weekend = sorted(d for d in working if d.weekday() >= _SATURDAY)
    if weekend:
        days = ", ".join(d.isoformat() for d in weekend)
        raise ValueError(f"a Saturday or Sunday is never a working day (FOIA s.10(6)): {days}")


def effective_receipt_date(received: date, cal: UkCalendar) -> date:
    """The day the clock treats as the date of receipt: ``received``, or the next working day.

    A request that arrives on a Saturday, Sunday or bank holiday is treated as received on the
    next working day, as the s.45 Code of Practice (2018, para 4.2) puts it.
    """
    return received if cal.is_working_day(received) else cal.next_working_day(received)


def target_due_date(received: date, working_days: int, cal: UkCalendar) -> date:
    """The office's own target for an ordinary request, counted exactly as the FOI clock is.

    Counting the same way means a 20-day target and the FOI deadline can never disagree, and
    a shorter target (say 10 days) is always earlier than the statutory one.
    """
    return cal.add_working_days(effective_receipt_date(received, cal), working_days)


def foi_due_date(received: date, cal: UkCalendar) -> date:
    """The last day to answer a FOI request: the 20th working day following receipt.

    The first working day after the date of receipt is day one (FOIA s.10(1)). When the request
    arrives on a non-working day it is treated as received on the next working day, so day one
    is the working day after *that*: a request sent on Saturday 6 June 2026 is received Monday
    8 June, and day one is Tuesday 9 June. This is the reading of the s.45 Code of Practice
    (2018, para 4.2).

    Caution: the Act's own words (s.10(6): the date of receipt is "the day on which the public
    authority receives the request") and the ICO's earlier guidance make the Monday day one,
    which is one working day earlier for weekend and bank-holiday arrivals. An office that
    wants that earlier, safer date can use ``cal.add_working_days(received, 20)``.
    """
    return target_due_date(received, FOI_WORKING_DAYS, cal)


REVIEW_WORKING_DAYS = 20
"""ICO guidance (s.45 Code of Practice, para 5.4): an internal review within 20 working days."""

REVIEW_EXCEPTIONAL_WORKING_DAYS = 40
"""ICO guidance: no more than 40 working days in total, in exceptional circumstances only."""

PI_EXTENSION_WORKING_DAYS = 20
"""ICO guidance on s.10(3): a "reasonable" public-interest extension is up to 20 more days."""

SAR_EXTENSION_MONTHS = 2
"""UK GDPR Art. 12(3): "may be extended by two further months"."""


def add_months(day: date, months: int) -> date:
    """The same day of the month ``months`` later, or that month's last day when it is shorter.

    This is the ICO's "corresponding calendar date" rule: 31 January + 1 month is 28 (or 29)
    February, 30 November + 3 months is 28 February.
    """
    if months < 0:
        raise ValueError(f"months must be 0 or more, not {months}")
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def sar_months_due_date(received: date, months: int, cal: UkCalendar | None = None) -> date:
    """``months`` calendar months from receipt, rolled on to a working day when ``cal`` is given.

    One month is the ordinary subject access deadline; three is the deadline once it has been
    extended "by two further months" (Art. 12(3)), counted from the same day of receipt, so
    31 January extended is due 30 April (not 28 April, two months after 28 February).
    """
    due = add_months(received, months)
    if cal is None or cal.is_working_day(due):
        return due
    return cal.next_working_day(due)


def working_days_used(start: date, stopped_on: date, cal: UkCalendar) -> int:
    """Working days of a clock counted from ``start`` that ran out before ``stopped_on``.

    FOIA s.10(2) disregards "the working days in the period beginning with the day on which
    the fees notice is given": the notice day itself no longer counts, so the days used are
    those after ``start`` and before ``stopped_on``.
    """
    used = cal.working_days_between(start, stopped_on)
    if stopped_on > start and cal.is_working_day(stopped_on):
        used -= 1
    return max(used, 0)


def review_due_date(received: date, cal: UkCalendar, *, exceptional: bool = False) -> date:
    """An internal review's deadline: 20 working days from receipt, 40 in exceptional cases."""
    days = REVIEW_EXCEPTIONAL_WORKING_DAYS if exceptional else REVIEW_WORKING_DAYS
    return target_due_date(received, days, cal)


def sar_due_date(received: date, cal: UkCalendar | None = None) -> date:
    """The last day to answer a subject access request: one calendar month (UK GDPR Art. 12(3)).

    The ICO counts from the day of receipt, working day or not, to the corresponding date in
    the next month: 3 May is due 3 June. When the next month has no such date the deadline is
    its last day: 31 January is due 28 February (29 in a leap year), 31 August is due
    30 September. If ``cal`` is given and that day is a weekend or bank holiday, the ICO allows
    until the next working day. UK GDPR has no "any part of the UK" rule, so a ``UkCalendar``
    also rolls over a Scotland- or Northern Ireland-only holiday; pass no calendar for the
    strictest date.
    """
    return sar_months_due_date(received, 1, cal)


class Phase(StrEnum):
    """Where a day falls in the election timetable; each phase changes what the inbox says."""

    BEFORE_PRE_ELECTION = "before_pre_election"
    PRE_ELECTION = "pre_election"
    AFTER_NOMINATIONS = "after_nominations"
    AFTER_POLL = "after_poll"


def election_phase(on: date, election: ElectionSettings) -> Phase:
    """The phase of the election that the day ``on`` belongs to.

    The phases, with each boundary day placed explicitly:

    * before ``pre_election_period_start``: BEFORE_PRE_ELECTION;
    * from ``pre_election_period_start`` through ``nominations_close`` inclusive: PRE_ELECTION
      (nominations close at 4 pm, so for most of that day the candidates are not yet known);
    * from the day after ``nominations_close`` through ``poll_date`` inclusive:
      AFTER_NOMINATIONS (polling stations are open until 10 pm on polling day);
    * from the day after ``poll_date``: AFTER_POLL.
    """
    if on < election.pre_election_period_start:
        return Phase.BEFORE_PRE_ELECTION
    if on <= election.nominations_close:
        return Phase.PRE_ELECTION
    if on <= election.poll_date:
        return Phase.AFTER_NOMINATIONS
    return Phase.AFTER_POLL


def received_local_date(received_at: datetime, tz: str) -> date:
    """The calendar date in the office's time zone of an aware timestamp (usually UTC).

    Deadlines run from the UK date of receipt, not the UTC one: a message at 23:30 UTC on
    31 March 2024 arrived at 00:30 BST on 1 April. A naive timestamp is refused, because
    guessing its zone could move a request to the wrong day.
    """
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError(f"received_at must be timezone-aware, got {received_at.isoformat()}")
    return received_at.astimezone(ZoneInfo(tz)).date()
