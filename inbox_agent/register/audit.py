"""The audit trail: every action taken on the register, by the daemon or by staff, by name.

The protocols rest accountability on the register: who was told what, who decided, who saw a
requester's data. So every event has one name, a member of ``AuditAction`` with a docstring of
what it records, and one function writes it: ``record`` (an ORM row, in the caller's
transaction) or, where a stage keeps the ORM out of a hot window, ``insert_event`` (the same
row in a Core statement on the caller's connection). ``tests/unit/test_audit.py`` checks
that no other module constructs an ``AuditEvent`` or inserts into its table, and that the
names stored before this module existed still read (``audit_events.action`` holds the value).

A new kind of event is a new member here; renaming a value would orphan old registers' rows.
"""

from __future__ import annotations

import datetime as dt
import getpass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from inbox_agent.register.models import AuditEvent

if TYPE_CHECKING:
    from sqlalchemy import Connection
    from sqlalchemy.orm import Session

    from inbox_agent.register.models import Case, StoredMessage

DAEMON = "inbox-agent"
"""The actor of everything the daemon does by itself (the column's default too)."""


class AuditAction(StrEnum):
    """The name of each kind of event in ``audit_events.action``; the value is what is stored."""

    # ---- intake and the pipeline (actor: the daemon)
    MESSAGE_STORED = "message_stored"
    """A message's raw bytes and ledger row were committed: from here it cannot be lost."""
    MACHINE_MAIL_LOGGED = "machine_mail_logged"
    """A bounce, auto-reply or list message was logged, with the reasons; never answered."""
    MESSAGE_QUARANTINED = "message_quarantined"
    """A message could not be handled (unreadable, or out of attempts); the reason is kept."""
    MESSAGE_RELEASED = "message_released"
    """Staff put a quarantined message back for the next pass (attempts reset)."""
    CASE_OPENED = "case_opened"
    """A new case, with its category, due date and the decision's reasons."""
    MESSAGE_JOINED_CASE = "message_joined_case"
    """A reply or follow-up was filed on the case it belongs to."""
    FOLLOW_UP_RECEIVED = "follow_up_received"
    """The requester wrote again on an open case; its officer is notified."""
    FORCE_DISCLOSURE_FILED = "force_disclosure_filed"
    """The force's FOI disclosure was filed against the original request."""
    TREATED_AS_PUBLIC = "treated_as_public"
    """A self-described candidate or agent not on the roster is recorded as a member of the
    public, as the protocol requires until they are declared."""
    ROSTER_MATCHED = "roster_matched"
    """The requester was matched to a person on the roster (role and how it matched)."""
    ACKNOWLEDGEMENT_QUEUED = "acknowledgement_queued"
    """The acknowledgement was queued in the outbox with the case."""
    ACKNOWLEDGEMENT_WITHHELD = "acknowledgement_withheld"
    """No acknowledgement was sent, and why (limits, switches, review)."""
    PARO_FORWARD_QUEUED = "paro_forward_queued"
    """The message was queued, intact, to the Police Area Returning Officer."""
    FORWARD_QUEUED = "forward_queued"
    """The message was queued, intact, to a recipient the protocol routes it to."""
    EMAIL_SENT = "email_sent"
    """An outbox email was accepted by the SMTP server (or written to the local Maildir)."""
    EMAIL_FAILED = "email_failed"
    """An outbox email was refused for good or ran out of retries: staff must act."""

    # ---- operations (actor: the daemon)
    ALERT_RAISED = "alert_raised"
    """Polling has failed for longer than the alert threshold."""
    ALERT_CLEARED = "alert_cleared"
    """Polling recovered after an alert."""
    ALERT_QUEUED = "alert_queued"
    """An alert or recovery email was queued to ``alerts.email``."""
    REMINDER_QUEUED = "reminder_queued"
    """A reminder of a statutory due date was queued to the case's officer."""
    WEEKLY_REPORT_QUEUED = "weekly_report_queued"
    """The weekly summary to the Chief Executive was queued (one per week)."""
    RAW_MAIL_DELETED = "raw_mail_deleted"
    """Retention deleted a stored message's raw bytes (the reason and size are kept)."""
    SENT_COPY_DELETED = "sent_copy_deleted"
    """Retention deleted the copy of a sent email."""
    REGISTER_ROW_ANONYMISED = "register_row_anonymised"
    """Retention anonymised a case's personal data in the register."""

    # ---- casework (actor: a member of staff)
    CONTACT_RECORDED = "contact_recorded"
    """A telephone, letter, meeting ... contact was filed as a case."""
    CLOCK_EVENT_RECORDED = "clock_event_recorded"
    """A step on the statutory clock (clarification, fee, extension ...), old and new due."""
    OUTCOME_RECORDED = "outcome_recorded"
    """The outcome of an FOI or subject access request, with its exemptions."""
    REVIEW_OPENED = "review_opened"
    """An internal review was opened as a case of its own (on the review)."""
    REVIEW_REQUESTED = "review_requested"
    """An internal review of this case was asked for (on the original)."""
    RECLASSIFICATION_RECORDED = "reclassification_recorded"
    """Staff put the case in another category from the case page; due date follows."""
    CATEGORY_CORRECTED = "category_corrected"
    """A staff correction of the category, kept as a training label."""
    OFFICER_ASSIGNED = "officer_assigned"
    """The case's officer was set or changed."""
    DECISIONS_RECORDED = "decisions_recorded"
    """The annex C "decisions and risk mitigations" column was replaced (old text kept)."""
    REPLY_QUEUED = "reply_queued"
    """Staff's answer to the requester was queued."""
    FOLLOW_UP_READ = "follow_up_read"
    """The requester's new message was read by staff."""
    CASE_CLOSED = "case_closed"
    """The case was closed, with staff's note."""
    CASE_REOPENED = "case_reopened"
    """The case was reopened, with staff's note."""
    REVIEW_DONE = "review_done"
    """Staff checked a case the classifier had marked for review."""
    ATTACHMENT_ADDED = "attachment_added"
    """A file was added to a reply, with the attachment checks' verdict."""
    ATTACHMENT_APPROVED = "attachment_approved"
    """Staff approved an attachment the checks had flagged."""
    ATTACHMENT_REMOVED = "attachment_removed"
    """A file was taken off a reply."""
    ATTACHMENTS_SENT = "attachments_sent"
    """A reply went with these files."""

    # ---- transparency (actor: a member of staff, or the daemon when matching)
    ROSTER_UPDATED = "roster_updated"
    """Candidates, agents or representatives were added or updated (the source is kept)."""
    PUBLICATION_APPROVED = "publication_approved"
    """An anonymised answer was approved for the disclosure log."""
    PUBLICATION_WITHHELD = "publication_withheld"
    """An answer is not to be published, and why."""
    ADDED_TO_WEBSITE = "added_to_website"
    """The date an answer went on the office's website."""
    ANSWER_REUSED = "answer_reused"
    """An earlier published answer was reused for this case ("answer once, answer all")."""

    # ---- the web UI and its accounts
    LOGIN_SUCCEEDED = "login_succeeded"
    """A member of staff signed in (the client is kept)."""
    LOGIN_FAILED = "login_failed"
    """A sign-in was refused (the username tried and the client)."""
    USER_ADDED = "user_added"
    """A staff account was created, with its role."""
    USER_ENABLED = "user_enabled"
    """A disabled account was enabled."""
    USER_DISABLED = "user_disabled"
    """An account was disabled and its sessions ended."""
    USER_PASSWORD_RESET = "user_password_reset"
    """An account's password was replaced and its sessions ended."""
    USER_EMAIL_SET = "user_email_set"
    """The address an account's follow-up notices go to was changed."""
    LOCKOUT_CLEARED = "lockout_cleared"
    """Sign-in lockouts were cleared by an administrator."""
    REGISTER_DOWNLOADED = "register_downloaded"
    """The whole register was downloaded (its personal data left the server), and in which
    format."""


def _values(
    action: AuditAction,
    *,
    at: dt.datetime,
    actor: str = DAEMON,
    case_id: int | None = None,
    stored_message_id: int | None = None,
    **detail: Any,
) -> dict[str, Any]:
    """The ``audit_events`` row. The action is checked against the registry at run time too:
    a plain string that is not a member fails here, before it is stored under a name nobody
    can look up."""
    return {
        "at": at,
        "actor": actor,
        "action": AuditAction(action).value,
        "detail": detail,
        "case_id": case_id,
        "stored_message_id": stored_message_id,
    }


def record(
    session: Session,
    action: AuditAction,
    *,
    at: dt.datetime,
    actor: str = DAEMON,
    case: Case | None = None,
    case_id: int | None = None,
    message: StoredMessage | None = None,
    stored_message_id: int | None = None,
    **detail: Any,
) -> AuditEvent:
    """Add one event to the session, in the caller's transaction: it commits with the change
    it records, or not at all. ``case``/``message`` (or their ids) link it where it belongs."""
    event = AuditEvent(
        **_values(
            action,
            at=at,
            actor=actor,
            case_id=case.id if case is not None else case_id,
            stored_message_id=message.id if message is not None else stored_message_id,
            **detail,
        )
    )
    session.add(event)
    return event


def insert_event(
    conn: Connection,
    action: AuditAction,
    *,
    at: dt.datetime,
    actor: str = DAEMON,
    case_id: int | None = None,
    stored_message_id: int | None = None,
    **detail: Any,
) -> None:
    """``record`` as one Core ``INSERT`` on the caller's connection (and so its transaction)."""
    values = _values(
        action, at=at, actor=actor, case_id=case_id, stored_message_id=stored_message_id, **detail
    )
    conn.execute(insert(AuditEvent).values(values))


def cli_actor() -> str:
    """The actor recorded for a command typed at a shell: ``cli:<login>``, else ``cli``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
