"""Is the clerk doing its job? One snapshot of the register, for ``status``, metrics and the web UI.

``build_health`` reads; it writes nothing and reads no clock (``now`` is passed in), so the same
register gives the same answer in a test, on the command line and on a dashboard. The
snapshot answers the questions an IT officer asks at 7 a.m. on polling day: is the mailbox
being read, is anything waiting, did any email fail for good, is any message stuck in
quarantine, and is any statutory request (FOI, subject access) past its due date.

Degraded means a human should act now: polling has failed for longer than
``alerts.poll_failure_minutes``; the configured mailbox has not been read successfully for
more than three poll intervals (or ever), whatever the reason (a daemon stopped, an
operator error, a hung pass); an email failed permanently; a message is quarantined; or a
message failed processing and waits for a retry; the outbox has stopped draining (an email
due more than three poll intervals ago is still queued). Only the mailbox the profile configures
is judged: the rows a source left behind after it was reconfigured are history, not health.
The first three and the outbox are critical (nobody is reading or sending), the rest warnings
(``nagios``).
"""

from __future__ import annotations

import datetime as dt
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from inbox_agent.classify import STATUTORY
from inbox_agent.localbox import local_account
from inbox_agent.logs import redact
from inbox_agent.register.models import (
    OPEN_STATUSES,
    AlertState,
    Case,
    Disposition,
    MailboxState,
    OutboxMessage,
    OutboxStatus,
    StoredMessage,
)
from inbox_agent.settings import Settings

POLL_ALERT = "poll_failed"
RECENT = 5
ERROR_MAX = 300
STALE_INTERVALS = 3  # a last success older than this many poll intervals is degraded


def overdue_condition(today: dt.date) -> ColumnElement[bool]:
    """Overdue: still open and past its due date. The one definition: the dashboard, the
    status command, the metrics and the queue's "overdue" filter all count with it."""
    return and_(Case.status.in_(OPEN_STATUSES), Case.due_date.is_not(None), Case.due_date < today)


@dataclass(frozen=True)
class SourceHealth:
    account: str
    folder: str
    last_poll_at: dt.datetime | None
    last_success_at: dt.datetime | None
    success_age: dt.timedelta | None
    last_error: str | None


@dataclass(frozen=True)
class FailedEmail:
    outbox_id: int
    case_reference: str | None
    kind: str
    recipient: str  # redacted
    error: str
    created_at: dt.datetime


@dataclass(frozen=True)
class QuarantinedMessage:
    stored_message_id: int
    received_at: dt.datetime
    sender: str | None  # redacted
    reason: str


@dataclass(frozen=True)
class OverdueCase:
    reference: str
    category: str
    status: str
    due_date: dt.date
    days_overdue: int


@dataclass(frozen=True)
class Health:
    now: dt.datetime
    sources: tuple[SourceHealth, ...]
    poll_failing_since: dt.datetime | None
    poll_alert_after: dt.timedelta
    pending_messages: int
    queued_emails: int
    oldest_queued_age: dt.timedelta | None
    failed_emails: int
    recent_failed_emails: tuple[FailedEmail, ...]
    quarantined: int
    recent_quarantined: tuple[QuarantinedMessage, ...]
    overdue: tuple[OverdueCase, ...]
    messages_by_disposition: dict[str, int] = field(default_factory=dict)
    retrying: int = 0  # pending messages whose processing failed at least once
    oldest_due_age: dt.timedelta | None = None  # how late the most overdue queued email is
    problems: tuple[str, ...] = field(default=())
    critical: bool = False  # nobody is reading the inbox (see the module docstring)

    @property
    def degraded(self) -> bool:
        return bool(self.problems)

    @property
    def last_success_at(self) -> dt.datetime | None:
        times = [s.last_success_at for s in self.sources if s.last_success_at is not None]
        return max(times) if times else None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: datetimes as ISO 8601, ages in whole seconds."""
        return {
            "ok": not self.degraded,
            "now": self.now.isoformat(),
            "healthy": not self.degraded,
            "critical": self.critical,
            "problems": list(self.problems),
            "sources": [_jsonable(asdict(s)) for s in self.sources],
            "poll_failing_since": _jsonable(self.poll_failing_since),
            "poll_alert_after_seconds": int(self.poll_alert_after.total_seconds()),
            "backlog": {
                "pending_messages": self.pending_messages,
                "retrying_messages": self.retrying,
                "queued_emails": self.queued_emails,
                "oldest_queued_age_seconds": _seconds(self.oldest_queued_age),
                "oldest_due_age_seconds": _seconds(self.oldest_due_age),
            },
            "outbox_failed": {
                "count": self.failed_emails,
                "recent": [_jsonable(asdict(f)) for f in self.recent_failed_emails],
            },
            "quarantined": {
                "count": self.quarantined,
                "recent": [_jsonable(asdict(q)) for q in self.recent_quarantined],
            },
            "overdue_statutory": [_jsonable(asdict(o)) for o in self.overdue],
            "messages_by_disposition": dict(self.messages_by_disposition),
        }


def build_info() -> dict[str, str]:
    """Which inbox-agent answers: its version, the Python running it, where it is installed."""
    import inbox_agent

    try:
        version = metadata.version("inbox-agent")
    except metadata.PackageNotFoundError:  # a checkout run without installing
        version = inbox_agent.__version__
    return {
        "version": version,
        "python": platform.python_version(),
        "installed_at": str(Path(inbox_agent.__file__).resolve().parent),
    }


def build_health(session: Session, now: dt.datetime, settings: Settings) -> Health:
    """A snapshot of the register at ``now`` (an aware UTC time)."""
    sources = _configured_sources(session, now, settings)
    failing_since = _poll_failing_since(session, sources)
    alert_after = dt.timedelta(minutes=settings.alerts.poll_failure_minutes)
    oldest = session.scalar(
        select(func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status == OutboxStatus.QUEUED
        )
    )
    due = session.scalar(
        select(func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.status == OutboxStatus.QUEUED
        )
    )
    pending = StoredMessage.disposition == Disposition.PENDING
    health = Health(
        now=now,
        sources=sources,
        poll_failing_since=failing_since,
        poll_alert_after=alert_after,
        pending_messages=_count(session, StoredMessage, pending),
        queued_emails=_count(session, OutboxMessage, OutboxMessage.status == OutboxStatus.QUEUED),
        oldest_queued_age=now - oldest if oldest is not None else None,
        failed_emails=_count(session, OutboxMessage, OutboxMessage.status == OutboxStatus.FAILED),
        recent_failed_emails=_recent_failed(session),
        quarantined=_count(
            session, StoredMessage, StoredMessage.disposition == Disposition.QUARANTINED
        ),
        recent_quarantined=_recent_quarantined(session),
        overdue=_overdue(session, now.astimezone(settings.office.zone).date()),
        messages_by_disposition=_dispositions(session),
        retrying=_count(session, StoredMessage, pending & (StoredMessage.attempts > 0)),
        oldest_due_age=now - due if due is not None and due < now else None,
    )
    critical = _critical_problems(health, settings)
    problems = critical + _warnings(health)
    return replace(health, problems=tuple(problems), critical=bool(critical))


def _critical_problems(health: Health, settings: Settings) -> list[str]:
    """Nobody is reading or sending: failing past the alert threshold, no recent success, or
    an email the sender should have tried three poll intervals ago still waiting."""
    problems = []
    now, failing_since = health.now, health.poll_failing_since
    if failing_since is not None and now - failing_since > health.poll_alert_after:
        problems.append(f"polling has failed for {_minutes(now - failing_since)} minutes")
    stale_after = dt.timedelta(seconds=STALE_INTERVALS * settings.poll.interval_seconds)
    for source in health.sources:
        if problems and source.last_error is not None:
            continue  # already said: polling has failed for so long
        if source.success_age is None:
            never = "never polled" if source.last_poll_at is None else "never polled successfully"
            problems.append(f"{source.account} {source.folder}".rstrip() + f" {never}")
        elif source.success_age > stale_after:
            problems.append(
                f"no successful poll for {format_age(source.success_age)} (more than "
                f"{STALE_INTERVALS} x poll.interval_seconds = {format_age(stale_after)})"
            )
    late = health.oldest_due_age
    if late is not None and late > stale_after:
        problems.append(
            f"the outbox is not draining: an email due {format_age(late)} ago is still queued"
        )
    return problems


def _warnings(health: Health) -> list[str]:
    """Work that waits for a human: failed emails, quarantine, messages being retried."""
    problems = []
    if health.failed_emails:
        problems.append(f"{health.failed_emails} email(s) failed permanently")
    if health.quarantined:
        problems.append(f"{health.quarantined} message(s) quarantined")
    if health.retrying:
        problems.append(f"{health.retrying} message(s) failed processing, waiting for a retry")
    return problems


def configured_source(settings: Settings) -> tuple[str, str]:
    """``(account, folder)`` of the mailbox this profile polls, as the pipeline records it."""
    if settings.imap is not None:
        return settings.imap.account, settings.imap.folder
    assert settings.maildir is not None  # Settings guarantees exactly one source
    return local_account(settings.maildir.path), ""


def _configured_sources(
    session: Session, now: dt.datetime, settings: Settings
) -> tuple[SourceHealth, ...]:
    account, folder = configured_source(settings)
    state = session.scalars(
        select(MailboxState).where(MailboxState.account == account, MailboxState.folder == folder)
    ).first()
    if state is None:
        return (SourceHealth(account, folder, None, None, None, None),)
    return (_source(state, now),)


def _source(state: MailboxState, now: dt.datetime) -> SourceHealth:
    success = state.last_success_at
    return SourceHealth(
        account=state.account,
        folder=state.folder,
        last_poll_at=state.last_poll_at,
        last_success_at=success,
        success_age=now - success if success is not None else None,
        last_error=state.last_error,
    )


def _poll_failing_since(session: Session, sources: tuple[SourceHealth, ...]) -> dt.datetime | None:
    """Start of the current failure streak: the daemon's alert record, else the sources' own.

    A source whose last poll failed has been failing at least since its last success (or,
    if it never succeeded, since that poll). The daemon's record also knows when a source
    that never succeeded began failing; it counts only while a source is failing, because a
    ``run --once`` that succeeds does not clear it.
    """
    failing = [s for s in sources if s.last_error is not None]
    if not failing:
        return None
    candidates = [t for s in failing if (t := s.last_success_at or s.last_poll_at) is not None]
    alert = session.scalars(select(AlertState).where(AlertState.name == POLL_ALERT)).first()
    if alert is not None and alert.failing_since is not None:
        candidates.append(alert.failing_since)
    return min(candidates) if candidates else None


def _dispositions(session: Session) -> dict[str, int]:
    query = select(StoredMessage.disposition, func.count()).group_by(StoredMessage.disposition)
    counts = {disposition: int(n) for disposition, n in session.execute(query)}
    return {str(d): counts.get(d, 0) for d in Disposition}


def _count(session: Session, model: Any, condition: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(condition)) or 0)


def _recent_failed(session: Session) -> tuple[FailedEmail, ...]:
    rows = session.execute(
        select(OutboxMessage, Case.reference)
        .outerjoin(Case, Case.id == OutboxMessage.case_id)
        .where(OutboxMessage.status == OutboxStatus.FAILED)
        .order_by(OutboxMessage.id.desc())
        .limit(RECENT)
    )
    return tuple(
        FailedEmail(
            outbox_id=row.id,
            case_reference=reference,
            kind=row.kind,
            recipient=redact(row.recipient),
            error=(row.last_error or "")[:ERROR_MAX],
            created_at=row.created_at,
        )
        for row, reference in rows
    )


def _recent_quarantined(session: Session) -> tuple[QuarantinedMessage, ...]:
    rows = session.execute(
        select(
            StoredMessage.id, StoredMessage.received_at, StoredMessage.sender, StoredMessage.error
        )
        .where(StoredMessage.disposition == Disposition.QUARANTINED)
        .order_by(StoredMessage.id.desc())
        .limit(RECENT)
    )
    return tuple(
        QuarantinedMessage(
            stored_message_id=id_,
            received_at=received_at,
            sender=redact(sender) if sender else None,
            reason=(error or "")[:ERROR_MAX],
        )
        for id_, received_at, sender, error in rows
    )


def _overdue(session: Session, today: dt.date) -> tuple[OverdueCase, ...]:
    """FOI and subject-access cases overdue (``overdue_condition``), most overdue first."""
    cases = session.scalars(
        select(Case)
        .where(Case.category.in_(STATUTORY), overdue_condition(today))
        .order_by(Case.due_date, Case.id)
    )
    return tuple(
        OverdueCase(c.reference, c.category, c.status, c.due_date, (today - c.due_date).days)
        for c in cases
        if c.due_date is not None
    )


def _minutes(delta: dt.timedelta) -> int:
    return int(delta.total_seconds() // 60)


def _seconds(delta: dt.timedelta | None) -> int | None:
    return None if delta is None else int(delta.total_seconds())


def _jsonable(value: Any) -> Any:
    """Dates as ISO 8601; a ``timedelta`` field ``x`` becomes ``x_seconds``."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(item, dt.timedelta):
                out[f"{key}_seconds"] = _seconds(item)
            else:
                out[key] = _jsonable(item)
        return out
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


# -- the text ``inbox-agent status`` prints -------------------------------------------------


def render_health(health: Health) -> list[str]:
    """Lines for a terminal: the verdict first, then each question in turn."""
    verdict = "DEGRADED" if health.degraded else "healthy"
    lines = [f"inbox-agent status at {health.now:%Y-%m-%d %H:%M} UTC: {verdict}"]
    lines += [f"  ! {problem}" for problem in health.problems]
    lines += _render_sources(health)
    age = health.oldest_queued_age
    oldest = f" (oldest {format_age(age)})" if age is not None else ""
    retrying = f" ({health.retrying} after a failure)" if health.retrying else ""
    lines.append(
        f"backlog: {health.pending_messages} message(s) pending{retrying}, "
        f"{health.queued_emails} email(s) queued{oldest}"
    )
    counts = ", ".join(f"{k} {v}" for k, v in health.messages_by_disposition.items())
    lines.append(f"messages: {counts}")
    lines.append(f"outbox failed: {health.failed_emails}")
    for f in health.recent_failed_emails:
        lines.append(
            f"  outbox {f.outbox_id} [{f.case_reference or '-'}] {f.kind} to {f.recipient}: "
            f"{f.error}"
        )
    lines.append(f"quarantined: {health.quarantined}")
    for q in health.recent_quarantined:
        lines.append(
            f"  message {q.stored_message_id} received {q.received_at:%Y-%m-%d %H:%M} "
            f"from {q.sender or '-'}: {q.reason}"
        )
    lines.append(f"overdue statutory cases: {len(health.overdue)}")
    for o in health.overdue:
        lines.append(
            f"  {o.reference} {o.category} due {o.due_date.isoformat()} "
            f"({o.days_overdue} day(s) overdue), status {o.status}"
        )
    return lines


NAGIOS_OK, NAGIOS_WARNING, NAGIOS_CRITICAL, NAGIOS_UNKNOWN = 0, 1, 2, 3
_NAGIOS_STATES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")


def render_nagios(
    healths: Sequence[tuple[str, Health]], settings: Sequence[Settings]
) -> tuple[int, str]:
    """One Nagios plugin line and its exit code (0 OK, 1 WARNING, 2 CRITICAL).

    Several mailboxes give one line: the worst state, each problem and perfdata label
    prefixed with the mailbox's name. ``last_success_age`` carries the critical threshold
    (3 x ``poll.interval_seconds``) so a graph shows how close the poller runs to it.
    """
    code = NAGIOS_OK
    problems: list[str] = []
    perf: list[str] = []
    several = len(healths) > 1
    for (name, health), profile in zip(healths, settings, strict=True):
        state = NAGIOS_CRITICAL if health.critical else NAGIOS_WARNING if health.degraded else 0
        code = max(code, state)
        prefix = f"{name}: " if several else ""
        problems += [prefix + p for p in health.problems]
        label = f"{name}_" if several else ""
        age = health.sources[0].success_age if health.sources else None
        crit = STALE_INTERVALS * profile.poll.interval_seconds
        perf += [
            f"{label}pending={health.pending_messages}",
            f"{label}retrying={health.retrying};0",
            f"{label}queued={health.queued_emails}",
            f"{label}failed={health.failed_emails};0",
            f"{label}quarantined={health.quarantined};0",
            f"{label}overdue={len(health.overdue)}",
            f"{label}last_success_age={_seconds(age) if age is not None else 'U'}s;;{crit};0",
        ]
    summary = "; ".join(problems) if problems else _ok_summary(healths)
    return code, f"INBOX-AGENT {_NAGIOS_STATES[code]} - {summary} | {' '.join(perf)}"


def nagios_unknown(error: str) -> str:
    """The plugin line when no snapshot could be taken (bad configuration, register down)."""
    return f"INBOX-AGENT {_NAGIOS_STATES[NAGIOS_UNKNOWN]} - {redact(error).splitlines()[0]}"


def _ok_summary(healths: Sequence[tuple[str, Health]]) -> str:
    ages = [s.success_age for _, h in healths for s in h.sources if s.success_age is not None]
    return f"polling, last success {format_age(max(ages))} ago" if ages else "polling"


def _render_sources(health: Health) -> list[str]:
    if not health.sources:
        return ["source: never polled"]
    lines = []
    for s in health.sources:
        success = (
            f"last success {s.last_success_at:%Y-%m-%d %H:%M} ({format_age(s.success_age)} ago)"
            if s.last_success_at is not None and s.success_age is not None
            else "never succeeded"
        )
        error = f"; last poll FAILED: {s.last_error}" if s.last_error else ""
        lines.append(f"source {s.account} {s.folder or '-'}: {success}{error}")
    return lines


def format_age(delta: dt.timedelta) -> str:
    """``42 s``, ``17 min``, ``3 h 5 min``, ``2 d 4 h``."""
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if hours < 1:
        return f"{minutes} min"
    if days < 1:
        return f"{hours} h {minutes % 60} min"
    return f"{days} d {hours % 24} h"
