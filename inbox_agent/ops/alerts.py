"""Tell a human when the daemon cannot read the inbox, once, and again when it can.

The scheduler reports each pass here. A failure starts (or continues) a streak kept in the
register's ``alert_state`` table; once the streak is older than ``alerts.poll_failure_minutes``
one alert email is queued to ``alerts.email`` through the outbox (kind ``alert``, no case),
and when a pass succeeds again one "recovered" email follows. A blip shorter than the
threshold emails nobody. The state is in the register, so a restart mid-outage neither
repeats the alert nor forgets to send the recovery.

Without ``alerts.email`` the same transitions are still logged at ERROR and audited, for a
journal watcher to pick up.

An operator's error (bad configuration, templates missing, a register too new) will not go
away by waiting, so it raises the alert at once (``immediate``), with its own wording. If the
templates themselves are what is missing, the alert falls back to a plain built-in text:
the one email that says the templates are gone must not need them.
"""

from __future__ import annotations

import datetime as dt
import logging
import textwrap
from collections.abc import Callable
from zoneinfo import ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox_agent.acknowledge import WRAP_WIDTH, RenderedEmail, one_line
from inbox_agent.clock import Clock
from inbox_agent.errors import ConfigError, InboxAgentError
from inbox_agent.letters import mail_environment, render_template
from inbox_agent.ops.health import POLL_ALERT
from inbox_agent.outbox import queue_email
from inbox_agent.register.audit import AuditAction, record
from inbox_agent.register.db import Register
from inbox_agent.register.models import AlertState, OutboxKind, OutboxMessage
from inbox_agent.send import Sender
from inbox_agent.settings import Settings

log = logging.getLogger(__name__)
FAILED_TEMPLATE = "alert/poll_failed.txt.j2"
RECOVERED_TEMPLATE = "alert/poll_recovered.txt.j2"
OPERATOR_TEMPLATE = "alert/operator_error.txt.j2"
ERROR_MAX = 500


def record_poll_failure(
    session: Session,
    settings: Settings,
    now: dt.datetime,
    error: str | None,
    *,
    immediate: bool = False,
) -> OutboxMessage | None:
    """Extend the failure streak; queue the alert when it first passes the threshold.

    ``error`` is None when no poll was attempted (the scheduler is backing off) but time has
    moved on, so the threshold may have been crossed all the same. ``immediate``: an
    operator's error, alerted without waiting for the threshold.
    """
    state = _state(session, now)
    if state.failing_since is None:
        state.failing_since = now
        state.raised_at = None
    if error is not None:
        state.last_error = error[:ERROR_MAX]
    state.updated_at = now
    threshold = dt.timedelta(minutes=settings.alerts.poll_failure_minutes)
    if state.raised_at is not None or (not immediate and now - state.failing_since <= threshold):
        return None
    state.raised_at = now
    minutes = _minutes(now - state.failing_since)
    record(
        session,
        AuditAction.ALERT_RAISED,
        at=now,
        alert=POLL_ALERT,
        minutes=minutes,
        error=state.last_error,
    )
    log.error(
        "event=alert_raised alert=%s failing_for_minutes=%d error=%s",
        POLL_ALERT,
        minutes,
        state.last_error,
    )
    if immediate:
        rendered = operator_alert(settings, state.failing_since, state.last_error or "")
        return _queue(session, settings, now, OPERATOR_TEMPLATE, rendered)
    rendered = failure_alert(settings, state.failing_since, minutes, state.last_error or "")
    return _queue(session, settings, now, FAILED_TEMPLATE, rendered)


def record_poll_success(
    session: Session, settings: Settings, now: dt.datetime
) -> OutboxMessage | None:
    """End any failure streak; queue the recovery email if an alert went out for it."""
    state = session.scalars(select(AlertState).where(AlertState.name == POLL_ALERT)).first()
    if state is None or state.failing_since is None:
        return None
    failing_since, raised_at = state.failing_since, state.raised_at
    state.failing_since, state.raised_at, state.last_error = None, None, None
    state.recovered_at = state.updated_at = now
    minutes = _minutes(now - failing_since)
    if raised_at is None:
        log.info("event=poll_recovered_before_alert failed_for_minutes=%d", minutes)
        return None
    record(session, AuditAction.ALERT_CLEARED, at=now, alert=POLL_ALERT, minutes=minutes)
    log.warning("event=alert_cleared alert=%s failed_for_minutes=%d", POLL_ALERT, minutes)
    rendered = recovery_alert(settings, failing_since, now, minutes)
    return _queue(session, settings, now, RECOVERED_TEMPLATE, rendered)


def failure_alert(
    settings: Settings, failing_since: dt.datetime, minutes: int, last_error: str
) -> RenderedEmail:
    """The email saying the inbox cannot be read (also rendered by ``check-config``)."""
    context = {
        "failing_since": _local(settings, failing_since),
        "minutes": minutes,
        "last_error": one_line(last_error, ERROR_MAX),
        "alert_after_minutes": settings.alerts.poll_failure_minutes,
    }
    subject = f"inbox-agent: cannot read the election inbox for {minutes} minutes"
    return _render(settings, FAILED_TEMPLATE, subject, context)


def operator_alert(
    settings: Settings, failing_since: dt.datetime, error: str, *, strict: bool = False
) -> RenderedEmail:
    """The email saying the daemon stopped on an error only the operator can fix.

    The templates may be the very thing that is broken: unless ``strict`` (check-config),
    a template fault gives a plain built-in text instead of no alert at all.
    """
    context = {
        "failing_since": _local(settings, failing_since),
        "last_error": one_line(error, ERROR_MAX),
    }
    subject = "inbox-agent: stopped on a configuration error; the operator must act"
    try:
        return _render(settings, OPERATOR_TEMPLATE, subject, context)
    except ConfigError as exc:
        if strict:
            raise
        return RenderedEmail(
            subject=one_line(f"{subject} ({settings.office.name})", 200),
            text=_wrap(_fallback_text(settings, error, exc)),
            html=None,
        )


def recovery_alert(
    settings: Settings, failing_since: dt.datetime, recovered_at: dt.datetime, minutes: int
) -> RenderedEmail:
    """The email saying the inbox is read again (also rendered by ``check-config``)."""
    context = {
        "failing_since": _local(settings, failing_since),
        "recovered_at": _local(settings, recovered_at),
        "minutes": minutes,
    }
    subject = "inbox-agent: the election inbox is being read again"
    return _render(settings, RECOVERED_TEMPLATE, subject, context)


def _render(
    settings: Settings, template: str, subject: str, context: dict[str, object]
) -> RenderedEmail:
    env = mail_environment(settings.policy.template_dir)
    office = {"office": settings.office, "paro": settings.paro, "policy": settings.policy}
    text = _wrap(render_template(env, template, office | context))
    return RenderedEmail(
        subject=one_line(f"{subject} ({settings.office.name})", 200), text=text, html=None
    )


class PollAlerts:
    """What the scheduler calls; owns the transactions and drains what it queued.

    Alerting must never stop polling: if the register itself is unavailable the alert cannot
    be recorded either, and that is logged and left for the next pass.
    """

    def __init__(self, settings: Settings, register: Register, sender: Sender, clock: Clock):
        self.settings = settings
        self.register = register
        self.sender = sender
        self.clock = clock

    def failed(self, error: str | None, *, immediate: bool = False) -> None:
        """A pass failed (``error``), or a retry is still being waited for (``None``)."""
        self._apply(
            lambda s, now: record_poll_failure(s, self.settings, now, error, immediate=immediate)
        )

    def recovered(self) -> None:
        self._apply(lambda s, now: record_poll_success(s, self.settings, now))

    def _apply(self, step: Callable[[Session, dt.datetime], OutboxMessage | None]) -> None:
        try:
            with self.register.transaction() as session:
                queued = step(session, self.clock())
            if queued is not None:
                # the outbox may well work while the mailbox does not
                self.sender.drain()
        except InboxAgentError as exc:
            log.error("event=alert_not_recorded error=%s", exc)


def _state(session: Session, now: dt.datetime) -> AlertState:
    state = session.scalars(select(AlertState).where(AlertState.name == POLL_ALERT)).first()
    if state is None:
        state = AlertState(name=POLL_ALERT, updated_at=now)
        session.add(state)
    return state


def _queue(
    session: Session,
    settings: Settings,
    now: dt.datetime,
    template: str,
    rendered: RenderedEmail,
) -> OutboxMessage | None:
    recipient = settings.alerts.email
    if recipient is None:
        return None
    row = queue_email(
        session,
        None,
        kind=OutboxKind.ALERT,
        recipient=str(recipient),
        rendered=rendered,
        from_address=settings.from_address,
        office_name=settings.office.name,
        now=now,
        give_up_after=dt.timedelta(hours=settings.actions.send_retry_hours),
    )
    record(
        session,
        AuditAction.ALERT_QUEUED,
        at=now,
        alert=POLL_ALERT,
        outbox=row.id,
        template=template,
    )
    return row


def _fallback_text(settings: Settings, error: str, exc: ConfigError) -> str:
    return (
        f"The inbox-agent service of the {settings.office.name} has stopped processing the "
        f"election inbox {settings.office.inbox_address}.\n\n"
        f"Error: {one_line(error, ERROR_MAX) or '(none recorded)'}\n\n"
        f"This alert could not use its usual wording ({exc}), so the templates may be what "
        "is missing or broken. Run inbox-agent check-config on the server and read the "
        "service log (journalctl -u inbox-agent).\n"
    )


def _local(settings: Settings, moment: dt.datetime) -> dt.datetime:
    try:
        return moment.astimezone(settings.office.zone)
    except (ZoneInfoNotFoundError, ValueError):
        return moment


def _wrap(text: str) -> str:
    """72 columns for plain-text readers; templates keep one paragraph per line."""
    lines = text.strip("\n").splitlines()
    wrapped = [textwrap.fill(line, WRAP_WIDTH, break_long_words=False) for line in lines]
    return "\n".join(wrapped) + "\n"


def _minutes(delta: dt.timedelta) -> int:
    return int(delta.total_seconds() // 60)
