"""A requester writes again on a case: what that does to the case, decided here, once.

* **Answered** case: reopened (back to in progress). The office's answer prompted more; the
  case is not done until someone reads it and answers or closes it again.
* **Closed** case: stays closed and is flagged. Closing is a decision (an FOI request
  complete, a complaint referred on) and a "thank you" must not restart a statutory clock
  by itself; the officer reopens it with one click if it needs more.
* **New / in progress**: flagged only; it is already in the queue.

In every status the case gets ``new_reply_at`` (the queue's "New reply" marker and filter,
cleared when staff reply or mark it read) and an audit event; for an answered or closed case
the assigned officer is emailed through the outbox (an internal notice: reference and
subject, never the requester's words), when their account has a notification address.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox_agent.acknowledge import RenderedEmail
from inbox_agent.outbox import queue_email
from inbox_agent.register.audit import AuditAction, record
from inbox_agent.register.models import Case, CaseStatus, OutboxKind, StoredMessage, WebUser
from inbox_agent.settings import Settings

log = logging.getLogger(__name__)
REOPENED = "reopened"
FLAGGED = "flagged"


def follow_up_effect(status: str) -> str:
    """What a follow-up does to a case in ``status`` (pure; the table in the docstring)."""
    return REOPENED if status == CaseStatus.ANSWERED else FLAGGED


def officer_address(session: Session, officer: str | None) -> str:
    """The notification address of the active account the case is assigned to, else "".

    Cases name their officer as staff typed it (the page offers display names), so the match
    is on the display name or the username, ignoring case and spacing.
    """
    wanted = " ".join((officer or "").split()).lower()
    if not wanted:
        return ""
    for user in session.scalars(select(WebUser).where(WebUser.active.is_(True))):
        names = {user.username.lower(), " ".join(user.display_name.split()).lower()}
        if user.email and wanted in names:
            return user.email
    return ""


def note_follow_up(
    session: Session, settings: Settings, case: Case, message: StoredMessage, now: dt.datetime
) -> str:
    """Reopen or flag ``case`` for the message that just joined it; notify its officer."""
    before = case.status
    effect = follow_up_effect(before)
    if effect == REOPENED:
        case.status = CaseStatus.IN_PROGRESS
    case.new_reply_at = now
    notified = ""
    if before in (CaseStatus.ANSWERED, CaseStatus.CLOSED):
        notified = _notify_officer(session, settings, case, now)
    record(
        session,
        AuditAction.FOLLOW_UP_RECEIVED,
        at=now,
        case=case,
        message=message,
        old_status=before,
        status=case.status,
        effect=effect,
        officer_notified=bool(notified),
    )
    log.info(
        "event=follow_up case=%s effect=%s notified=%s", case.reference, effect, bool(notified)
    )
    return effect


def _notify_officer(session: Session, settings: Settings, case: Case, now: dt.datetime) -> str:
    address = officer_address(session, case.officer)
    if not address:
        return ""
    state = "was answered" if case.status != CaseStatus.CLOSED else "is closed"
    text = (
        f"The requester has written again on case {case.reference}, which {state}.\n\n"
        f"Subject: {case.subject or '(no subject)'}\n"
        f"Status now: {case.status.replace('_', ' ')}\n\n"
        "Open the case in the election inbox to read it. This notice does not include the "
        "message itself.\n"
    )
    queue_email(
        session,
        case,
        kind=OutboxKind.FOLLOW_UP_NOTICE,
        recipient=address,
        rendered=RenderedEmail(
            subject=f"[{case.reference}] New reply from the requester", text=text, html=None
        ),
        from_address=settings.from_address,
        office_name=settings.office.name,
        now=now,
        give_up_after=dt.timedelta(hours=settings.actions.send_retry_hours),
    )
    return address
