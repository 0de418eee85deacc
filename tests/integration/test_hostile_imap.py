"""Hostile mail through a real Dovecot and a real SMTP server (aiosmtpd).

The size limit is enforced on the server's own count (RFC822.SIZE): a message over
``poll.max_message_bytes`` is quarantined with its headers kept and never downloaded whole,
one just under it is registered. Generated hostile mail, including sender addresses no SMTP
command should carry, reaches the SMTP server only as clean single-recipient transactions
whose headers are ours alone; and an address the server cannot take fails that one email
for good instead of stopping the outbox.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from imapclient.exceptions import IMAPClientError
from servers import LOCALHOST, DovecotServer, SmtpSink, free_port
from sqlalchemy import select
from support.builders import INBOX, imap_settings, message, smtp_config
from support.hostile import (
    QUESTION,
    SENDER,
    assert_no_injected_header,
    broken_mime,
    injection_message,
    wrong_charset,
)

from inbox_agent.pipeline import Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.models import (
    Disposition,
    LedgerEntry,
    OutboxMessage,
    OutboxStatus,
    StoredMessage,
)
from inbox_agent.settings import Settings

pytestmark = pytest.mark.integration

MIB = 1024 * 1024
LIMIT = 50 * MIB  # poll.max_message_bytes by default
PROCESSED = "Registered"


def _settings(url: str, dovecot: DovecotServer, smtp_port: int) -> Settings:
    return imap_settings(
        url,
        dovecot.host,
        dovecot.port,
        dovecot.user,
        dovecot.password,
        smtp=smtp_config(LOCALHOST, smtp_port),
        processed_folder=PROCESSED,
        timeout_seconds=120.0,
    )


def _stored(register: Register, *, sha: str = "", message_id: str = "") -> StoredMessage:
    with register.transaction() as s:
        query = select(StoredMessage)
        if sha:
            query = query.where(StoredMessage.sha256 == sha)
        if message_id:
            query = query.where(StoredMessage.message_id == message_id)
        return s.scalars(query).one()


# ------------------------------------------------------------------------ size limit


def _sized(target: int, subject: str, sender: str) -> bytes:
    """A message of exactly ``target`` bytes (CRLF lines, as IMAP counts them)."""
    head = (
        f"From: {sender}\r\nTo: {INBOX}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '-')}@example.test>\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="size"\r\n\r\n'
        f"--size\r\nContent-Type: text/plain\r\n\r\n{QUESTION}\r\n"
        "--size\r\nContent-Type: application/octet-stream\r\n"
        'Content-Disposition: attachment; filename="evidence.bin"\r\n'
        "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode()
    tail = b"\r\n--size--\r\n"
    room = target - len(head) - len(tail)
    line = b"A" * 76 + b"\r\n"
    body = line * (room // len(line))
    body += b"A" * (room - len(body))  # a short last line
    raw = head + body + tail
    assert len(raw) == target
    return raw


def test_over_the_size_limit_is_quarantined_with_headers_kept_and_just_under_is_registered(
    dovecot: DovecotServer, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'register.sqlite3'}"
    settings = _settings(url, dovecot, smtp_sink.port)
    assert settings.poll.max_message_bytes == LIMIT
    big = _sized(LIMIT + MIB, "Too big", "Big Sender <big@example.com>")  # 51 MiB
    under = _sized(LIMIT - 64 * 1024, "Just under", "Under Sender <under@example.com>")
    follow = message(
        "Next Person <next@example.com>",
        "A question",
        QUESTION,
        message_id="<after-the-big-ones@example.test>",
    )
    for raw in (big, under, follow):
        dovecot.append("INBOX", raw)

    register = Register(url)
    try:
        report = Pipeline(settings, register).run_once()
        assert report.fetch.oversized == 1
        assert report.retried == 0

        kept = _stored(register, message_id="<Too-big@example.test>")
        assert kept.disposition == Disposition.QUARANTINED
        assert "exceeds poll.max_message_bytes" in (kept.error or "")
        assert f"{LIMIT + MIB} bytes" in (kept.error or "")
        assert kept.raw == big[: big.index(b"\r\n\r\n") + 4], "the header block, all of it"
        assert kept.size < 4096

        whole = _stored(register, message_id="<Just-under@example.test>")
        assert whole.disposition == Disposition.CASE
        assert whole.raw == under, "registered byte for byte"
        assert _stored(register, message_id="<after-the-big-ones@example.test>").disposition == (
            Disposition.CASE
        )
    finally:
        register.dispose()
    assert dovecot.uids("INBOX") == []
    assert len(dovecot.uids(PROCESSED)) == 3, "the big one stays on the server, whole"
    acks = sorted(r for m in smtp_sink.wait_for_messages(2) for r in m.rcpt_tos)
    assert acks == ["next@example.com", "under@example.com"]


# ------------------------------------------------------------------ the SMTP envelope


_ADDRESSES = [
    "josé@example.com",  # a non-ASCII mailbox: needs SMTPUTF8
    "user@exämple.com",
    '"quoted local part"@example.com',
    "user+tag@example.com",
    "user@[127.0.0.1]",
    "UPPER.CASE@EXAMPLE.COM",
    "a@b",
    "x@example.com\r\nRCPT TO:<victim@example.net>",
    "x@example.com>\r\nBcc: <victim@example.net",
    "<>",
    "",
]


@dataclass
class Peers:
    dovecot: DovecotServer
    sink: SmtpSink
    register: Register
    pipeline: Pipeline
    serial: int = 0
    received: int = 0


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peers]:
    """One Dovecot, SMTP sink and register for every generated example."""
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile-imap') / 'register.sqlite3'}"
    with DovecotServer() as dovecot, SmtpSink() as sink:
        register = Register(url)
        try:
            yield Peers(
                dovecot, sink, register, Pipeline(_settings(url, dovecot, sink.port), register)
            )
        finally:
            register.dispose()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    raw=injection_message() | wrong_charset() | broken_mime(),
    address=st.sampled_from(_ADDRESSES),
)
def test_hostile_senders_reach_the_smtp_server_only_as_clean_transactions(
    peers: Peers, raw: bytes, address: str
) -> None:
    peers.serial += 1
    raw = raw.replace(SENDER, address.encode()).replace(b"\x00", b"?")  # IMAP has no NUL
    follower = f"<follower{peers.serial}@example.test>"
    try:
        uid = peers.dovecot.append("INBOX", raw)
    except IMAPClientError:
        assume(False)  # Dovecot refused it (an empty message): nothing for the daemon to see
    peers.dovecot.append(
        "INBOX",
        message(
            f"Next <next{peers.serial}@example.com>", "A question", QUESTION, message_id=follower
        ),
    )
    report = peers.pipeline.run_once()
    assert report.retried == 0
    with peers.register.transaction() as session:  # Dovecot may have mended line endings
        hostile = session.scalars(
            select(StoredMessage)
            .join(LedgerEntry, LedgerEntry.stored_message_id == StoredMessage.id)
            .where(LedgerEntry.uid == uid)
        ).one()
    assert hostile.disposition in (Disposition.CASE, Disposition.MACHINE, Disposition.QUARANTINED)
    event(f"hostile message: {hostile.disposition}")
    assert _stored(peers.register, message_id=follower).disposition == Disposition.CASE

    with peers.register.transaction() as s:
        stuck = s.scalars(
            select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.QUEUED)
        ).all()
    assert stuck == [], "nothing waits behind a bad address"
    received = peers.sink.messages[peers.received :]
    peers.received += len(received)
    assert f"next{peers.serial}@example.com" in {r for m in received for r in m.rcpt_tos}
    for got in received:
        (rcpt,) = got.rcpt_tos
        assert not any(c in rcpt for c in "\r\n\x00"), rcpt
        assert_no_injected_header(got.data, rcpt)


# ------------------------------------------------------------------------- SMTPUTF8


class _Recorder:
    def __init__(self) -> None:
        self.rcpts: list[str] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.rcpts.extend(envelope.rcpt_tos)
        return "250 OK"


@pytest.fixture
def ascii_only_smtp() -> Iterator[tuple[int, _Recorder]]:
    """A real aiosmtpd server that does not offer SMTPUTF8."""
    recorder = _Recorder()
    controller = Controller(recorder, hostname=LOCALHOST, port=free_port(), enable_SMTPUTF8=False)
    controller.start()
    try:
        yield controller.port, recorder
    finally:
        controller.stop()


def _eai_mailbox(dovecot: DovecotServer) -> None:
    raw = (
        f"From: José <josé@example.com>\r\nTo: {INBOX}\r\nSubject: Officers\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{QUESTION}\r\n"
    ).encode()
    dovecot.append("INBOX", raw)
    dovecot.append("INBOX", message("Ann <ann@example.com>", "Budget", QUESTION))


def test_a_non_ascii_address_is_acknowledged_over_smtputf8(
    dovecot: DovecotServer, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'register.sqlite3'}"
    _eai_mailbox(dovecot)
    register = Register(url)
    try:
        report = Pipeline(_settings(url, dovecot, smtp_sink.port), register).run_once()
    finally:
        register.dispose()
    assert report.sent.sent == 2
    rcpts = sorted(r for m in smtp_sink.wait_for_messages(2) for r in m.rcpt_tos)
    assert rcpts == ["ann@example.com", "josé@example.com"]


def test_an_address_the_server_cannot_take_fails_alone_and_the_outbox_moves_on(
    dovecot: DovecotServer, ascii_only_smtp: tuple[int, _Recorder], tmp_path: Path
) -> None:
    port, recorder = ascii_only_smtp
    url = f"sqlite:///{tmp_path / 'register.sqlite3'}"
    _eai_mailbox(dovecot)
    register = Register(url)
    try:
        pipeline = Pipeline(_settings(url, dovecot, port), register)
        report = pipeline.run_once()
        assert (report.sent.sent, report.sent.failed) == (1, 1)
        assert recorder.rcpts == ["ann@example.com"]
        with register.transaction() as s:
            failed = s.scalars(
                select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.FAILED)
            ).one()
        assert failed.recipient == "josé@example.com"
        assert "SMTPUTF8" in (failed.last_error or "")
        assert pipeline.run_once().sent.sent == 0, "a permanent failure is not retried"
    finally:
        register.dispose()
