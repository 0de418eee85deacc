"""UK GDPR storage limitation: delete raw mail and anonymise register rows once they are old.

``inbox-agent retention`` shows what the ``[retention]`` policy would do; ``--apply`` does it:

* the raw bytes of every message of a case closed more than ``raw_mail_days_after_close``
  days ago are emptied, and so are our own sent copies that carry them (the PARO forward
  attaches the original; an acknowledgement quotes name and subject);
* machine mail (bounces, auto-replies, lists) loses its raw bytes after ``machine_mail_days``;
* a duplicate copy goes with its original;
* with ``anonymise_register_after_days`` set, a case closed that long ago has its requester's
  name, address, subject and the information sought replaced, and its mail goes too.

A case's clock is its ``updated_at``: the last time anything happened to it, so a reply that
joins a closed case starts the count again. Rows are never deleted: the hashes and
Message-ID stay, so the same message arriving again is still recognised as a duplicate, and
the audit trail stays whole. Every deletion adds an audit event saying what went and under
which key. Work is done in short batches so the daemon can keep writing meanwhile.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import Session, aliased

from inbox_agent.register.audit import AuditAction, record
from inbox_agent.register.db import Register
from inbox_agent.register.models import (
    Case,
    CaseStatus,
    Disposition,
    OutboxMessage,
    OutboxStatus,
    StoredMessage,
)
from inbox_agent.settings import RetentionSettings

log = logging.getLogger(__name__)
ACTOR = "inbox-agent retention"
ANONYMISED = "[anonymised]"
BATCH = 200


@dataclass(frozen=True)
class Cutoffs:
    """Anything last touched before these instants is due."""

    case_mail: dt.datetime
    machine_mail: dt.datetime
    anonymise: dt.datetime | None

    @classmethod
    def at(cls, now: dt.datetime, policy: RetentionSettings) -> Cutoffs:
        days = dt.timedelta(days=1)
        anonymise = policy.anonymise_register_after_days
        anonymise_at = now - anonymise * days if anonymise is not None else None
        case_mail = now - policy.raw_mail_days_after_close * days
        if anonymise_at is not None:
            case_mail = max(case_mail, anonymise_at)  # an anonymised case keeps no mail
        return cls(case_mail, now - policy.machine_mail_days * days, anonymise_at)


@dataclass
class RetentionReport:
    applied: bool
    cutoffs: Cutoffs
    case_messages: list[int] = field(default_factory=list)
    machine_messages: list[int] = field(default_factory=list)
    duplicate_messages: list[int] = field(default_factory=list)
    outbox_copies: list[int] = field(default_factory=list)
    anonymised_cases: list[int] = field(default_factory=list)
    references: dict[int, str] = field(default_factory=dict)  # case id -> reference
    mail_cases: set[int] = field(default_factory=set)  # cases whose mail goes

    @property
    def nothing(self) -> bool:
        return not (
            self.case_messages
            or self.machine_messages
            or self.duplicate_messages
            or self.outbox_copies
            or self.anonymised_cases
        )


# -- what is due ---------------------------------------------------------------------------


def _closed_before(cutoff: dt.datetime) -> Select[int]:
    return select(Case.id).where(Case.status == CaseStatus.CLOSED, Case.updated_at < cutoff)


def _case_messages(c: Cutoffs) -> Select[int]:
    return select(StoredMessage.id).where(
        StoredMessage.raw_deleted_at.is_(None),
        StoredMessage.case_id.in_(_closed_before(c.case_mail)),
    )


def _machine_messages(c: Cutoffs) -> Select[int]:
    return select(StoredMessage.id).where(
        StoredMessage.raw_deleted_at.is_(None),
        StoredMessage.disposition == Disposition.MACHINE,
        StoredMessage.received_at < c.machine_mail,
    )


def _duplicates(c: Cutoffs) -> Select[int]:
    """Copies whose original has gone, or is about to."""
    original = aliased(StoredMessage)
    return (
        select(StoredMessage.id)
        .join(original, original.id == StoredMessage.duplicate_of_id)
        .where(
            StoredMessage.raw_deleted_at.is_(None),
            StoredMessage.disposition == Disposition.DUPLICATE,
            or_(
                original.raw_deleted_at.is_not(None),
                original.id.in_(_case_messages(c)),
                original.id.in_(_machine_messages(c)),
            ),
        )
    )


def _outbox_copies(c: Cutoffs) -> Select[int]:
    return select(OutboxMessage.id).where(
        OutboxMessage.status != OutboxStatus.QUEUED,
        OutboxMessage.case_id.in_(_closed_before(c.case_mail)),
        func.length(OutboxMessage.raw) > 0,
    )


def _to_anonymise(c: Cutoffs) -> Select[int]:
    if c.anonymise is None:
        return select(Case.id).where(Case.id.is_(None))  # never matches
    return _closed_before(c.anonymise).where(Case.requester_email != ANONYMISED)


def plan_retention(
    session: Session, policy: RetentionSettings, now: dt.datetime
) -> RetentionReport:
    """What ``apply_retention`` would do at ``now``; reads only."""
    c = Cutoffs.at(now, policy)
    report = RetentionReport(applied=False, cutoffs=c)
    report.case_messages = _ids(session, _case_messages(c))
    report.machine_messages = _ids(session, _machine_messages(c))
    report.duplicate_messages = _ids(session, _duplicates(c))
    report.outbox_copies = _ids(session, _outbox_copies(c))
    report.anonymised_cases = _ids(session, _to_anonymise(c))
    _add_references(session, report)
    return report


def _ids(session: Session, query: Select[int]) -> list[int]:
    return list(session.scalars(query.order_by(query.selected_columns[0])))


def _add_references(session: Session, report: RetentionReport) -> None:
    """The references the report names, looked up a batch at a time (SQL parameter limits)."""
    for ids in _chunks(report.case_messages):
        query = select(StoredMessage.case_id).where(StoredMessage.id.in_(ids))
        report.mail_cases.update(cid for cid in session.scalars(query) if cid is not None)
    for ids in _chunks(sorted(report.mail_cases | set(report.anonymised_cases))):
        rows = session.execute(select(Case.id, Case.reference).where(Case.id.in_(ids)))
        report.references.update((cid, ref) for cid, ref in rows)


def _chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(ids), BATCH):
        yield ids[start : start + BATCH]


# -- doing it ------------------------------------------------------------------------------


def apply_retention(
    register: Register, policy: RetentionSettings, now: dt.datetime
) -> RetentionReport:
    """Apply the policy in batches of ``BATCH`` rows, one short transaction each."""
    c = Cutoffs.at(now, policy)
    report = RetentionReport(applied=True, cutoffs=c)
    steps: list[tuple[Select[int], Step, list[int]]] = [
        (_to_anonymise(c), _anonymise, report.anonymised_cases),
        (_case_messages(c), _deleter("case_closed"), report.case_messages),
        (_machine_messages(c), _deleter("machine_mail"), report.machine_messages),
        (_duplicates(c), _deleter("duplicate_of_deleted"), report.duplicate_messages),
        (_outbox_copies(c), _delete_outbox_copies, report.outbox_copies),
    ]
    for query, step, done in steps:
        done.extend(_in_batches(register, query, step, now))
    with register.transaction() as session:
        _add_references(session, report)
    log.info(
        "event=retention_applied messages=%d machine=%d duplicates=%d outbox=%d anonymised=%d",
        len(report.case_messages),
        len(report.machine_messages),
        len(report.duplicate_messages),
        len(report.outbox_copies),
        len(report.anonymised_cases),
    )
    return report


Step = Callable[[Session, Sequence[int], dt.datetime], None]


def _in_batches(register: Register, query: Select[int], step: Step, now: dt.datetime) -> list[int]:
    """Repeat ``step`` on the next batch until none is due.

    Each step takes its rows out of ``query``, so the loop ends; the bound is the count at the
    start plus one batch, in case the daemon adds due rows meanwhile (they wait for next time).
    """
    with register.transaction() as session:
        total = int(session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    done: list[int] = []
    for _ in range(total // BATCH + 2):
        with register.transaction() as session:
            ids = _ids(session, query.limit(BATCH))
            if ids:
                step(session, ids, now)
        done.extend(ids)
        if len(ids) < BATCH:
            break
    return done


def _deleter(reason: str) -> Step:
    def delete_raw(session: Session, ids: Sequence[int], now: dt.datetime) -> None:
        rows = session.execute(
            select(StoredMessage.id, StoredMessage.case_id, StoredMessage.size).where(
                StoredMessage.id.in_(ids)
            )
        )
        for message_id, case_id, size in rows:
            record(
                session,
                AuditAction.RAW_MAIL_DELETED,
                at=now,
                actor=ACTOR,
                case_id=case_id,
                stored_message_id=message_id,
                reason=reason,
                size=size,
            )
        session.execute(
            update(StoredMessage)
            .where(StoredMessage.id.in_(ids))
            .values(raw=b"", raw_deleted_at=now, search_text=None)
        )

    return delete_raw


def _delete_outbox_copies(session: Session, ids: Sequence[int], now: dt.datetime) -> None:
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.case_id, OutboxMessage.kind).where(
            OutboxMessage.id.in_(ids)
        )
    )
    for outbox_id, case_id, kind in rows:
        record(
            session,
            AuditAction.SENT_COPY_DELETED,
            at=now,
            actor=ACTOR,
            case_id=case_id,
            outbox=outbox_id,
            kind=kind,
        )
    session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(ids)).values(raw=b""))


def _anonymise(session: Session, ids: Sequence[int], now: dt.datetime) -> None:
    """Replace the requester's identity and words; keep category, dates and staff notes."""
    for case in session.scalars(select(Case).where(Case.id.in_(ids))):
        case.requester_name = ""
        case.requester_email = ANONYMISED
        case.subject = ANONYMISED
        case.information_sought = ANONYMISED
        record(
            session,
            AuditAction.REGISTER_ROW_ANONYMISED,
            at=now,
            actor=ACTOR,
            case=case,
            fields=["requester_name", "requester_email", "subject", "information_sought"],
        )
    session.execute(
        update(StoredMessage)
        .where(StoredMessage.case_id.in_(ids))
        .values(sender=ANONYMISED, subject=ANONYMISED, search_text=None)
    )
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.case_id.in_(ids), OutboxMessage.status != OutboxStatus.QUEUED)
        .values(recipient=ANONYMISED)
    )


# -- the text ``inbox-agent retention`` prints ----------------------------------------------

SHOWN = 20


def render_report(report: RetentionReport, policy: RetentionSettings) -> list[str]:
    c = report.cutoffs
    verb = "deleted" if report.applied else "would delete"
    head = "retention applied" if report.applied else "retention dry run (--apply to do it)"
    lines = [head]
    refs = sorted(report.references[i] for i in report.mail_cases)
    lines.append(
        f"raw mail of cases closed before {c.case_mail:%Y-%m-%d} "
        f"(raw_mail_days_after_close = {policy.raw_mail_days_after_close}): "
        f"{verb} {len(report.case_messages)} message(s){_some(refs)}"
    )
    lines.append(
        f"machine mail received before {c.machine_mail:%Y-%m-%d} "
        f"(machine_mail_days = {policy.machine_mail_days}): "
        f"{verb} {len(report.machine_messages)} message(s)"
    )
    lines.append(f"duplicate copies of those: {verb} {len(report.duplicate_messages)}")
    lines.append(f"our sent copies of those cases: {verb} {len(report.outbox_copies)}")
    if c.anonymise is None:
        lines.append("anonymise_register_after_days is not set: register rows are kept as they are")
    else:
        anonymised = sorted(report.references[i] for i in report.anonymised_cases)
        lines.append(
            f"register rows of cases closed before {c.anonymise:%Y-%m-%d} "
            f"(anonymise_register_after_days = {policy.anonymise_register_after_days}): "
            f"{'anonymised' if report.applied else 'would anonymise'} "
            f"{len(report.anonymised_cases)}{_some(anonymised)}"
        )
    if report.nothing:
        lines.append("nothing is due")
    return lines


def _some(references: Sequence[str]) -> str:
    if not references:
        return ""
    more = f" and {len(references) - SHOWN} more" if len(references) > SHOWN else ""
    return ": " + ", ".join(references[:SHOWN]) + more
