"""What staff do to a case, each in the caller's transaction, each an audit event with the user.

These functions take facts and the signed-in user and change the register; they never read
the clock (``now`` is passed) and never send anything: a reply is an outbox row, drained by
the daemon's sender like every other email, so a crash cannot lose it or send it twice.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inbox_agent.acknowledge import RenderedEmail, acknowledgement_subject
from inbox_agent.casework.statutory import clock_state
from inbox_agent.classify import Category
from inbox_agent.classify.training.corrections import record_correction
from inbox_agent.deadlines import UkCalendar, received_local_date
from inbox_agent.decide import due_date_for
from inbox_agent.outbox import OutgoingFile, queue_email
from inbox_agent.parse import parse_message
from inbox_agent.register import audit
from inbox_agent.register.audit import AuditAction
from inbox_agent.register.models import (
    FORWARD_SUFFIX,
    Case,
    CaseStatus,
    FormToken,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    StoredMessage,
)
from inbox_agent.settings import Settings

RECLASSIFIED = AuditAction.RECLASSIFICATION_RECORDED
REPLY_MAX = 100_000
NOTE_MAX = 4000
TEXT_MAX = 20_000
OFFICER_MAX = 100
INFO_SEPARATOR = "\n\n"


class ActionError(ValueError):
    """The form asked for something that cannot be done; the message is shown to staff."""


class AlreadySent(ActionError):
    """This reply form was sent before (a double click, a resubmitted page): one email only."""


def within(text: str, limit: int, what: str) -> str:
    """``text`` if it fits; never cut short in silence: staff see the limit and their count."""
    if len(text) > limit:
        raise ActionError(
            f"The {what} is {len(text):,} characters long; at most {limit:,} are allowed. "
            "Nothing was saved."
        )
    return text


def _same_words(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def record(
    session: Session,
    now: dt.datetime,
    actor: str,
    action: AuditAction,
    case: Case,
    *,
    message: StoredMessage | None = None,
    **detail: Any,
) -> None:
    """A member of staff's action on a case: audited, and the case marked as touched now."""
    audit.record(session, action, at=now, actor=actor, case=case, message=message, **detail)
    case.updated_at = now


def _start_work(case: Case) -> None:
    if case.status == CaseStatus.NEW:
        case.status = CaseStatus.IN_PROGRESS


def first_message(case: Case) -> StoredMessage | None:
    return case.messages[0] if case.messages else None


def _sent_rows(session: Session, case: Case, kind: str) -> list[OutboxMessage]:
    return list(
        session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.case_id == case.id,
                OutboxMessage.kind == kind,
                OutboxMessage.status.in_((OutboxStatus.QUEUED, OutboxStatus.SENT)),
            )
        )
    )


def follow_ups(session: Session, case: Case, old: str, new: str) -> list[str]:
    """What went out on the old label that someone must now put right by hand."""
    notes = []
    if _sent_rows(session, case, OutboxKind.ACKNOWLEDGEMENT):
        notes.append(
            f"An acknowledgement worded for '{old}' went to the requester: check whether they "
            "need a corrected one."
        )
    if old == Category.AUTOMATED.value and not notes:
        notes.append(
            "No acknowledgement went out: the words read as machine mail. Reply to the "
            "requester if they should have one."
        )
    forwarded = bool(_sent_rows(session, case, OutboxKind.PARO_FORWARD))
    electoral = Category.ELECTORAL_PROCESS.value
    if forwarded and new != electoral:
        notes.append("This was forwarded to the PARO: tell the PARO it is not theirs.")
    if new == electoral and not forwarded:
        notes.append("This was not forwarded to the PARO: forward it by hand.")
    routed = session.scalars(
        select(OutboxMessage.recipient).where(
            OutboxMessage.case_id == case.id,
            OutboxMessage.kind.like(f"%{FORWARD_SUFFIX}"),
            OutboxMessage.kind != OutboxKind.PARO_FORWARD,
            OutboxMessage.status.in_((OutboxStatus.QUEUED, OutboxStatus.SENT)),
        )
    )
    for recipient in dict.fromkeys(routed):
        notes.append(
            f"This was passed to {recipient} under the protocol's rule for '{old}': tell them "
            "if it is no longer theirs."
        )
    return notes


def reclassify(
    session: Session,
    settings: Settings,
    calendar: UkCalendar,
    case: Case,
    *,
    category: str,
    note: str,
    actor: str,
    now: dt.datetime,
) -> list[str]:
    """Put the case in a category: a training label, a new due date, follow-ups flagged.

    The label itself is ``classify.corrections.record_correction`` (a ``LabelCorrection`` row
    and a ``category_corrected`` event), the same path as ``inbox-agent model correct``;
    confirming the category the classifier chose is recorded the same way, as a label.
    """
    try:
        new = Category(category)
    except ValueError:
        raise ActionError("Choose a category from the list.") from None
    if new is Category.AUTOMATED:
        raise ActionError("A case cannot be reclassified as machine mail.")
    message = first_message(case)
    if message is None:
        raise ActionError("This case has no stored message to classify.")
    old = case.category
    notes = follow_ups(session, case, old, new.value) if new.value != old else []
    received_on = received_local_date(message.received_at, settings.office.timezone)
    old_due = case.due_date
    record_correction(session, case.reference, new.value, actor, now)
    case.due_date = due_date_for(new, received_on, calendar, settings.cases.target_working_days)
    clock = clock_state(case, calendar, settings.office.timezone)  # steps already recorded
    if clock is not None:
        case.due_date = clock.due
    case.needs_review = bool(notes)
    record(
        session,
        now,
        actor,
        RECLASSIFIED,
        case,
        message=message,
        old_category=old,
        new_category=new.value,
        note=within(note.strip(), NOTE_MAX, "reason"),
        old_due_date=old_due.isoformat() if old_due else None,
        due_date=case.due_date.isoformat() if case.due_date else None,
        follow_up=notes,
    )
    return notes


def assign_officer(
    session: Session, case: Case, officer: str, *, actor: str, now: dt.datetime
) -> None:
    name = within(" ".join(officer.split()), OFFICER_MAX, "officer's name") or None
    old = case.officer
    case.officer = name
    _start_work(case)
    record(session, now, actor, AuditAction.OFFICER_ASSIGNED, case, old_officer=old, officer=name)


def record_decisions(
    session: Session, case: Case, text: str, *, actor: str, now: dt.datetime
) -> None:
    """The annex C column, replaced; the audit trail keeps every earlier version."""
    new = within(text.replace("\r\n", "\n").strip(), TEXT_MAX, "decisions text") or None
    old = case.decisions_and_risk_mitigations
    case.decisions_and_risk_mitigations = new
    _start_work(case)
    record(session, now, actor, AuditAction.DECISIONS_RECORDED, case, old=old, new=new)


def requester_message(case: Case) -> StoredMessage | None:
    """The requester's latest message in the case (a staff forward is not one)."""
    wanted = case.requester_email.lower()
    mine = [m for m in case.messages if (m.sender or "").lower() == wanted]
    return mine[-1] if mine else None


def check_reply(body: str, draft: str) -> str:
    """The reply as it will be sent, or why it cannot be: empty, too long, the untouched draft."""
    text = body.replace("\r\n", "\n").strip()
    if not text:
        raise ActionError("Write the reply before sending it.")
    if len(text) > REPLY_MAX:
        raise ActionError(
            f"The reply is {len(text):,} characters long; at most {REPLY_MAX:,} are allowed."
        )
    if _same_words(text, draft):
        raise ActionError(
            "The reply is still the unchanged draft: write the answer before sending it."
        )
    return text


def reply_subject(settings: Settings, case: Case) -> str:
    return acknowledgement_subject(
        case.reference, case.subject, settings.policy.acknowledgement_subject_prefix
    )


def _claim_form(
    session: Session, case: Case, token: str, *, actor: str, now: dt.datetime
) -> FormToken:
    """Record this form as sent, first of all: a second submit of it fails right here.

    The token is the table's primary key, so two submits racing each other conflict in the
    database (SQLite serialises them, PostgreSQL's unique index makes the second wait and
    fail), and only the first one queues an email.
    """
    if len(token) < 20 or len(token) > 100:
        raise ActionError("This reply form is not valid any more: open the case and try again.")
    claim = FormToken(token=token, case_id=case.id, actor=actor, used_at=now)
    try:
        with session.begin_nested():
            session.add(claim)
    except IntegrityError:
        raise AlreadySent("This reply was already sent; it was not sent again.") from None
    return claim


def send_reply(
    session: Session,
    settings: Settings,
    case: Case,
    body: str,
    *,
    actor: str,
    now: dt.datetime,
    draft: str = "",
    form_token: str | None = None,
    files: Sequence[OutgoingFile] = (),
) -> OutboxMessage:
    """Queue the office's answer, threaded on the requester's message, and record it; once.

    ``draft`` is the text the form started with (refused unchanged); ``form_token`` the
    form's one-time token (a caller without a form, such as a test office, gets a fresh one);
    ``files`` were inspected and, where needed, approved first (``web/reply_attachments``).
    """
    text = check_reply(body, draft)
    if not case.requester_email:
        raise ActionError("This case has no requester address to reply to.")
    token = form_token if form_token is not None else secrets.token_urlsafe(24)
    claim = _claim_form(session, case, token, actor=actor, now=now)
    parent = requester_message(case)
    in_reply_to = ""
    references: tuple[str, ...] = ()
    if parent is not None and parent.message_id:
        in_reply_to = parent.message_id
        references = parse_message(parent.raw).references
    row = queue_email(
        session,
        case,
        kind=OutboxKind.REPLY,
        recipient=case.requester_email,
        rendered=RenderedEmail(subject=reply_subject(settings, case), text=text + "\n", html=None),
        from_address=settings.from_address,
        office_name=settings.office.name,
        now=now,
        give_up_after=dt.timedelta(hours=settings.actions.send_retry_hours),
        in_reply_to=in_reply_to,
        references=references,
        files=files,
    )
    claim.outbox_id = row.id
    stamp = f"[{now.date().isoformat()}, reply by {actor}]\n{text}"
    old = case.information_provided
    case.information_provided = f"{old}{INFO_SEPARATOR}{stamp}" if old else stamp
    case.status = CaseStatus.ANSWERED
    case.new_reply_at = None
    record(
        session,
        now,
        actor,
        AuditAction.REPLY_QUEUED,
        case,
        outbox=row.id,
        message_id=row.message_id,
        in_reply_to=in_reply_to or None,
        information_provided=True,
    )
    return row


def mark_follow_up_read(session: Session, case: Case, *, actor: str, now: dt.datetime) -> None:
    """The requester's new message was read; the queue stops marking the case."""
    if case.new_reply_at is None:
        return
    case.new_reply_at = None
    record(session, now, actor, AuditAction.FOLLOW_UP_READ, case)


def mark_on_website(
    session: Session, case: Case, day: str, *, actor: str, now: dt.datetime
) -> None:
    try:
        added = dt.date.fromisoformat(day)
    except ValueError:
        raise ActionError("Give the date as a date, for example 2027-04-12.") from None
    if added > now.date() + dt.timedelta(days=1):
        raise ActionError("The date added to the website cannot be in the future.")
    old = case.date_added_to_website
    case.date_added_to_website = added
    record(
        session,
        now,
        actor,
        AuditAction.ADDED_TO_WEBSITE,
        case,
        date=added.isoformat(),
        old_date=old.isoformat() if old else None,
    )


def set_status(
    session: Session, case: Case, status: str, note: str, *, actor: str, now: dt.datetime
) -> None:
    """Close, or reopen (back to in progress)."""
    if status not in (CaseStatus.CLOSED, CaseStatus.IN_PROGRESS):
        raise ActionError("A case can only be closed or reopened.")
    old = case.status
    if old == status:
        return
    case.status = status
    closed = status == CaseStatus.CLOSED
    action = AuditAction.CASE_CLOSED if closed else AuditAction.CASE_REOPENED
    text = within(note.strip(), NOTE_MAX, "note")
    record(session, now, actor, action, case, old_status=old, note=text)


def mark_reviewed(session: Session, case: Case, *, actor: str, now: dt.datetime) -> None:
    case.needs_review = False
    record(session, now, actor, AuditAction.REVIEW_DONE, case)


def open_follow_ups(case: Case) -> list[str]:
    """The follow-ups of the latest reclassification, while the case still needs review."""
    if not case.needs_review:
        return []
    for event in reversed(case.events):
        if event.action == AuditAction.REVIEW_DONE:
            return []
        if event.action == RECLASSIFIED:
            notes = event.detail.get("follow_up") or []
            return [str(n) for n in notes]
    return []
