"""The loop body: fetch new mail, then take each stored message through its stages.

fetch -> store raw (intake) -> parse -> classify -> decide -> register. Each stored message is
handled in its own transaction, so one bad message cannot hold back the rest. A sender's fault
(unparseable MIME) quarantines at once; any other failure is retried on later passes and
quarantined after ``poll.max_attempts``, with the reason, where staff can see it. An
operator's error (a template missing or broken, an unknown time zone) never counts against a
message: it is checked before the mailbox is touched, and if a message still meets one the
pass stops with it untouched, for the scheduler to alert on.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from inbox_agent.acknowledge import check_protocol_templates
from inbox_agent.act import queue_actions, recent_acknowledgements
from inbox_agent.analysis import Analysis, AnalysisPool, analyse
from inbox_agent.cases import (
    find_disclosure_case,
    find_thread_case,
    is_force_disclosure,
    join_case,
    open_case,
    requester_language,
    treat_undeclared_as_public,
)
from inbox_agent.casework.follow_up import note_follow_up
from inbox_agent.clock import Clock, utc_now
from inbox_agent.deadlines import UkCalendar, received_local_date
from inbox_agent.decide import Action, decide
from inbox_agent.errors import OperatorError, SenderError, TransientError
from inbox_agent.facts import gather_facts
from inbox_agent.fetch import FetchReport, ImapFetcher, imap_credentials
from inbox_agent.language import Language, preference
from inbox_agent.localbox import LocalFetcher
from inbox_agent.logs import SINGLE_MAILBOX
from inbox_agent.ops.preflight import check_templates
from inbox_agent.parse import ParsedMail
from inbox_agent.register.audit import AuditAction, record
from inbox_agent.register.db import Register
from inbox_agent.register.locks import mailbox_lease
from inbox_agent.register.models import (
    SEARCH_TEXT_MAX,
    Disposition,
    MailboxState,
    StoredMessage,
)
from inbox_agent.send import DrainReport, Sender
from inbox_agent.settings import Settings

log = logging.getLogger(__name__)
BATCH_MESSAGES = 50  # messages registered in one transaction (one commit, one fsync)
BATCH_BYTES = 32 * 1024 * 1024  # and at most this much raw mail in hand at once
POOL_MIN_MESSAGES = 100  # a smaller backlog is done before worker processes could start


@dataclass
class PassReport:
    fetch: FetchReport = field(default_factory=FetchReport)
    cases_opened: int = 0
    joined: int = 0
    machine: int = 0
    quarantined: int = 0
    retried: int = 0
    sent: DrainReport = field(default_factory=DrainReport)
    standby: bool = False  # another node holds this mailbox's lease; we only helped drain


class Pipeline:
    """Everything one pass needs, built once from Settings and reused by the scheduler."""

    def __init__(
        self,
        settings: Settings,
        register: Register,
        *,
        clock: Clock = utc_now,
        stop: threading.Event | None = None,
        name: str = SINGLE_MAILBOX,
    ) -> None:
        self.name = name
        self.settings = settings
        self.register = register
        self.clock = clock
        self.stop = stop or threading.Event()
        self.calendar = UkCalendar.from_settings(settings.calendar)
        self.own_addresses = settings.own_addresses
        # mail delivered before this is registered but never answered automatically
        self.acknowledge_since: dt.datetime | None = settings.actions.acknowledge_since
        self.sender = Sender(settings, register, clock=self.clock, stop=self.stop)
        self.lease = mailbox_lease(register, settings.source_name)
        self.backlog_first = False
        self._pool: AnalysisPool | None = None  # workers, for the length of one backlog
        check_protocol_templates(settings)  # a rule naming a missing block fails at start-up

    def fetcher(self) -> ImapFetcher | LocalFetcher:
        s = self.settings
        if s.imap is not None:
            password, tokens = imap_credentials(s)
            return ImapFetcher(
                s.imap,
                password,
                self.register,
                max_bytes=s.poll.max_message_bytes,
                clock=self.clock,
                stop=self.stop,
                tokens=tokens,
                on_search=self._expect,
            )
        assert s.maildir is not None  # Settings guarantees exactly one source
        return LocalFetcher(
            s.maildir.path,
            self.register,
            max_bytes=s.poll.max_message_bytes,
            clock=self.clock,
            stop=self.stop,
        )

    def run_once(self) -> PassReport:
        """One full pass; mailbox errors are recorded on the mailbox state and re-raised.

        Without the mailbox's lease another node is polling it: this node only helps drain
        the outbox (row locks keep the two drains apart) and stands by to take over.
        """
        self.register.ensure_schema()
        report = PassReport()
        if not self.lease.held():
            report.standby = True
            log.debug("event=standby reason=lease_held_elsewhere")
            report.sent = self.sender.drain()
            return report
        # the operator's part first: an error here stops the pass before the mailbox is touched
        check_templates(self.settings)
        if self.backlog_first:  # the last pass stopped on an operator's error with mail in hand
            self.process_pending(report)  # still broken: raises again, the mailbox untouched
            self.backlog_first = False
        fetcher = self.fetcher()
        started = self.clock()
        try:
            report.fetch = fetcher.fetch_new()
        except TransientError as exc:
            self._record_poll(fetcher.account, started, error=str(exc))
            self._close_pool()  # started for a backlog this pass will not reach
            raise
        except BaseException:
            self._close_pool()
            raise
        first_success = self._record_poll(fetcher.account, started, error=None)
        if self.settings.actions.acknowledge_since is None and first_success is not None:
            grace = dt.timedelta(hours=self.settings.actions.first_run_grace_hours)
            self.acknowledge_since = first_success - grace
        log.info(
            "event=fetched seen=%d stored=%d duplicates=%d oversized=%d mailbox_updated=%d",
            report.fetch.seen,
            report.fetch.stored,
            report.fetch.duplicates,
            report.fetch.oversized,
            report.fetch.mailbox_updated,
        )
        self.process_pending(report)
        report.sent = self.sender.drain()
        return report

    def _record_poll(
        self, account: str, started: dt.datetime, error: str | None
    ) -> dt.datetime | None:
        """Record the poll; return when this source first polled successfully."""
        folder = self.settings.imap.folder if self.settings.imap else ""
        with self.register.transaction() as session:
            state = session.scalars(
                select(MailboxState).where(
                    MailboxState.account == account, MailboxState.folder == folder
                )
            ).first()
            if state is None:
                state = MailboxState(account=account, folder=folder)
                session.add(state)
            state.last_poll_at = started
            state.last_error = error
            if error is None:
                state.last_success_at = started
                state.first_success_at = state.first_success_at or started
            return state.first_success_at

    def process_pending(
        self, report: PassReport, progress: Callable[[int, int], None] | None = None
    ) -> None:
        """Each pending message in turn, a batch per transaction; ``progress(done, total)``
        after each batch commits (for ``import``).

        A backlog big enough to pay for the workers' start is analysed (parsed, classified)
        by ``[poll] workers - 1`` processes ahead of the message being registered here.
        """
        with self.register.transaction() as session:
            pending = session.execute(
                select(StoredMessage.id, StoredMessage.size)
                .where(StoredMessage.disposition == Disposition.PENDING)
                .order_by(StoredMessage.id)
            ).all()
        self._expect(len(pending))
        pool = self._pool
        try:
            done = 0
            for batch in _batches([(row.id, row.size) for row in pending]):
                if self.stop.is_set():
                    break
                done += self._process_batch(batch, report, pool)
                if progress is not None:
                    progress(done, len(pending))
        finally:
            self._close_pool()

    def _expect(self, messages: int) -> None:
        """Start the workers for a backlog of ``messages``, if it is worth it and they are not
        running: told by the fetcher as soon as its SEARCH has counted the new mail, so they
        load their models while the mail is still being fetched."""
        workers = self.settings.poll.workers  # the main process is one of them
        if self._pool is None and workers > 1 and messages >= POOL_MIN_MESSAGES:
            self._pool = AnalysisPool(workers - 1)

    def _close_pool(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close()

    def _process_batch(self, ids: list[int], report: PassReport, pool: AnalysisPool | None) -> int:
        """One transaction, one SAVEPOINT per message: a message that fails rolls back alone
        and is quarantined or has its attempt counted in the same transaction, and the batch
        commits everything else. Returns how many of ``ids`` were taken in turn (all of them
        unless the stop was asked for or an operator's error stopped the batch)."""
        stopped_by: OperatorError | None = None
        taken = 0
        with self.register.batch() as session:
            messages = session.scalars(
                select(StoredMessage)
                .where(
                    StoredMessage.id.in_(ids),
                    StoredMessage.disposition == Disposition.PENDING,
                )
                .order_by(StoredMessage.id)
                # a node that lost its lease mid-pass skips what the new holder has taken
                .with_for_update(skip_locked=True)
            ).all()
            ahead = [pool.submit(m.raw, self.own_addresses) if pool else None for m in messages]
            taken = len(ids) - len(messages)  # skipped: handled elsewhere meanwhile
            for message, future in zip(messages, ahead, strict=True):
                if self.stop.is_set():
                    break
                analysis = pool.result(future) if pool else None
                try:
                    outcome = self._process_one(session, message, analysis)
                except OperatorError as exc:
                    stopped_by = exc
                    break
                setattr(report, outcome, getattr(report, outcome) + 1)
                taken += 1
        if stopped_by is not None:
            # the operator must fix something (a template, the time zone): the message's
            # savepoint rolled back, no attempt is counted, the batch before it committed,
            # the pass stops, and the next one takes the stored mail before the mailbox
            self.backlog_first = True
            raise stopped_by
        return taken

    def _process_one(
        self, session: Session, message: StoredMessage, analysis: Analysis | None
    ) -> str:
        """Handle one message in its savepoint; the name of the report counter it adds to."""
        message_id = message.id
        try:
            with session.begin_nested():
                return self._handle(session, message, analysis)
        except SenderError as exc:
            self._quarantine(session, message_id, f"{type(exc).__name__}: {exc}")
            return "quarantined"
        except (TransientError, OperatorError, OperationalError):
            raise  # the database itself is down, or the operator's to fix: stop the pass
        except Exception as exc:  # one message must not stop the inbox
            log.exception("event=process_failed stored_message=%d", message_id)
            exhausted = self._count_attempt(session, message_id, f"{type(exc).__name__}: {exc}")
            return "quarantined" if exhausted else "retried"

    def _handle(self, session: Session, message: StoredMessage, analysis: Analysis | None) -> str:
        now = self.clock()
        if analysis is None:  # no pool, or its worker could not answer: analyse it here
            analysis = analyse(message.raw, self.own_addresses)
        mail, classification = analysis.mail, analysis.classification
        message.sender = mail.sender.email if mail.sender else None
        message.subject = mail.subject[:2000]
        message.search_text = mail.text.lower()[:SEARCH_TEXT_MAX]
        prefix = self.settings.office.reference_prefix
        protocol = self.settings.protocol
        from_force = is_force_disclosure(mail, protocol.force_domains)
        finder = find_disclosure_case if from_force else find_thread_case
        thread = finder(session, mail, prefix)
        received_on = received_local_date(message.received_at, self.settings.office.timezone)
        requester = mail.requester.email if mail.requester else ""
        facts = gather_facts(
            self.settings,
            mail,
            classification,
            received_on,
            thread_case=thread.reference if thread else None,
            delivered_at=message.received_at,
            acknowledge_since=self.acknowledge_since,
            recent_acknowledgements=recent_acknowledgements(session, requester, now),
        )
        decision = decide(facts, self.calendar)
        if decision.action is Action.LOG_MACHINE:
            return self._log_machine(session, message, classification.reasons, now)
        if decision.action is Action.JOIN_CASE and thread is not None:
            join_case(session, thread, message, now)
            if from_force:
                record(
                    session,
                    AuditAction.FORCE_DISCLOSURE_FILED,
                    at=now,
                    case=thread,
                    message=message,
                )
            else:
                note_follow_up(session, self.settings, thread, message, now)
            log.info("event=joined case=%s stored_message=%d", thread.reference, message.id)
            return "joined"
        # the requester's language: this message's own words, else what they wrote in before
        detected = analysis.language or Language.UNKNOWN
        language = preference(detected, requester_language(session, requester))
        case = open_case(
            session,
            message,
            mail,
            decision,
            prefix=prefix,
            reasons=classification.reasons,
            confidence=classification.confidence,
            version=classification.version,
            now=now,
            received_on=received_on,
            language=language,
        )
        if protocol.undeclared_are_public:
            treat_undeclared_as_public(session, case, now)
        queue_actions(
            session, self.settings, case, message, mail, decision, now=now, received_on=received_on
        )
        _log_case(case.reference, mail, decision.category, case.language)
        return "cases_opened"

    def _log_machine(
        self, session: Session, message: StoredMessage, reasons: tuple[str, ...], now: dt.datetime
    ) -> str:
        message.disposition = Disposition.MACHINE
        message.machine_reasons = list(reasons)
        record(
            session, AuditAction.MACHINE_MAIL_LOGGED, at=now, message=message, reasons=list(reasons)
        )
        log.info("event=machine_mail stored_message=%d reasons=%s", message.id, "; ".join(reasons))
        return "machine"

    def _quarantine(self, session: Session, message_id: int, reason: str) -> None:
        message = session.get(StoredMessage, message_id)
        if message is None:
            return
        message.disposition = Disposition.QUARANTINED
        message.error = reason
        record(
            session,
            AuditAction.MESSAGE_QUARANTINED,
            at=self.clock(),
            message=message,
            reason=reason,
        )
        log.warning("event=quarantined stored_message=%d reason=%s", message_id, reason)

    def _count_attempt(self, session: Session, message_id: int, reason: str) -> bool:
        """Record a failed attempt; True when it was the last and the message is shunted."""
        message = session.get(StoredMessage, message_id)
        if message is None:
            return False
        message.attempts += 1
        message.error = reason
        exhausted = message.attempts >= self.settings.poll.max_attempts
        if exhausted:
            self._quarantine(
                session,
                message_id,
                f"gave up after {self.settings.poll.max_attempts} attempts: {reason}",
            )
        return exhausted


def _batches(pending: list[tuple[int, int]]) -> Iterator[list[int]]:
    """Pending ids in order, cut every ``BATCH_MESSAGES`` or once ``BATCH_BYTES`` of raw
    mail is in hand (the batch holds its messages in memory, and SQLite's write lock)."""
    batch: list[int] = []
    size = 0
    for message_id, message_size in pending:
        if batch and (len(batch) >= BATCH_MESSAGES or size + message_size > BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(message_id)
        size += message_size
    if batch:
        yield batch


def _log_case(reference: str, mail: ParsedMail, category: str, language: str) -> None:
    forwarded = " forwarded_by_staff=yes" if mail.forwarded else ""
    log.info(
        "event=case_opened case=%s category=%s language=%s%s",
        reference,
        category,
        language or "unknown",
        forwarded,
    )
