"""The register's tables: the protocol's single electronic register, and the ledger behind it.

Three layers, each with one job:

* ``StoredMessage`` holds the raw bytes exactly as fetched, unique by content hash, so a message
  is saved before the mailbox is touched and can always be re-parsed.
* ``LedgerEntry`` records where a message was seen: (account, folder, UIDVALIDITY, item key).
  A UIDVALIDITY reset produces new ledger rows pointing at the same ``StoredMessage``.
* ``Case`` is the register row staff work from, with the columns of the protocol's annex C.

Every automated step leaves an ``AuditEvent``; nothing is ever deleted by the daemon (only
``inbox-agent retention --apply`` empties raw bytes and anonymises rows, each audited).
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from inbox_agent.classify.requester import RequesterType


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the register; pass an aware UTC time")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _strip_nul(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL; hostile mail puts NUL in subjects and names."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_strip_nul(v) for v in value]
    if isinstance(value, dict):
        return {k: _strip_nul(v) for k, v in value.items()}
    return value


SEARCH_TEXT_MAX = 200_000  # characters of a message's words kept for the queue's search


class CleanText(TypeDecorator[str]):
    """Text that any backend accepts, whatever a sender put in it."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else str(_strip_nul(value))


class CleanJSON(TypeDecorator[Any]):
    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return _strip_nul(value)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UtcDateTime}


class Disposition(StrEnum):
    """What became of a stored message."""

    PENDING = "pending"  # stored, not yet parsed/classified
    CASE = "case"  # opened a case or joined one
    MACHINE = "machine"  # machine mail: logged, never acknowledged
    QUARANTINED = "quarantined"  # could not be handled; staff must look
    DUPLICATE = "duplicate"  # same message seen before under another key


class ContactMethod(StrEnum):
    """How a contact reached the office: the register's "method of contact" column."""

    EMAIL = "email"
    TELEPHONE = "telephone"
    LETTER = "letter"
    IN_PERSON = "in_person"
    MEETING = "meeting"  # a meeting log (Norfolk 19)
    SOCIAL_MEDIA = "social_media"


RECORDED_METHODS = tuple(m.value for m in ContactMethod if m is not ContactMethod.EMAIL)
"""What staff record by hand (``inbox_agent/casework/contacts.py``); email arrives by itself."""


class CaseStatus(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    ANSWERED = "answered"
    CLOSED = "closed"


OPEN_STATUSES = (CaseStatus.NEW.value, CaseStatus.IN_PROGRESS.value)
"""A case still to be worked: the queue, the overdue count and the stopped clocks use these."""


class Case(Base):
    """One request, in the shape of the protocol's register (annex C)."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(CleanText, unique=True)
    status: Mapped[str] = mapped_column(CleanText, default=CaseStatus.NEW)
    category: Mapped[str] = mapped_column(CleanText, index=True)
    confidence: Mapped[float] = mapped_column(Float)
    classifier_version: Mapped[str] = mapped_column(CleanText)
    classification_reasons: Mapped[list[str]] = mapped_column(CleanJSON, default=list)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    # annex C columns
    date_of_contact: Mapped[dt.datetime]
    requester_name: Mapped[str] = mapped_column(CleanText, default="")
    requester_email: Mapped[str] = mapped_column(CleanText, index=True)
    requester_type: Mapped[str] = mapped_column(CleanText, default=RequesterType.PUBLIC)
    forwarded_by: Mapped[str | None] = mapped_column(CleanText)
    officer: Mapped[str | None] = mapped_column(CleanText)
    method_of_contact: Mapped[str] = mapped_column(CleanText, default="email")
    subject: Mapped[str] = mapped_column(CleanText, default="")
    information_sought: Mapped[str] = mapped_column(CleanText, default="")
    information_provided: Mapped[str | None] = mapped_column(CleanText)
    date_added_to_register: Mapped[dt.datetime]
    date_added_to_website: Mapped[dt.date | None] = mapped_column(Date)
    decisions_and_risk_mitigations: Mapped[str | None] = mapped_column(CleanText)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    updated_at: Mapped[dt.datetime]
    # the roster entry the requester was matched to (inbox_agent/transparency/roster.py), if any
    person_id: Mapped[int | None] = mapped_column(ForeignKey("roster_people.id"), index=True)
    # statutory casework (inbox_agent/casework/statutory.py): outcome, exemptions, review link
    outcome: Mapped[str | None] = mapped_column(CleanText)
    exemptions: Mapped[list[str]] = mapped_column(CleanJSON, default=list)
    responded_on: Mapped[dt.date | None] = mapped_column(Date)
    clock_started_on: Mapped[dt.date | None] = mapped_column(Date)
    # the requester's language preference when the case opened (inbox_agent/language.py):
    # "cy" Welsh, "en" English, "" not known (a Welsh office then answers bilingually)
    language: Mapped[str] = mapped_column(CleanText, default="", server_default="")
    review_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    # the requester wrote again after the case was answered or closed, and nobody has read it
    new_reply_at: Mapped[dt.datetime | None] = mapped_column(index=True)

    messages: Mapped[list[StoredMessage]] = relationship(
        back_populates="case", order_by="StoredMessage.id"
    )
    events: Mapped[list[AuditEvent]] = relationship(back_populates="case", order_by="AuditEvent.id")
    # what the office sent about the case: acknowledgement, forwards, replies (read-only here)
    outbox: Mapped[list[OutboxMessage]] = relationship(order_by="OutboxMessage.id", viewonly=True)
    clock_events: Mapped[list[ClockEventRow]] = relationship(order_by="ClockEventRow.id")


class StoredMessage(Base):
    """Raw bytes as fetched: the thing that must never be lost."""

    __tablename__ = "stored_messages"
    __table_args__ = (Index("ix_stored_messages_message_id_body", "message_id", "body_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(CleanText, unique=True)
    body_sha256: Mapped[str] = mapped_column(CleanText)
    message_id: Mapped[str] = mapped_column(CleanText, default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[dt.datetime]
    disposition: Mapped[str] = mapped_column(CleanText, default=Disposition.PENDING, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(CleanText)
    machine_reasons: Mapped[list[str] | None] = mapped_column(CleanJSON)
    sender: Mapped[str | None] = mapped_column(CleanText)
    subject: Mapped[str | None] = mapped_column(CleanText)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("stored_messages.id"))
    # set by ``inbox-agent retention --apply`` when ``raw`` is emptied; hashes stay for dedup
    raw_deleted_at: Mapped[dt.datetime | None]
    # the plain text, lower-cased, for the queue's search (emptied with ``raw`` by retention);
    # at most SEARCH_TEXT_MAX characters (the raw bytes keep everything)
    search_text: Mapped[str | None] = mapped_column(CleanText)

    case: Mapped[Case | None] = relationship(back_populates="messages")


class LedgerEntry(Base):
    """Where and when a message was seen in a mailbox, and whether the mailbox was updated."""

    __tablename__ = "ledger"
    __table_args__ = (UniqueConstraint("account", "folder", "uidvalidity", "item_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(CleanText)
    folder: Mapped[str] = mapped_column(CleanText)
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    item_key: Mapped[str] = mapped_column(CleanText)
    uid: Mapped[int | None] = mapped_column(BigInteger)
    stored_message_id: Mapped[int] = mapped_column(ForeignKey("stored_messages.id"), index=True)
    seen_at: Mapped[dt.datetime]
    mailbox_updated_at: Mapped[dt.datetime | None]

    stored_message: Mapped[StoredMessage] = relationship()


class MailboxState(Base):
    """Health of each source, for status and the dashboard."""

    __tablename__ = "mailbox_state"
    __table_args__ = (UniqueConstraint("account", "folder"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account: Mapped[str] = mapped_column(CleanText)
    folder: Mapped[str] = mapped_column(CleanText)
    uidvalidity: Mapped[int | None] = mapped_column(BigInteger)
    first_success_at: Mapped[dt.datetime | None]
    last_poll_at: Mapped[dt.datetime | None]
    last_success_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(CleanText)


class AlertState(Base):
    """One row per alert (``poll_failed``): the current failure streak and whether we told anyone.

    Kept in the register, not in memory, so a restart in the middle of an outage neither
    forgets that the SPOC was told nor tells them twice.
    """

    __tablename__ = "alert_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(CleanText, unique=True)
    failing_since: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(CleanText)
    raised_at: Mapped[dt.datetime | None]
    recovered_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime]


class ReferenceCounter(Base):
    """Per prefix and year, the last number issued, so references are short and gap-free."""

    __tablename__ = "reference_counters"

    prefix: Mapped[str] = mapped_column(CleanText, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class AuditEvent(Base):
    """One automated or human action; the trail the protocol's accountability rests on."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(CleanText, default="inbox-agent")
    action: Mapped[str] = mapped_column(CleanText)
    detail: Mapped[dict[str, Any]] = mapped_column(CleanJSON, default=dict)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    stored_message_id: Mapped[int | None] = mapped_column(ForeignKey("stored_messages.id"))

    case: Mapped[Case | None] = relationship(back_populates="events")


class OutboxKind(StrEnum):
    """What an outbox email is (``outbox.kind``): the one home of these names, which the
    sender, the retention policy, the health figures and the web UI's labels all read."""

    ACKNOWLEDGEMENT = "acknowledgement"  # to the requester, with the case
    PARO_FORWARD = "paro_forward"  # the original, intact, to the PARO (``forward_kind("paro")``)
    REPLY = "reply"  # staff's answer to the requester
    FOLLOW_UP_NOTICE = "follow_up_notice"  # to the case's officer: the requester wrote again
    REMINDER = "reminder"  # to the case's officer: a statutory due date is near
    ALERT = "alert"  # to alerts.email: polling fails, or recovered
    REPORT = "report"  # the weekly summary to the Chief Executive


FORWARD_SUFFIX = "_forward"


def forward_kind(route: str) -> str:
    """The outbox kind of a forward along a protocol route: ``paro_forward``,
    ``chief_executive_forward`` ... (the recipients are the office's, so not an enum)."""
    return f"{route}{FORWARD_SUFFIX}"


class OutboxStatus(StrEnum):
    QUEUED = "queued"  # waiting for its next attempt
    SENT = "sent"  # the SMTP server accepted it (or it was written to the local Maildir)
    FAILED = "failed"  # permanently refused, or the retry deadline passed: staff must act
    SUPPRESSED = "suppressed"  # decided against sending (kept so the audit trail is whole)


class OutboxMessage(Base):
    """An email the office owes someone, written in the same transaction as the decision.

    The Message-ID is derived from the row id, so a resend after a crash between the SMTP
    server's reply and our commit carries the same Message-ID and is recognisable downstream.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(CleanText)  # an OutboxKind, or a forward_kind(route)
    recipient: Mapped[str] = mapped_column(CleanText, index=True)
    message_id: Mapped[str] = mapped_column(CleanText, default="", index=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    status: Mapped[str] = mapped_column(CleanText, default=OutboxStatus.QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime]
    next_attempt_at: Mapped[dt.datetime]
    give_up_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(CleanText)


class WebRole(StrEnum):
    """What a member of staff may do in the web UI."""

    TRIAGE = "triage"  # work the queue: read cases, act on them, reply
    ADMIN = "admin"  # also manage accounts and download the whole register


class WebUser(Base):
    """A staff account for the web UI; the password is an argon2 hash, never the password.

    ``session_generation`` is part of every session cookie, so bumping it (password reset,
    account disabled) ends every session the account had, although the cookies are stateless.
    """

    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(CleanText, unique=True)
    display_name: Mapped[str] = mapped_column(CleanText, default="")
    role: Mapped[str] = mapped_column(CleanText, default=WebRole.TRIAGE)
    password_hash: Mapped[str] = mapped_column(CleanText)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    last_login_at: Mapped[dt.datetime | None]
    # where a requester's follow-up to this officer's case is notified ("" = nobody)
    email: Mapped[str] = mapped_column(CleanText, default="")


class WebSession(Base):
    """A signed-in browser: the cookie carries a random id, the register its SHA-256.

    Logout, the idle timeout and the absolute lifetime all end a session here, on the server,
    so a copied cookie stops working at once. ``resume`` holds a form that was typed while
    the previous session expired, until the case page puts it back (then it is emptied).
    """

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(CleanText, unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("web_users.id"), index=True)
    client: Mapped[str] = mapped_column(CleanText, default="")
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]
    ended_because: Mapped[str | None] = mapped_column(CleanText)
    resume: Mapped[dict[str, Any] | None] = mapped_column(CleanJSON)


class LoginThrottle(Base):
    """Sign-in attempts per key (account and source, source, device) in a fixed window.

    An attempt is counted by one conditional UPDATE before its password is hashed, so
    concurrent guesses cannot all slip under the limit (the row lock serialises them).
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(CleanText, primary_key=True)
    username: Mapped[str] = mapped_column(CleanText, default="")
    client: Mapped[str] = mapped_column(CleanText, default="")
    window_start: Mapped[dt.datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[dt.datetime]


class FormToken(Base):
    """A reply form that was sent: its one-time token, so a double submit sends one email."""

    __tablename__ = "web_form_tokens"

    token: Mapped[str] = mapped_column(CleanText, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    actor: Mapped[str] = mapped_column(CleanText)
    used_at: Mapped[dt.datetime]
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))


class LabelCorrection(Base):
    """A member of staff put a case in another category: a labelled example for the model.

    ``model train --include-corrections`` re-parses the stored raw message and trains on it
    with ``new_category`` (the latest correction of a message wins). Rows are never edited.
    """

    __tablename__ = "label_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    stored_message_id: Mapped[int] = mapped_column(ForeignKey("stored_messages.id"), index=True)
    old_category: Mapped[str] = mapped_column(CleanText)
    new_category: Mapped[str] = mapped_column(CleanText)
    user: Mapped[str] = mapped_column(CleanText)
    at: Mapped[dt.datetime]


class RosterRole(StrEnum):
    """Who a roster entry is, in the protocols' words ("candidate" includes prospective ones)."""

    CANDIDATE = "candidate"
    PROSPECTIVE_CANDIDATE = "prospective_candidate"
    AGENT = "agent"
    REPRESENTATIVE = "representative"


class RosterPerson(Base):
    """A candidate, prospective candidate, agent or representative (``transparency/roster.py``).

    Imported from the PARO's statement of persons nominated (``source``, ``source_date``) or
    added by staff. The serving PCC and Deputy PCC are flagged so that equal treatment can be
    checked, never so that they are treated differently.
    """

    __tablename__ = "roster_people"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(CleanText)
    role: Mapped[str] = mapped_column(CleanText, default=RosterRole.CANDIDATE)
    party: Mapped[str] = mapped_column(CleanText, default="")  # "" when independent
    independent: Mapped[bool] = mapped_column(Boolean, default=False)
    incumbent: Mapped[bool] = mapped_column(Boolean, default=False)
    deputy: Mapped[bool] = mapped_column(Boolean, default=False)
    acts_for_id: Mapped[int | None] = mapped_column(ForeignKey("roster_people.id"))
    postal_address: Mapped[str] = mapped_column(CleanText, default="")
    phone: Mapped[str] = mapped_column(CleanText, default="")
    source: Mapped[str] = mapped_column(CleanText, default="")
    source_date: Mapped[dt.date | None] = mapped_column(Date)
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]

    addresses: Mapped[list[RosterAddress]] = relationship(
        back_populates="person", order_by="RosterAddress.id", cascade="all, delete-orphan"
    )


class RosterAddress(Base):
    """An email address of a roster entry; the first thing a sender is matched on."""

    __tablename__ = "roster_addresses"
    __table_args__ = (UniqueConstraint("person_id", "email"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("roster_people.id"), index=True)
    email: Mapped[str] = mapped_column(CleanText, index=True)

    person: Mapped[RosterPerson] = relationship(back_populates="addresses")


class Publication(Base):
    """A case staff approved for the disclosure log (or decided to withhold), with its texts.

    ``question`` and ``answer`` are the anonymised texts as staff approved them; the original
    stays in the case. ``published_on`` is set by ``inbox-agent publish`` the first time the
    entry goes on the page (and the case's ``date_added_to_website`` with it).
    """

    __tablename__ = "publications"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    decision: Mapped[str] = mapped_column(CleanText, default="publish")  # publish | withhold
    question: Mapped[str] = mapped_column(CleanText, default="")
    answer: Mapped[str] = mapped_column(CleanText, default="")
    reason: Mapped[str | None] = mapped_column(CleanText)
    approved_by: Mapped[str] = mapped_column(CleanText)
    approved_at: Mapped[dt.datetime]
    published_on: Mapped[dt.date | None] = mapped_column(Date)
    updated_at: Mapped[dt.datetime]

    case: Mapped[Case] = relationship()


class ClockEventRow(Base):
    """A step on a case's statutory clock (``casework/statutory_clock.py``), as recorded.

    The case's ``due_date`` is the replay of these rows over the date of receipt; the rows
    themselves are never edited, so the reason for every move of a deadline stays on record.
    """

    __tablename__ = "clock_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(CleanText)
    on: Mapped[dt.date] = mapped_column(Date)
    until: Mapped[dt.date | None] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(CleanText, default="")
    actor: Mapped[str] = mapped_column(CleanText)
    at: Mapped[dt.datetime]
    due_after: Mapped[dt.date | None] = mapped_column(Date)


class ReminderSent(Base):
    """One reminder queued (``inbox_agent/ops/reminders.py``); the unique key makes each one once.

    The key names the case, the kind and the date it concerns, so a restart or a second node
    trying the same reminder hits the constraint instead of emailing the officer again.
    """

    __tablename__ = "reminders_sent"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(CleanText, unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(CleanText)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    at: Mapped[dt.datetime]


class ReplyAttachment(Base):
    """A file staff attached to their next reply, with what its inspection found.

    ``inbox_agent/casework/attachment_checks.py`` judges it when it is uploaded: ``verdict`` ok,
    needs_approval (a second member of staff must approve) or blocked. ``outbox_id`` is set
    when a reply carries it; ``removed_at`` when staff take it off. Rows are kept either way,
    so the audit trail can say what was sent and what was stopped.
    """

    __tablename__ = "reply_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    filename: Mapped[str] = mapped_column(CleanText)
    content_type: Mapped[str] = mapped_column(CleanText)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(CleanText)
    verdict: Mapped[str] = mapped_column(CleanText)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(CleanJSON, default=list)
    uploaded_by: Mapped[str] = mapped_column(CleanText)
    uploaded_at: Mapped[dt.datetime]
    approved_by: Mapped[str | None] = mapped_column(CleanText)
    approved_at: Mapped[dt.datetime | None]
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    removed_at: Mapped[dt.datetime | None]
