"""Turn a decision into outbox rows, in the same transaction as the case.

Nothing is sent here: the acknowledgement and the PARO forward are queued with the case, so a
crash leaves either both the case and its emails or neither. ``send`` delivers them.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox_agent.acknowledge import render_acknowledgement, render_paro_cover
from inbox_agent.cases import audit
from inbox_agent.classify import Category
from inbox_agent.decide import Decision
from inbox_agent.language import Language
from inbox_agent.outbox import queue_email
from inbox_agent.parse import ParsedMail
from inbox_agent.register.models import Case, OutboxMessage, OutboxStatus, StoredMessage
from inbox_agent.settings import Settings

log = logging.getLogger(__name__)
ACK = "acknowledgement"
PARO = "paro_forward"


def recent_acknowledgements(session: Session, recipient: str, now: dt.datetime) -> int:
    """Acknowledgements queued or sent to this address in the last 24 hours."""
    return int(
        session.scalar(
            select(func.count()).where(
                OutboxMessage.kind == ACK,
                OutboxMessage.recipient == recipient.lower(),
                OutboxMessage.created_at >= now - dt.timedelta(hours=24),
                OutboxMessage.status != OutboxStatus.SUPPRESSED,
            )
        )
        or 0
    )


def queue_actions(
    session: Session,
    settings: Settings,
    case: Case,
    message: StoredMessage,
    mail: ParsedMail,
    decision: Decision,
    *,
    now: dt.datetime,
    received_on: dt.date,
) -> None:
    give_up = dt.timedelta(hours=settings.actions.send_retry_hours)
    sender, office = settings.from_address, settings.office.name
    if decision.acknowledge and mail.requester is not None:
        rendered = render_acknowledgement(
            settings,
            category=Category(case.category),
            reference=case.reference,
            requester_name=case.requester_name,
            original_subject=case.subject,
            due_date=case.due_date,
            received_on=received_on,
            needs_review=case.needs_review,
            language=Language(case.language),
        )
        threaded = mail.forwarded is None  # the requester never saw the staff forward
        row = queue_email(
            session,
            case,
            kind=ACK,
            recipient=mail.requester.email.lower(),
            rendered=rendered,
            in_reply_to=mail.message_id if threaded else "",
            references=mail.references if threaded else (),
            from_address=sender,
            office_name=office,
            now=now,
            give_up_after=give_up,
        )
        audit(
            session,
            now,
            "acknowledgement_queued",
            case=case,
            outbox=row.id,
            message_id=row.message_id,
        )
    elif decision.action.value == "open_case":
        audit(session, now, "acknowledgement_withheld", case=case, reasons=list(decision.reasons))
    if decision.forward_paro:
        cover = render_paro_cover(
            settings,
            reference=case.reference,
            requester_name=case.requester_name,
            requester_email=case.requester_email,
            received_at=message.received_at,
            subject=case.subject,
        )
        row = queue_email(
            session,
            case,
            kind=PARO,
            recipient=str(settings.paro.email),
            rendered=cover,
            attachment=message.raw,
            from_address=sender,
            office_name=office,
            now=now,
            give_up_after=give_up,
        )
        audit(
            session, now, "paro_forward_queued", case=case, outbox=row.id, paro=settings.paro.name
        )
