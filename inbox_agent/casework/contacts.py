"""Contacts that did not arrive by email: telephone, letter, in person, meetings, social media.

The protocols' register holds *all* contact (Bedfordshire 10b, Cambridgeshire 11b footnote 3,
Nottinghamshire 6.2 footnote 7), not just the inbox's, and Norfolk's two SPOCs each keep a log
that feeds the OPCC's central one (Norfolk 10). Staff record such a contact and it takes the
same road as a message: the note is stored as the case's message (through intake, so it is
kept like any other), parsed, decided by the same protocol and the same clocks, opened as a
case (so parity, publication and the register export see it), and acted on through the
outbox. What differs is said here:

* a telephone request gets the written confirmation Nottinghamshire 6.2 requires ("confirmed
  back to the requester in writing before a reply is issued") where the profile says so;
* a meeting log (Norfolk 19: "a log maintained of the meeting") is a record, not a request:
  nothing is acknowledged or routed;
* a social-media contact is answered on the platform by staff (Bedfordshire 11c), so the
  inbox sends nothing;
* an entry from the force SPOC's log is marked as such in the central register (Norfolk 10).
"""

from __future__ import annotations

import csv
import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr
from typing import IO, Literal

from sqlalchemy.orm import Session

from inbox_agent.act import queue_actions
from inbox_agent.cases import open_case, treat_undeclared_as_public
from inbox_agent.classify import Category, Classification
from inbox_agent.deadlines import UkCalendar, election_phase, received_local_date
from inbox_agent.decide import Facts, decide
from inbox_agent.intake import SourceKey, store_message
from inbox_agent.parse import parse_message
from inbox_agent.protocol.topics import detect_topics
from inbox_agent.register import audit
from inbox_agent.register.audit import AuditAction
from inbox_agent.register.models import (
    RECORDED_METHODS,
    Case,
    ContactMethod,
    Disposition,
    StoredMessage,
)
from inbox_agent.settings import Settings

METHODS = RECORDED_METHODS
Log = Literal["opcc", "force"]
FORCE_LOG = "force SPOC log"
TELEPHONE_CONFIRMATION = "acknowledgement/telephone_confirmation.txt.j2"
_NO_EMAIL = frozenset({ContactMethod.MEETING, ContactMethod.SOCIAL_MEDIA})
TEXT_MAX = 20000


class ContactError(ValueError):
    """A contact record staff must correct (the message says which field)."""


@dataclass(frozen=True)
class ContactRecord:
    """What staff write down about a contact."""

    method: str  # one of METHODS
    category: Category
    name: str
    text: str
    at: dt.datetime  # when the contact was made (aware)
    email: str = ""
    phone: str = ""
    subject: str = ""
    log: Log = "opcc"
    attendees: str = ""  # for a meeting log


def check_record(record: ContactRecord) -> None:
    """Refuse a record that could not be filed or answered, naming the field."""
    if record.method not in METHODS:
        raise ContactError(f"method: one of {', '.join(METHODS)}, not {record.method!r}")
    if record.category is Category.AUTOMATED:
        raise ContactError("category: a contact made by a person is never machine mail")
    if not record.text.strip():
        raise ContactError("text: say what was asked or discussed")
    if len(record.text) > TEXT_MAX:
        raise ContactError(f"text: at most {TEXT_MAX} characters")
    if record.at.tzinfo is None:
        raise ContactError("at: give a time zone")
    if record.email and ("@" not in record.email or any(c in record.email for c in " \r\n<>")):
        raise ContactError(f"email: not an email address: {record.email!r}")
    if record.log not in ("opcc", "force"):
        raise ContactError("log: 'opcc' or 'force'")


def contact_note(record: ContactRecord, settings: Settings, actor: str) -> bytes:
    """The record as a plain-text message, so the case shows and keeps it like any other."""
    note = EmailMessage(policy=SMTP)
    note["From"] = formataddr((record.name, record.email or "unknown-address@invalid"))
    note["To"] = str(settings.office.inbox_address)
    note["Subject"] = record.subject or f"{record.method.replace('_', ' ').title()} contact"
    note["Date"] = format_datetime(record.at)
    note["Message-ID"] = f"<contact.{uuid.uuid4().hex}@{settings.office.reference_prefix.lower()}>"
    note["X-Inbox-Agent-Contact"] = record.method
    note["X-Inbox-Agent-Recorded-By"] = actor
    note["X-Inbox-Agent-Log"] = FORCE_LOG if record.log == "force" else "OPCC SPOC log"
    if record.phone:
        note["X-Inbox-Agent-Telephone"] = record.phone
    text = record.text.strip()
    if record.attendees:  # a meeting log says who was there (Norfolk 19)
        text += f"\n\nPresent: {record.attendees}"
    note.set_content(text + "\n")
    return bytes(note)


def record_contact(
    session: Session,
    settings: Settings,
    calendar: UkCalendar,
    record: ContactRecord,
    *,
    actor: str,
    now: dt.datetime,
) -> Case:
    """File one contact as a case, decided and acted on as a message would be."""
    check_record(record)
    raw = contact_note(record, settings, actor)
    key = SourceKey(f"staff:{record.log}", record.method, 0, uuid.uuid4().hex)
    stored = store_message(session, key, raw, now, delivered_at=record.at)
    message = session.get(StoredMessage, stored.stored_message_id)
    assert message is not None
    mail = parse_message(raw)
    if not record.email:  # the placeholder address is nobody's: no reply address
        mail = replace(mail, sender=None, reply_to=())
    received_on = received_local_date(message.received_at, settings.office.timezone)
    answered = record.method not in _NO_EMAIL and bool(record.email)
    facts = Facts(
        classification=Classification(record.category, 1.0, (f"recorded by {actor}",), "staff"),
        received_on=received_on,
        thread_case=None,
        has_requester=answered,
        review_below=settings.cases.review_below_confidence,
        target_working_days=settings.cases.target_working_days,
        acknowledgements_enabled=settings.actions.acknowledge and answered,
        paro_forwarding_enabled=settings.actions.forward_paro and record.method != "meeting",
        internal_forwarding_enabled=settings.actions.forward_internal
        and record.method != "meeting",
        phase=election_phase(received_on, settings.election),
        topics=detect_topics(mail),
        protocol=settings.protocol,
    )
    decision = decide(facts, calendar)
    case = open_case(
        session,
        message,
        mail,
        decision,
        prefix=settings.office.reference_prefix,
        reasons=facts.classification.reasons,
        confidence=1.0,
        version="staff",
        now=now,
        received_on=received_on,
    )
    case.method_of_contact = record.method
    case.requester_name = record.name
    if record.log == "force":
        case.forwarded_by = FORCE_LOG
    if settings.protocol.undeclared_are_public:
        treat_undeclared_as_public(session, case, now)
    message.disposition = Disposition.CASE
    confirm = record.method == "telephone" and settings.protocol.confirm_telephone_requests
    queue_actions(
        session,
        settings,
        case,
        message,
        mail,
        decision,
        now=now,
        received_on=received_on,
        template=TELEPHONE_CONFIRMATION if confirm else None,
    )
    audit.record(
        session,
        AuditAction.CONTACT_RECORDED,
        at=now,
        case=case,
        message=message,
        actor=actor,
        method=record.method,
        log=record.log,
        written_confirmation=confirm and decision.acknowledge,
    )
    return case


CSV_COLUMNS = ("date", "method", "name", "category", "text")
CSV_OPTIONAL = ("email", "phone", "subject", "attendees")


def read_contact_log(handle: IO[str], log: Log, tz: dt.tzinfo) -> list[ContactRecord]:
    """A SPOC's log as CSV (header row: date, method, name, category, text, and optionally
    email, phone, subject, attendees); every row is checked before any is filed."""
    reader = csv.DictReader(handle)
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise ContactError(f"header: missing column(s) {', '.join(missing)}")
    records, errors = [], []
    for number, row in enumerate(reader, start=2):
        try:
            records.append(_record_from_row(row, log, tz))
        except (ContactError, ValueError) as exc:
            errors.append(f"row {number}: {exc}")
    if errors:
        raise ContactError("; ".join(errors))
    return records


def _record_from_row(row: dict[str, str], log: Log, tz: dt.tzinfo) -> ContactRecord:
    try:
        at = dt.datetime.fromisoformat(row["date"].strip())
    except ValueError as exc:
        raise ContactError(f"date: not a date or date-time: {row['date']!r}") from exc
    if at.tzinfo is None:
        at = at.replace(tzinfo=tz)
    try:
        category = Category(row["category"].strip())
    except ValueError as exc:
        raise ContactError(f"category: unknown {row['category']!r}") from exc
    method = row["method"].strip()
    if method not in METHODS:
        raise ContactError(f"method: one of {', '.join(METHODS)}, not {method!r}")
    record = ContactRecord(
        method=method,
        category=category,
        name=row["name"].strip(),
        text=row["text"],
        at=at,
        log=log,
        **{k: (row.get(k) or "").strip() for k in CSV_OPTIONAL},
    )
    check_record(record)
    return record


def file_contacts(
    session: Session,
    settings: Settings,
    calendar: UkCalendar,
    records: Iterable[ContactRecord],
    *,
    actor: str,
    now: dt.datetime,
) -> list[str]:
    """File every record in one transaction; the references, in order."""
    return [
        record_contact(session, settings, calendar, r, actor=actor, now=now).reference
        for r in records
    ]
