"""Reminders to the assigned officer, and the escalation when a statutory date is missed.

Four kinds, each queued through the outbox once:

* ``assigned``: a case was given to an officer (once per assignment);
* ``due_soon``: ``casework.remind_working_days_before`` working days before the statutory
  date, or on any later day before it if the daemon was down on that day;
* ``missed``: the statutory date passed with no response recorded;
* ``escalation``: the same day, to ``casework.chief_executive``.

``plan_reminders`` is pure (facts about the cases, the office's day and hour, the calendar);
``queue_reminders`` does the I/O. Once-only rests on ``ReminderSent.key``, unique in the
register and written in the same transaction as the outbox row: a restart finds the key, and
a second node that reaches the same case at the same moment waits on the ``reminders`` lock,
then finds it. A moved due date (a clock stopped and restarted, an extension) is a new key,
so the officer is reminded of the date that now applies.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from inbox_agent.acknowledge import RenderedEmail, one_line
from inbox_agent.casework.statutory import clock_state, first_received_times, regime_of
from inbox_agent.deadlines import UkCalendar
from inbox_agent.letters import mail_environment, render_template
from inbox_agent.logs import redact
from inbox_agent.ops.outbox_job import OutboxJob
from inbox_agent.outbox import queue_email
from inbox_agent.register.audit import AuditAction, record
from inbox_agent.register.locks import serialize
from inbox_agent.register.models import (
    AuditEvent,
    Case,
    CaseStatus,
    OutboxKind,
    ReminderSent,
    WebUser,
)
from inbox_agent.settings import Settings

log = logging.getLogger(__name__)
ASSIGNED, DUE_SOON, MISSED, ESCALATION = "assigned", "due_soon", "missed", "escalation"
SUBJECTS = {
    ASSIGNED: "Case assigned to you",
    DUE_SOON: "Statutory date approaching",
    MISSED: "Statutory date missed",
    ESCALATION: "Escalation: statutory date missed",
}
OPEN = (CaseStatus.NEW, CaseStatus.IN_PROGRESS)


@dataclass(frozen=True)
class CaseFacts:
    """What the plan needs to know of one open case."""

    case_id: int
    reference: str
    subject: str
    category: str
    officer: str | None
    assignment_id: int | None  # the audit event that gave the case to ``officer``
    due: dt.date | None  # the statutory date as it now stands; None: no clock, or stopped
    responded: bool


@dataclass(frozen=True)
class Planned:
    key: str
    kind: str
    case_id: int
    reference: str
    recipient: str
    facts: CaseFacts


def plan_reminders(
    cases: list[CaseFacts],
    settings: Settings,
    *,
    today: dt.date,
    hour: int,
    cal: UkCalendar,
    accounts: dict[str, str] | None = None,
) -> list[Planned]:
    """Every reminder owed now, sent or not; the caller drops the keys already in the register.

    Date reminders wait for ``casework.reminder_hour`` so they arrive at the start of the day,
    not at midnight; an assignment is told at once.
    """
    cfg = settings.casework
    planned: list[Planned] = []
    for c in cases:
        officer_to = _officer_address(settings, c.officer, accounts)
        if c.officer and c.assignment_id is not None:
            key = f"{ASSIGNED}:{c.case_id}:{c.assignment_id}"
            planned.append(Planned(key, ASSIGNED, c.case_id, c.reference, officer_to, c))
        if c.due is None or c.responded or hour < cfg.reminder_hour:
            continue
        day = c.due.isoformat()
        if today > c.due:
            planned.append(
                Planned(
                    f"{MISSED}:{c.case_id}:{day}", MISSED, c.case_id, c.reference, officer_to, c
                )
            )
            chief = str(cfg.chief_executive or settings.office.inbox_address)
            planned.append(
                Planned(
                    f"{ESCALATION}:{c.case_id}:{day}", ESCALATION, c.case_id, c.reference, chief, c
                )
            )
        elif cal.working_days_between(today, c.due) <= cfg.remind_working_days_before:
            planned.append(
                Planned(
                    f"{DUE_SOON}:{c.case_id}:{day}", DUE_SOON, c.case_id, c.reference, officer_to, c
                )
            )
    return planned


def _officer_address(
    settings: Settings, officer: str | None, accounts: dict[str, str] | None = None
) -> str:
    """Where the officer's reminders go: ``casework.officer_addresses``, else the email of the
    web account with that name, else the office inbox (never nowhere)."""
    if officer:
        wanted = _folded(officer)
        for name, address in settings.casework.officer_addresses.items():
            if _folded(name) == wanted:
                return str(address)
        if accounts and accounts.get(wanted):
            return accounts[wanted]
    return str(settings.office.inbox_address)


def _folded(name: str) -> str:
    return " ".join(name.split()).casefold()


def account_addresses(session: Session) -> dict[str, str]:
    """Active web accounts' emails by display name and username (folded), for the officers."""
    found: dict[str, str] = {}
    for user in session.scalars(select(WebUser).where(WebUser.active.is_(True))):
        if user.email:
            for name in (user.username, user.display_name):
                if name:
                    found.setdefault(_folded(name), user.email)
    return found


def case_facts(session: Session, settings: Settings, cal: UkCalendar) -> list[CaseFacts]:
    """The open cases with an officer or a statutory clock, with their latest assignment.

    A handful of queries whatever the number of cases: every poll runs this.
    """
    query = (
        select(Case)
        .where(Case.status.in_(OPEN))
        .options(selectinload(Case.clock_events))
        .order_by(Case.id)
    )
    cases = session.scalars(query).all()
    first = first_received_times(session)
    assignments = _assignments(session)
    facts = []
    for case in cases:
        regime = regime_of(case)
        if regime is None and not case.officer:
            continue
        tz = settings.office.timezone
        clock = clock_state(case, cal, tz, first.get(case.id)) if regime else None
        latest = assignments.get(case.id)
        facts.append(
            CaseFacts(
                case_id=case.id,
                reference=case.reference,
                subject=case.subject,
                category=case.category,
                officer=case.officer,
                assignment_id=latest[0] if latest and latest[1] == case.officer else None,
                due=clock.due if clock else None,
                responded=case.responded_on is not None,
            )
        )
    return facts


def _assignments(session: Session) -> dict[int, tuple[int, str | None]]:
    """Per case, the latest ``officer_assigned`` event: its id and the officer it named."""
    rows = session.execute(
        select(AuditEvent.case_id, AuditEvent.id, AuditEvent.detail)
        .where(AuditEvent.action == AuditAction.OFFICER_ASSIGNED, AuditEvent.case_id.is_not(None))
        .order_by(AuditEvent.id)
    )
    latest: dict[int, tuple[int, str | None]] = {}
    for case_id, event_id, detail in rows:
        latest[int(case_id)] = (int(event_id), (detail or {}).get("officer"))
    return latest


def render_reminder(settings: Settings, planned: Planned, today: dt.date) -> RenderedEmail:
    env = mail_environment(settings.policy.template_dir)
    c = planned.facts
    context = {
        "office": settings.office,
        "reference": c.reference,
        "subject": one_line(c.subject, 200),
        "category": c.category.replace("_", " "),
        "officer": c.officer or "the office",
        "due_date": c.due,
        "today": today,
        "days_before": settings.casework.remind_working_days_before,
    }
    text = render_template(env, f"reminder/{planned.kind}.txt.j2", context)
    return RenderedEmail(subject=f"[{c.reference}] {SUBJECTS[planned.kind]}", text=text, html=None)


def queue_reminders(
    session: Session, settings: Settings, now: dt.datetime, cal: UkCalendar
) -> list[str]:
    """Queue every reminder owed and not yet queued; the keys queued, for the log and tests."""
    if not settings.casework.reminders:
        return []
    serialize(session, "reminders")  # a second node waits here, then sees our keys
    local = now.astimezone(settings.office.zone)
    planned = plan_reminders(
        case_facts(session, settings, cal),
        settings,
        today=local.date(),
        hour=local.hour,
        cal=cal,
        accounts=account_addresses(session),
    )
    if not planned:
        return []
    sent = set(
        session.scalars(
            select(ReminderSent.key).where(ReminderSent.key.in_([p.key for p in planned]))
        )
    )
    queued = []
    for p in planned:
        if p.key in sent:
            continue
        case = session.get(Case, p.case_id)
        row = queue_email(
            session,
            case,
            kind=OutboxKind.REMINDER,
            recipient=p.recipient,
            rendered=render_reminder(settings, p, local.date()),
            from_address=settings.from_address,
            office_name=settings.office.name,
            now=now,
            give_up_after=dt.timedelta(hours=settings.actions.send_retry_hours),
        )
        session.add(
            ReminderSent(key=p.key, case_id=p.case_id, kind=p.kind, outbox_id=row.id, at=now)
        )
        record(
            session,
            AuditAction.REMINDER_QUEUED,
            at=now,
            case_id=p.case_id,
            kind=p.kind,
            to=p.recipient,
            outbox=row.id,
        )
        log.info(
            "event=reminder_queued case=%s kind=%s to=%s", p.reference, p.kind, redact(p.recipient)
        )
        queued.append(p.key)
    session.flush()
    return queued


class ReminderJob(OutboxJob):
    """What the scheduler calls every poll interval: queue what is owed, then drain the outbox.

    A failure is logged and retried on the next run.
    """

    name = "reminders"

    def queue(self, session: Session) -> bool:
        return bool(queue_reminders(session, self.settings, self.clock(), self.calendar))
