"""Staff corrections: a case put in another category becomes a labelled training example.

``record_correction`` changes the case's category (and clears its review mark), writes a
``LabelCorrection`` row and an audit event in the caller's transaction. ``correction_examples``
reads them back for ``model train --include-corrections``: each corrected message's stored raw
bytes are parsed again and read exactly as the classifier reads them (``mail_example``),
labelled with the latest correction of that message. Corrections only ever join the training
set, never dev or test, so the published figures stay comparable.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox_agent.classify import Category
from inbox_agent.classify.training.train import Example, mail_example
from inbox_agent.errors import OperatorError, SenderError
from inbox_agent.parse import parse_message
from inbox_agent.register.audit import AuditAction, record
from inbox_agent.register.db import Register
from inbox_agent.register.models import Case, LabelCorrection, StoredMessage


def record_correction(
    session: Session, reference: str, category: str, user: str, now: dt.datetime
) -> LabelCorrection:
    """Put case ``reference`` in ``category``; its first message becomes an example."""
    try:
        new = Category(category)
    except ValueError as exc:
        known = ", ".join(c.value for c in Category)
        raise OperatorError(f"unknown category {category!r} (one of: {known})") from exc
    if not user.strip():
        raise OperatorError("a correction needs the name of the member of staff making it")
    case = session.scalars(select(Case).where(Case.reference == reference)).first()
    if case is None:
        raise OperatorError(f"no case {reference}")
    if not case.messages:
        raise OperatorError(f"case {reference} has no stored message to learn from")
    old = case.category
    row = LabelCorrection(
        case_id=case.id,
        stored_message_id=case.messages[0].id,  # the message that opened the case
        old_category=old,
        new_category=new.value,
        user=user.strip(),
        at=now,
    )
    session.add(row)
    case.category = new.value
    case.needs_review = False
    case.updated_at = now
    change: dict[str, Any] = {"from": old, "to": new.value}
    record(session, AuditAction.CATEGORY_CORRECTED, at=now, actor=user.strip(), case=case, **change)
    return row


def correction_examples(register: Register) -> list[Example]:
    """The latest correction of each stored message, as a training example."""
    with register.transaction() as session:
        latest: dict[int, LabelCorrection] = {}
        for row in session.scalars(select(LabelCorrection).order_by(LabelCorrection.id)):
            latest[row.stored_message_id] = row
        examples: list[Example] = []
        for message_id, row in sorted(latest.items()):
            message = session.get(StoredMessage, message_id)
            if message is None:
                continue
            try:
                mail = parse_message(message.raw)
            except SenderError:
                continue
            label = Category(row.new_category)
            examples.append(mail_example(mail, label, f"correction:{row.id}"))
    return examples
