"""Drain the outbox: SMTP (ssl, starttls, plain on loopback) or a local Maildir.

A row is marked sent in its own short transaction straight after the server's 250, so the
window in which a crash can cause a resend is one commit wide. 4xx answers and dropped
connections keep the row queued with backoff until its deadline; 5xx answers fail it at once
and the failure lands on the case's audit trail where staff see it.
"""

from __future__ import annotations

import contextlib
import logging
import mailbox
import smtplib
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from inbox_agent.clock import Clock
from inbox_agent.errors import ConfigError, DeliveryDeferred, InboxAgentError
from inbox_agent.oauth import TokenProvider, smtp_xoauth2_login, token_provider
from inbox_agent.outbox import next_attempt
from inbox_agent.peers import tls_context, tls_mismatch
from inbox_agent.register.audit import AuditAction, insert_event, record
from inbox_agent.register.db import Register
from inbox_agent.register.models import Case, OutboxMessage, OutboxStatus
from inbox_agent.settings import Settings, SmtpSettings

log = logging.getLogger(__name__)


class PermanentFailure(Exception):
    """The server refused this message for good (5xx)."""


class TemporaryFailure(Exception):
    """Try again later (4xx, timeout, connection lost)."""


class Transport(Protocol):
    def deliver(self, envelope_from: str, recipient: str, raw: bytes) -> None: ...

    def close(self) -> None: ...


class MaildirTransport:
    """Shadow mode and the demo: every email lands in a local Maildir, nothing leaves."""

    def __init__(self, path: Path) -> None:
        self.box = mailbox.Maildir(path, create=True)

    def deliver(self, envelope_from: str, recipient: str, raw: bytes) -> None:
        self.box.add(raw)

    def close(self) -> None:
        self.box.close()


class SmtpTransport:
    """One connection per drain, opened lazily, reopened after a failure."""

    def __init__(
        self, cfg: SmtpSettings, password: str | None, tokens: TokenProvider | None = None
    ) -> None:
        self.cfg = cfg
        self.password = password
        self.tokens = tokens  # auth = "oauth2": AUTH XOAUTH2 instead of a password
        self.conn: smtplib.SMTP | None = None

    def verify(self) -> None:
        """Connect and log in exactly as a drain does, then quit (``check-config``)."""
        try:
            self.conn = self._connect()
        except TemporaryFailure as exc:
            raise DeliveryDeferred(str(exc)) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryDeferred(f"cannot reach {self.cfg.host}:{self.cfg.port}: {exc}") from exc
        finally:
            self.close()

    def _connect(self) -> smtplib.SMTP:
        """A connected, logged-in session; a setting that cannot work is a ConfigError, so
        the drain stops with every email still queued instead of failing them one by one."""
        cfg = self.cfg
        try:
            conn = self._open()
        except OSError as exc:  # smtplib's exceptions are OSErrors too
            # smtplib reports a greeting that timed out as "connection unexpectedly closed"
            disconnected = isinstance(exc, smtplib.SMTPServerDisconnected)
            cause = exc.__context__ if disconnected else exc
            if isinstance(cause, OSError):
                mismatch = tls_mismatch("smtp", cfg.host, cfg.port, cfg.security, cause)
                if mismatch is not None:
                    raise mismatch from exc
            raise
        try:
            self._login(conn)
        except smtplib.SMTPAuthenticationError as exc:
            conn.close()
            reply = (
                exc.smtp_error.decode("utf-8", "replace")
                if isinstance(exc.smtp_error, bytes)
                else exc.smtp_error
            )
            raise ConfigError(
                f"smtp.username: login refused for {cfg.username}: {exc.smtp_code} {reply}"
            ) from exc
        except smtplib.SMTPNotSupportedError as exc:
            conn.close()
            raise ConfigError(f"smtp.security: {cfg.host}:{cfg.port}: {exc}") from exc
        return conn

    def _open(self) -> smtplib.SMTP:
        cfg = self.cfg
        context = tls_context(cfg)
        conn: smtplib.SMTP
        if cfg.security == "ssl":
            conn = smtplib.SMTP_SSL(
                cfg.host, cfg.port, timeout=cfg.timeout_seconds, context=context
            )
        else:
            conn = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds)
        conn.ehlo()
        if cfg.security == "starttls":
            if not conn.has_extn("starttls"):
                conn.close()
                raise ConfigError(
                    f"smtp.security: {cfg.host}:{cfg.port} does not offer STARTTLS; use its "
                    'implicit-TLS port (465) with security = "ssl"'
                )
            conn.starttls(context=context)
            conn.ehlo()
        return conn

    def _login(self, conn: smtplib.SMTP) -> None:
        cfg = self.cfg
        if self.tokens is not None:
            try:
                smtp_xoauth2_login(conn, cfg.username or "", self.tokens)
            except InboxAgentError as exc:  # stays queued; the error names [oauth2]
                conn.close()
                raise TemporaryFailure(str(exc)) from exc
        elif cfg.username and self.password:
            conn.login(cfg.username, self.password)

    def deliver(self, envelope_from: str, recipient: str, raw: bytes) -> None:
        try:
            if self.conn is None:
                self.conn = self._connect()
            self._send(self.conn, envelope_from, recipient, raw)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            self._fail(code, text)
        except smtplib.SMTPResponseException as exc:
            self._fail(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise TemporaryFailure(f"connection failed: {exc}") from exc

    def _send(self, conn: smtplib.SMTP, envelope_from: str, recipient: str, raw: bytes) -> None:
        """A non-ASCII address goes with SMTPUTF8; one that cannot go at all fails for good.

        smtplib raises ValueError for an address it cannot put in a command (a CR/LF, or
        non-ASCII without SMTPUTF8): retrying cannot help, and letting it escape would stop
        every later drain at this row.
        """
        utf8 = ["SMTPUTF8"] if not (envelope_from + recipient).isascii() else []
        try:
            conn.sendmail(envelope_from, [recipient], raw, mail_options=utf8)
        except (smtplib.SMTPNotSupportedError, ValueError) as exc:
            self.close()
            raise PermanentFailure(f"cannot be sent to this address: {exc}") from exc

    def _fail(self, code: int, text: bytes | str) -> None:
        message = f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}"
        self.close()
        if 500 <= code < 600:
            raise PermanentFailure(message)
        raise TemporaryFailure(message)

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (smtplib.SMTPException, OSError):
                self.conn.close()
            self.conn = None


def make_transport(settings: Settings) -> Transport:
    cfg = settings.smtp
    if cfg is None:
        return MaildirTransport(settings.source.parent / "outbox")
    if cfg.deliver == "maildir":
        assert cfg.maildir_path is not None  # validated by SmtpSettings
        return MaildirTransport(cfg.maildir_path)
    secret = settings.smtp_password
    tokens = token_provider(settings) if cfg.auth == "oauth2" else None
    return SmtpTransport(cfg, secret.get_secret_value() if secret else None, tokens)


@dataclass(frozen=True)
class _Due:
    """One row about to go, read before the SMTP exchange so none of it is read in the window."""

    row_id: int
    case_id: int | None
    reference: str
    kind: str
    message_id: str
    recipient: str
    raw: bytes


@dataclass
class DrainReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0


class Sender:
    def __init__(
        self,
        settings: Settings,
        register: Register,
        *,
        clock: Clock,
        stop: threading.Event | None = None,
    ) -> None:
        self.settings = settings
        self.register = register
        self.clock = clock
        self.stop = stop or threading.Event()
        self.envelope_from = settings.from_address

    def drain(self) -> DrainReport:
        """Send what is due; stop at the first connection failure (the rest wait their turn)."""
        report = DrainReport()
        now = self.clock()
        with self.register.transaction() as session:
            due = list(
                session.scalars(
                    select(OutboxMessage.id)
                    .where(
                        OutboxMessage.status == OutboxStatus.QUEUED,
                        OutboxMessage.next_attempt_at <= now,
                    )
                    .order_by(OutboxMessage.id)
                )
            )
        if not due:
            return report
        transport = make_transport(self.settings)
        try:
            for row_id in due:
                if self.stop.is_set() or not self._send_one(transport, row_id, report):
                    break
        finally:
            transport.close()
        return report

    def _send_one(self, transport: Transport, row_id: int, report: DrainReport) -> bool:
        """Send one row; False when the connection failed and the drain should stop.

        On PostgreSQL another node may be draining the same outbox: the row is claimed with
        ``FOR UPDATE SKIP LOCKED`` and the lock is held across the SMTP exchange until the
        outcome commits, so the other node skips it and nothing is sent twice. SQLite is one
        node, and its read-then-write transaction could not be kept open across the exchange
        (a writer in between would fail the commit after the 250), so there the row is read,
        sent, and recorded in a second short transaction.
        """
        if self.register.shared:  # another node may be draining this outbox too
            with self.register.transaction() as session:
                due = self._claim(session, row_id, lock=True)
                return due is None or self._exchange(transport, due, report, session)
        with self.register.transaction() as session:
            due = self._claim(session, row_id, lock=False)
        return due is None or self._exchange(transport, due, report, None)

    def _claim(self, session: Session, row_id: int, *, lock: bool) -> _Due | None:
        """The row, if it is still due, with its case's reference: one Core statement (no
        ORM objects), because it runs once per email of a drain."""
        query = (
            select(
                OutboxMessage.id,
                OutboxMessage.case_id,
                Case.reference,
                OutboxMessage.kind,
                OutboxMessage.message_id,
                OutboxMessage.recipient,
                OutboxMessage.raw,
            )
            .outerjoin(Case, Case.id == OutboxMessage.case_id)
            .where(
                OutboxMessage.id == row_id,
                OutboxMessage.status == OutboxStatus.QUEUED,
                OutboxMessage.next_attempt_at <= self.clock(),  # another node may have deferred it
            )
        )
        if lock:
            query = query.with_for_update(skip_locked=True, of=OutboxMessage)
        row = session.execute(query).first()
        if row is None:
            return None
        return _Due(
            row.id,
            row.case_id,
            row.reference or "-",
            row.kind,
            row.message_id,
            row.recipient,
            row.raw,
        )

    def _exchange(
        self, transport: Transport, due: _Due, report: DrainReport, session: Session | None
    ) -> bool:
        """Deliver and record the outcome in ``session`` (the claim's), else in a new one."""
        try:
            transport.deliver(self.envelope_from, due.recipient, due.raw)
        except PermanentFailure as exc:
            with self._recording(session) as record:
                self._fail(record, due.row_id, str(exc))
            report.failed += 1
            return True
        except TemporaryFailure as exc:
            with self._recording(session) as record:
                self._defer(record, due.row_id, str(exc))
            report.deferred += 1
            return False
        with self._recording(session) as record:
            self._mark_sent(record, due)
        # logged after the commit: nothing more in the window than it needs
        log.info("event=email_sent case=%s outbox=%d error=None", due.reference, due.row_id)
        report.sent += 1
        return True

    def _recording(self, session: Session | None) -> contextlib.AbstractContextManager[Session]:
        return contextlib.nullcontext(session) if session else self.register.transaction()

    def _mark_sent(self, session: Session, due: _Due) -> None:
        """The server said 250: record it with two writes and no reads, and commit at once.

        Until this commits, a crash sends the email again (with the same Message-ID), so the
        transaction holds nothing that could have been done before the SMTP exchange.
        """
        now = self.clock()
        conn = session.connection()  # Core statements: no ORM bookkeeping in the window
        conn.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == due.row_id)
            .values(
                status=OutboxStatus.SENT,
                attempts=OutboxMessage.attempts + 1,
                last_error=None,
                sent_at=now,
            )
        )
        insert_event(
            conn,
            AuditAction.EMAIL_SENT,
            at=now,
            case_id=due.case_id,
            kind=due.kind,
            outbox=due.row_id,
            message_id=due.message_id,
            error=None,
        )

    def _fail(self, session: Session, row_id: int, error: str) -> None:
        """Refused for good, or out of retries: on the case's trail, where staff will see it."""
        now = self.clock()
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        row.status, row.attempts, row.last_error = OutboxStatus.FAILED, row.attempts + 1, error
        case = session.get(Case, row.case_id) if row.case_id else None
        record(
            session,
            AuditAction.EMAIL_FAILED,
            at=now,
            case=case,
            kind=row.kind,
            outbox=row.id,
            message_id=row.message_id,
            error=error,
        )
        reference = case.reference if case else "-"
        log.error("event=email_failed case=%s outbox=%d error=%s", reference, row_id, error)

    def _defer(self, session: Session, row_id: int, error: str) -> None:
        now = self.clock()
        row = session.get(OutboxMessage, row_id)
        assert row is not None
        retry_at = next_attempt(row.attempts + 1, now)
        expired = retry_at > row.give_up_at
        if not expired:  # a give-up is counted and recorded once, by _fail
            row.attempts += 1
            row.last_error = error
            row.next_attempt_at = retry_at
        case_id = row.case_id
        if expired:
            self._fail(session, row_id, f"gave up at the retry deadline: {error}")
        else:
            log.warning(
                "event=email_deferred outbox=%d case_id=%s error=%s", row_id, case_id, error
            )
