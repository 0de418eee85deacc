"""The weekly summary to the Chief Executive: what came in, what is overdue, parity alerts.

Queued through the outbox (kind ``report``, no case) like every other email, to
``transparency.weekly_report_to``; the daemon's scheduler runs ``WeeklyReportJob`` on
``weekly_report_day`` at ``weekly_report_hour`` (office time), one run at a time, missed runs
coalesced. One report per ISO week at most: the audit trail remembers the week it was queued
for, so a restart or a manual ``inbox-agent report weekly --send`` never sends it twice.
"""

from __future__ import annotations

import datetime as dt
import logging
import textwrap
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox_agent.acknowledge import WRAP_WIDTH, RenderedEmail, one_line
from inbox_agent.classify import STATUTORY
from inbox_agent.deadlines import UkCalendar
from inbox_agent.letters import mail_environment, render_template
from inbox_agent.ops.outbox_job import OutboxJob
from inbox_agent.outbox import queue_email
from inbox_agent.register.audit import AuditAction, record
from inbox_agent.register.locks import serialize
from inbox_agent.register.models import (
    AuditEvent,
    Case,
    CaseStatus,
    OutboxKind,
    OutboxMessage,
    Publication,
)
from inbox_agent.settings import Settings
from inbox_agent.transparency.parity import ParityAlert, build_parity
from inbox_agent.transparency.publish import PUBLISH, local_date

log = logging.getLogger(__name__)
TEMPLATE = "report/weekly_summary.txt.j2"
QUEUED = AuditAction.WEEKLY_REPORT_QUEUED


@dataclass(frozen=True)
class Overdue:
    reference: str
    category: str
    status: str
    due_date: dt.date
    days_overdue: int


@dataclass
class WeeklySummary:
    week: str  # ISO week of the report day, e.g. 2027-W15
    start: dt.date  # the seven days the counts cover, start..end inclusive
    end: dt.date
    opened: dict[str, int] = field(default_factory=dict)
    still_open: dict[str, int] = field(default_factory=dict)
    total_cases: int = 0
    overdue: list[Overdue] = field(default_factory=list)
    alerts: list[ParityAlert] = field(default_factory=list)
    published_this_week: int = 0
    awaiting_publication: int = 0


def build_weekly_summary(
    session: Session, settings: Settings, now: dt.datetime, calendar: UkCalendar
) -> WeeklySummary:
    today = local_date(now, settings)
    year, week, _ = today.isocalendar()
    summary = WeeklySummary(
        week=f"{year}-W{week:02d}",
        start=today - dt.timedelta(days=7),
        end=today - dt.timedelta(days=1),
    )
    opened: Counter[str] = Counter()
    still_open: Counter[str] = Counter()
    for case in session.scalars(select(Case).order_by(Case.id)):
        summary.total_cases += 1
        if summary.start <= local_date(case.date_added_to_register, settings) <= summary.end:
            opened[case.category] += 1
        if case.status != CaseStatus.CLOSED:
            still_open[case.category] += 1
            if case.category in STATUTORY and case.due_date and case.due_date < today:
                summary.overdue.append(
                    Overdue(
                        case.reference,
                        case.category,
                        case.status,
                        case.due_date,
                        (today - case.due_date).days,
                    )
                )
    summary.opened = dict(sorted(opened.items()))
    summary.still_open = dict(sorted(still_open.items()))
    summary.overdue.sort(key=lambda o: (o.due_date, o.reference))
    summary.alerts = build_parity(session, settings, now, calendar).alerts
    for row in session.scalars(select(Publication).where(Publication.decision == PUBLISH)):
        if row.published_on is None:
            summary.awaiting_publication += 1
        elif summary.start <= row.published_on <= summary.end:
            summary.published_this_week += 1
    return summary


def render_weekly_summary(settings: Settings, summary: WeeklySummary) -> RenderedEmail:
    env = mail_environment(settings.policy.template_dir)
    context = {"office": settings.office, "summary": summary, "transparency": settings.transparency}
    text = render_template(env, TEMPLATE, context)
    lines = text.strip("\n").splitlines()
    wrapped = [
        textwrap.fill(line, WRAP_WIDTH, break_long_words=False, subsequent_indent=_indent(line))
        for line in lines
    ]
    subject = f"Election inbox: weekly summary {summary.week} ({settings.office.name})"
    return RenderedEmail(subject=one_line(subject, 200), text="\n".join(wrapped) + "\n", html=None)


def _indent(line: str) -> str:
    stripped = line.lstrip()
    return " " * (len(line) - len(stripped) + (2 if stripped.startswith("- ") else 0))


def already_queued(session: Session, week: str) -> bool:
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == QUEUED))
    return any(e.detail.get("week") == week for e in events)


def queue_weekly_report(
    session: Session,
    settings: Settings,
    now: dt.datetime,
    calendar: UkCalendar,
    *,
    force: bool = False,
) -> OutboxMessage | None:
    """Queue this week's summary; None without a recipient, or when it was already queued."""
    recipient = settings.transparency.weekly_report_to
    if recipient is None:
        return None
    serialize(session, "weekly_report")  # two nodes fire the same cron: one queues it
    summary = build_weekly_summary(session, settings, now, calendar)
    if not force and already_queued(session, summary.week):
        log.info("event=weekly_report_skipped week=%s reason=already_queued", summary.week)
        return None
    row = queue_email(
        session,
        None,
        kind=OutboxKind.REPORT,
        recipient=str(recipient),
        rendered=render_weekly_summary(settings, summary),
        from_address=settings.from_address,
        office_name=settings.office.name,
        now=now,
        give_up_after=dt.timedelta(hours=settings.actions.send_retry_hours),
    )
    record(
        session,
        QUEUED,
        at=now,
        week=summary.week,
        outbox=row.id,
        overdue=len(summary.overdue),
        parity_alerts=len(summary.alerts),
    )
    log.info(
        "event=weekly_report_queued week=%s overdue=%d parity_alerts=%d",
        summary.week,
        len(summary.overdue),
        len(summary.alerts),
    )
    return row


class WeeklyReportJob(OutboxJob):
    """What the scheduler calls: queue the report in one transaction, then drain the outbox.

    A failure is logged and left for next week's run (or ``report weekly --send``).
    """

    name = "weekly_report"

    def queue(self, session: Session) -> bool:
        return queue_weekly_report(session, self.settings, self.clock(), self.calendar) is not None

    def trigger_args(self) -> dict[str, object]:
        """The cron trigger's arguments for ``scheduler.add_job(job, "cron", **args)``."""
        t = self.settings.transparency
        return {
            "day_of_week": t.weekly_report_day,
            "hour": t.weekly_report_hour,
            "minute": 0,
            "timezone": self.settings.office.timezone,
        }
