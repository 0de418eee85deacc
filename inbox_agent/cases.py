"""Cases in the register: references, threads, and opening a case from a decision.

A reference such as ``ELX-2027-0042`` is what the requester quotes back and what staff say on
the phone, so it is short, per year, and issued from a counter row inside the same transaction
as the case. Threads are found by the ids in In-Reply-To/References, then by a reference quoted
in the subject, so a reply joins its case instead of opening another.
"""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox_agent.classify.requester import RequesterType, requester_type
from inbox_agent.decide import Decision
from inbox_agent.language import Language
from inbox_agent.parse import ParsedMail
from inbox_agent.register.audit import AuditAction, record
from inbox_agent.register.locks import serialize
from inbox_agent.register.models import (
    Case,
    CaseStatus,
    Disposition,
    OutboxMessage,
    ReferenceCounter,
    StoredMessage,
)
from inbox_agent.requesters import match_case

SOUGHT_LIMIT = 4000


def allocate_reference(session: Session, prefix: str, year: int) -> str:
    """Next number for (prefix, year); the row lock serialises concurrent writers.

    The year's first case has no row to lock yet: two nodes (a lease changing hands) would
    both insert one, so that moment is serialised by name and the row looked for again.
    """
    query = (
        select(ReferenceCounter)
        .where(ReferenceCounter.prefix == prefix, ReferenceCounter.year == year)
        .with_for_update()
    )
    counter = session.scalars(query).first()
    if counter is None:
        serialize(session, f"reference_counter:{prefix}:{year}")
        counter = session.scalars(query).first()
    if counter is None:
        counter = ReferenceCounter(prefix=prefix, year=year, last=0)
        session.add(counter)
    counter.last += 1
    session.flush()
    return f"{prefix}-{year}-{counter.last:04d}"


def reference_pattern(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"\b{re.escape(prefix)}-(\d{{4}})-(\d{{4,}})\b")


def find_thread_case(session: Session, mail: ParsedMail, prefix: str) -> Case | None:
    """The case this message continues, if any: message ids first, then a quoted reference."""
    ids = [i for i in (mail.in_reply_to, *mail.references) if i]
    if ids:
        case = session.scalars(
            select(Case)
            .join(StoredMessage, StoredMessage.case_id == Case.id)
            .where(StoredMessage.message_id.in_(ids))
            .order_by(Case.id)
        ).first()
        if case is not None:
            return case
        # a reply to our own acknowledgement names its Message-ID, which only the outbox holds
        case = session.scalars(
            select(Case)
            .join(OutboxMessage, OutboxMessage.case_id == Case.id)
            .where(OutboxMessage.message_id.in_(ids))
            .order_by(Case.id)
        ).first()
        if case is not None:
            return case
    match = reference_pattern(prefix).search(mail.subject)
    if match is None:
        return None
    return session.scalars(select(Case).where(Case.reference == match.group(0))).first()


def find_disclosure_case(session: Session, mail: ParsedMail, prefix: str) -> Case | None:
    """The request a force's FOI disclosure answers: the thread, else a reference it quotes.

    The force answers the requester itself and sends the same to the SPOC (Nottinghamshire
    6.4, Norfolk 12), usually as a new message or a forward: our reference may be anywhere in
    its subject, the forwarded original or the body.
    """
    case = find_thread_case(session, mail, prefix)
    if case is not None:
        return case
    texts = [mail.subject, mail.text]
    if mail.forwarded is not None:
        texts[1:1] = [mail.forwarded.subject, mail.forwarded.text]
    pattern = reference_pattern(prefix)
    for text in texts:
        for match in pattern.finditer(text):
            found = session.scalars(select(Case).where(Case.reference == match.group(0))).first()
            if found is not None:
                return found
    return None


def is_force_disclosure(mail: ParsedMail, force_domains: list[str]) -> bool:
    """Mail the force sends about its own FOI work: from a force domain, not relaying a request.

    Police staff also forward requests they received to the election inbox (Bedfordshire 10b,
    Nottinghamshire 6.2): a forward whose original came from outside the force is a request,
    opened for its requester like any other staff forward.
    """
    if mail.sender is None or not _at(mail.sender.email, force_domains):
        return False
    original = mail.forwarded
    return (
        original is None or not original.sender.email or _at(original.sender.email, force_domains)
    )


def _at(address: str, domains: list[str]) -> bool:
    """``address`` is at one of ``domains`` or a subdomain of one."""
    if "@" not in address:
        return False
    domain = address.rsplit("@", 1)[1].lower()
    return any(domain == d or domain.endswith(f".{d}") for d in domains)


def treat_undeclared_as_public(session: Session, case: Case, now: dt.datetime) -> None:
    """Nottinghamshire 1.1: someone not yet declared (not on the roster) is a member of the public.

    Their own words may say they intend to stand; the register still records them as public
    until they are on the roster (the PARO's statement, or staff's entry of a declaration).
    """
    if case.person_id is not None or case.requester_type == RequesterType.PUBLIC:
        return
    said = case.requester_type
    case.requester_type = RequesterType.PUBLIC
    record(
        session,
        AuditAction.TREATED_AS_PUBLIC,
        at=now,
        case=case,
        self_described=said,
        rule="undeclared",
    )


def requester_language(session: Session, email: str) -> Language:
    """The language this requester's latest case recorded, when one did (else UNKNOWN)."""
    if not email:
        return Language.UNKNOWN
    recorded = session.scalars(
        select(Case.language)
        .where(Case.requester_email == email, Case.language != "")
        .order_by(Case.id.desc())
        .limit(1)
    ).first()
    return Language(recorded) if recorded else Language.UNKNOWN


def open_case(
    session: Session,
    message: StoredMessage,
    mail: ParsedMail,
    decision: Decision,
    *,
    prefix: str,
    reasons: tuple[str, ...],
    confidence: float,
    version: str,
    now: dt.datetime,
    received_on: dt.date,
    language: Language = Language.UNKNOWN,
) -> Case:
    """Create the register row with the protocol's columns filled from the message."""
    requester = mail.requester
    case = Case(
        reference=allocate_reference(session, prefix, received_on.year),
        status=CaseStatus.NEW,
        category=decision.category,
        confidence=confidence,
        classifier_version=version,
        classification_reasons=list(reasons),
        needs_review=decision.needs_review,
        # arrival (IMAP INTERNALDATE, or the delivery date of an import), not the Date header
        date_of_contact=message.received_at,
        requester_name=requester.name if requester else "",
        requester_email=requester.email if requester else "",
        requester_type=requester_type(mail.request_text),
        forwarded_by=mail.sender.email if mail.forwarded and mail.sender else None,
        method_of_contact="email",
        subject=mail.forwarded.subject if mail.forwarded else mail.subject,
        information_sought=mail.request_text[:SOUGHT_LIMIT],
        date_added_to_register=now,
        due_date=decision.due_date,
        updated_at=now,
        language=language.value,
    )
    session.add(case)
    session.flush()
    match_case(session, case, now)  # a roster match overrides the words-based requester type
    message.case_id = case.id
    message.disposition = Disposition.CASE
    record(
        session,
        AuditAction.CASE_OPENED,
        at=now,
        case=case,
        message=message,
        category=decision.category,
        confidence=round(confidence, 3),
        acknowledge=decision.acknowledge,
        forward_paro=decision.forward_paro,
        needs_review=decision.needs_review,
        due_date=decision.due_date.isoformat() if decision.due_date else None,
        language=language.value,
        reasons=list(decision.reasons),
    )
    return case


def join_case(session: Session, case: Case, message: StoredMessage, now: dt.datetime) -> None:
    message.case_id = case.id
    message.disposition = Disposition.CASE
    case.updated_at = now
    record(session, AuditAction.MESSAGE_JOINED_CASE, at=now, case=case, message=message)
