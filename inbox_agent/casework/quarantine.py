"""The shunt queue: messages the pipeline could not handle, and putting one back.

A message lands here when the sender's MIME defeats the parser, or after ``poll.max_attempts``
failed attempts. Nothing here deletes: ``release`` only returns a message to ``pending`` with
its attempts reset, so the next pass takes it through every stage again (once the operator
has fixed what stopped it, or a new release parses it), and the audit trail says who did it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox_agent.register.audit import AuditAction, record
from inbox_agent.register.models import Case, Disposition, StoredMessage


@dataclass(frozen=True)
class Quarantined:
    """One row of ``inbox-agent quarantine list``."""

    stored_message_id: int
    received_at: dt.datetime
    sender: str
    subject: str
    attempts: int
    reason: str
    case: str | None


def quarantined(session: Session) -> list[Quarantined]:
    """Every quarantined message, oldest first."""
    rows = session.execute(
        select(StoredMessage, Case.reference)
        .outerjoin(Case, StoredMessage.case_id == Case.id)
        .where(StoredMessage.disposition == Disposition.QUARANTINED)
        .order_by(StoredMessage.id)
    )
    return [
        Quarantined(
            m.id, m.received_at, m.sender or "", m.subject or "", m.attempts, m.error or "", ref
        )
        for m, ref in rows
    ]


def find_quarantined(session: Session, ref_or_id: str) -> Sequence[StoredMessage]:
    """``42`` is a stored message's id (as ``status`` shows it); anything else a case reference."""
    query = select(StoredMessage).where(StoredMessage.disposition == Disposition.QUARANTINED)
    if ref_or_id.isdigit():
        query = query.where(StoredMessage.id == int(ref_or_id))
    else:
        query = query.join(Case, StoredMessage.case_id == Case.id).where(
            Case.reference == ref_or_id
        )
    return list(session.scalars(query.order_by(StoredMessage.id)))


def release(session: Session, message: StoredMessage, actor: str, now: dt.datetime) -> None:
    """Back to ``pending`` with a clean slate; the reason it was shunted stays in the audit."""
    previous = message.error or ""
    message.disposition = Disposition.PENDING
    message.attempts = 0
    message.error = None
    record(
        session, AuditAction.MESSAGE_RELEASED, at=now, actor=actor, message=message, reason=previous
    )
