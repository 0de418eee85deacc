"""Turn a decision into outbox rows, in the same transaction as the case.

Nothing is sent here: the acknowledgement and the protocol's forwards (to the PARO, the Chief
Executive, the force SPOC ...) are queued with the case, so a crash leaves either both the case
and its emails or neither. ``send`` delivers them.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inbox_agent.acknowledge import (
    render_acknowledgement,
    render_forward_cover,
    render_paro_cover,
    route_recipient,
)
from inbox_agent.classify import Category
from inbox_agent.decide import Decision
from inbox_agent.language import Language
from inbox_agent.outbox import queue_email
from inbox_agent.parse import ParsedMail
from inbox_agent.protocol.rules import Recipient
from inbox_agent.register.audit import AuditAction, record
from inbox_agent.register.models import (
    Case,
    OutboxKind,
    OutboxMessage,
    OutboxStatus,
    StoredMessage,
    forward_kind,
)
from inbox_agent.settings import Settings

log = logging.getLogger(__name__)


def recent_acknowledgements(session: Session, recipient: str, now: dt.datetime) -> int:
    """Acknowledgements queued or sent to this address in the last 24 hours."""
    return int(
        session.scalar(
            select(func.count()).where(
                OutboxMessage.kind == OutboxKind.ACKNOWLEDGEMENT,
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
    template: str | None = None,
) -> None:
    """Queue the protocol's forwards, then the acknowledgement that names exactly those.

    The forwards go first so the acknowledgement is rendered from the rows really queued:
    "we have passed your message to the Chief Executive" is only ever written beside a
    forward to the Chief Executive in the same transaction.
    """
    told = decision.acknowledge and mail.requester is not None
    forwarded = tuple(
        queue_forward(
            session, settings, case, message, route, decision.outcome.cites, now=now, told=told
        )
        for route in decision.routes
    )
    if told:
        _queue_acknowledgement(
            session,
            settings,
            case,
            mail,
            decision,
            forwarded,
            now=now,
            received_on=received_on,
            template=template,
        )
    elif decision.action.value == "open_case":
        record(
            session,
            AuditAction.ACKNOWLEDGEMENT_WITHHELD,
            at=now,
            case=case,
            reasons=list(decision.reasons),
        )


def _queue_acknowledgement(
    session: Session,
    settings: Settings,
    case: Case,
    mail: ParsedMail,
    decision: Decision,
    forwarded: tuple[Recipient, ...],
    *,
    now: dt.datetime,
    received_on: dt.date,
    template: str | None,
) -> None:
    assert mail.requester is not None
    rendered = render_acknowledgement(
        settings,
        category=Category(case.category),
        reference=case.reference,
        requester_name=case.requester_name,
        original_subject=case.subject,
        due_date=case.due_date,
        received_on=received_on,
        needs_review=case.needs_review,
        outcome=decision.outcome,
        forwarded_to=forwarded,
        language=Language(case.language),
        template=template,
        recorded_request=case.information_sought if template else "",
    )
    threaded = mail.forwarded is None  # the requester never saw the staff forward
    row = queue_email(
        session,
        case,
        kind=OutboxKind.ACKNOWLEDGEMENT,
        recipient=mail.requester.email.lower(),
        rendered=rendered,
        in_reply_to=mail.message_id if threaded else "",
        references=mail.references if threaded else (),
        from_address=settings.from_address,
        office_name=settings.office.name,
        now=now,
        give_up_after=dt.timedelta(hours=settings.actions.send_retry_hours),
    )
    record(
        session,
        AuditAction.ACKNOWLEDGEMENT_QUEUED,
        at=now,
        case=case,
        outbox=row.id,
        message_id=row.message_id,
    )


def queue_forward(
    session: Session,
    settings: Settings,
    case: Case,
    message: StoredMessage,
    route: str,
    cites: tuple[str, ...],
    *,
    now: dt.datetime,
    told: bool,
) -> Recipient:
    """One forward with the original attached intact, to the PARO or an internal recipient."""
    recipient = route_recipient(settings, route)
    if route == "paro" and case.category == Category.ELECTORAL_PROCESS:
        cover = render_paro_cover(
            settings,
            reference=case.reference,
            requester_name=case.requester_name,
            requester_email=case.requester_email,
            received_at=message.received_at,
            subject=case.subject,
            sender_told=told,
        )
    else:  # the cover says under which paragraphs it is theirs (image misuse to the PARO too)
        cover = render_forward_cover(
            settings,
            recipient,
            reference=case.reference,
            requester_name=case.requester_name,
            requester_email=case.requester_email,
            received_at=message.received_at,
            subject=case.subject,
            cites=cites,
            sender_told=told,
        )
    row = queue_email(
        session,
        case,
        kind=forward_kind(route),
        recipient=str(recipient.email).lower(),
        rendered=cover,
        attachment=message.raw,
        from_address=settings.from_address,
        office_name=settings.office.name,
        now=now,
        give_up_after=dt.timedelta(hours=settings.actions.send_retry_hours),
    )
    if route == "paro":
        paro = settings.paro.name
        record(
            session, AuditAction.PARO_FORWARD_QUEUED, at=now, case=case, outbox=row.id, paro=paro
        )
    else:
        record(
            session,
            AuditAction.FORWARD_QUEUED,
            at=now,
            case=case,
            outbox=row.id,
            route=route,
            to=recipient.title,
            cites=list(cites),
        )
    return recipient
