"""A FOI or subject access case in the register, as the pipeline leaves it, for casework tests."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from inbox_agent.register.models import Case, CaseStatus, ReferenceCounter, StoredMessage
from support.builders import message


def statutory_case(
    session: Session,
    n: int,
    received: dt.datetime,
    *,
    category: str = "foi_request",
    due: dt.date | None = None,
    requester: str = "rita@example.org",
) -> Case:
    """Case ``TST-<year>-<n>`` with its first message received at ``received``."""
    year = received.year
    counter = session.get(ReferenceCounter, ("TST", year))
    if counter is None:
        session.add(ReferenceCounter(prefix="TST", year=year, last=n))
    else:
        counter.last = max(counter.last, n)
    raw = message(f"Requester {n} <{requester}>", f"Request {n}", "Please send the figures.")
    case = Case(
        reference=f"TST-{year}-{n:04d}",
        status=CaseStatus.NEW,
        category=category,
        confidence=0.9,
        classifier_version="test",
        date_of_contact=received,
        requester_email=requester,
        subject=f"Request {n}",
        date_added_to_register=received,
        due_date=due,
        updated_at=received,
    )
    session.add(case)
    session.flush()
    session.add(
        StoredMessage(
            sha256=f"sha-{year}-{n}",
            body_sha256="b",
            raw=raw,
            size=len(raw),
            received_at=received,
            disposition="case",
            sender=requester,
            case_id=case.id,
        )
    )
    session.flush()
    return case
