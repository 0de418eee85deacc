"""What the daemon sends on its own, against a real Dovecot and a real SMTP server (aiosmtpd).

Acknowledgements to people and never to machines, the PARO forward with the original intact,
the brake on ping-pong with autoresponders, the outbox surviving SMTP faults, replies joining
their case, and the first-run cut-off.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from servers import DovecotServer, ReceivedMessage, SmtpSink, free_port
from sqlalchemy import func, select
from support.builders import HUMAN, INBOX, MACHINE, PARO, imap_settings, message, smtp_config
from support.clock import FakeClock

from inbox_agent.pipeline import Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.models import (
    AuditEvent,
    Case,
    Disposition,
    OutboxMessage,
    OutboxStatus,
    StoredMessage,
)
from inbox_agent.send import DrainReport
from inbox_agent.settings import Settings

pytestmark = pytest.mark.integration

SINK_TIMEOUT_S = 5.0
BSD = ("arf-01.eml", "lhost-postfix-01.eml", "lhost-exim-01.eml", "rfc3834-01.eml")

ELECTORAL = (
    "Dee Agent <dee@example.org>",
    "Nomination papers and deposit",
    "I am the election agent for a candidate. When must the nomination papers be delivered to "
    "the Police Area Returning Officer, and how is the £5,000 deposit paid? When do postal "
    "votes go out?\n\nZoë Dee\n",
)
MEDIA = (
    "Eve Journalist <eve@news.example.com>",
    "Press enquiry",
    "I am a journalist at the Testshire Gazette. Could your press office give a comment for an "
    "article on the commissioner's spending?",
)
MEETING = (
    "Fay Candidate <fay@example.com>",
    "Request for a meeting",
    "I am standing as a candidate. Could I arrange a meeting with the Chief Constable to "
    "discuss rural crime?",
)
STAFF_FORWARD = message(
    "Pat Staff <pat.staff@opcc.testshire.example.org>",
    "FW: Police budget question",
    "Please log this one for the election register.\n\nPat\n\n"
    "-----Original Message-----\n"
    "From: Quinn Public <quinn@example.net>\n"
    "Sent: 01 April 2027 09:12\n"
    "To: Pat Staff <pat.staff@opcc.testshire.example.org>\n"
    "Subject: Police budget question\n\n"
    "Hello, how much of the police budget goes on rural crime this year?\n\nQuinn\n",
    message_id="<fw1@opcc.testshire.example.org>",
)


@pytest.fixture
def sqlite_register(tmp_path: Path) -> Iterator[Register]:
    reg = Register(f"sqlite:///{tmp_path / 'register.sqlite3'}")
    yield reg
    reg.dispose()


def _settings(
    register: Register,
    dovecot: DovecotServer,
    smtp_port: int,
    **actions: Any,
) -> Settings:
    return imap_settings(
        register.engine.url.render_as_string(hide_password=False),
        dovecot.host,
        dovecot.port,
        dovecot.user,
        dovecot.password,
        smtp=smtp_config("127.0.0.1", smtp_port),
        actions=actions or None,
    )


def _parsed(received: ReceivedMessage) -> EmailMessage:
    parsed = email.message_from_bytes(received.data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _acks(sink: SmtpSink) -> list[tuple[str, EmailMessage]]:
    """(recipient, message) for every acknowledgement the sink accepted, oldest first."""
    out = []
    for received in sink.messages:
        parsed = _parsed(received)
        if parsed["Auto-Submitted"] == "auto-replied":
            assert len(received.rcpt_tos) == 1
            out.append((received.rcpt_tos[0], parsed))
    return out


def _append(
    dovecot: DovecotServer, entries: list[tuple[str, str, str]], prefix: str
) -> dict[str, str]:
    """Append human messages; return {sender address: Message-ID}."""
    ids = {}
    for i, (sender, subject, body) in enumerate(entries):
        message_id = f"<{prefix}{i}@example.test>"
        dovecot.append("INBOX", message(sender, subject, body, message_id=message_id))
        ids[email.utils.parseaddr(sender)[1]] = message_id
    return ids


def _cases(register: Register) -> list[Case]:
    with register.transaction() as s:
        return list(s.scalars(select(Case).order_by(Case.id)))


def _events(register: Register, action: str) -> list[AuditEvent]:
    with register.transaction() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _outbox(register: Register) -> list[OutboxMessage]:
    with register.transaction() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def _attached_original(data: bytes) -> bytes:
    """The message/rfc822 part's body exactly as it travelled, cut out of the raw bytes.

    The delimiter is CRLF + "--" + boundary (RFC 2046 5.1.1: the CRLF before it belongs to
    the delimiter), so the bytes between the part's blank line and the next delimiter are the
    attachment's own bytes, untouched by any parser.
    """
    boundary = email.message_from_bytes(data).get_boundary()
    assert boundary, "the PARO forward must be multipart"
    for piece in data.split(b"\r\n--" + boundary.encode("ascii"))[1:]:
        head, blank, body = piece.partition(b"\r\n\r\n")
        if blank and b"message/rfc822" in head.lower():
            return body
    raise AssertionError("no message/rfc822 part in the PARO forward")


# ------------------------------------------------------------------------ 1. acknowledgements


@pytest.fixture
def register(db_url: str) -> Iterator[Register]:
    reg = Register(db_url)
    yield reg
    reg.dispose()


def test_each_person_gets_one_acknowledgement_and_machines_none(
    dovecot: DovecotServer, smtp_sink: SmtpSink, register: Register, corpora_dir: Path
) -> None:
    people = [*HUMAN, ELECTORAL, MEDIA, MEETING]
    original_ids = _append(dovecot, people, "h")
    dovecot.append("INBOX", STAFF_FORWARD)
    machine_senders = set()
    for i, (sender, subject, body, headers) in enumerate(MACHINE):
        dovecot.append(
            "INBOX", message(sender, subject, body, message_id=f"<m{i}@x>", headers=headers)
        )
        machine_senders.add(email.utils.parseaddr(sender)[1])
    bsd = corpora_dir / "sisimai" / "maildir" / "bsd"
    for name in BSD:
        raw = (bsd / name).read_bytes()
        dovecot.append("INBOX", raw)
        machine_senders.add(
            email.utils.parseaddr(str(email.message_from_bytes(raw)["From"]))[1].lower()
        )
    settings = _settings(register, dovecot, smtp_sink.port)

    report = Pipeline(settings, register).run_once()

    cases = {c.requester_email: c for c in _cases(register)}
    requesters = {*original_ids, "quinn@example.net"}
    assert set(cases) == requesters
    assert "electoral_process" in {c.category for c in cases.values()}
    paro_rows = [r for r in _outbox(register) if r.kind == "paro_forward"]
    confident_electoral = [
        c for c in cases.values() if c.category == "electoral_process" and not c.needs_review
    ]
    assert len(paro_rows) == len(confident_electoral) >= 1
    expected = len(requesters) + len(paro_rows)
    assert report.sent.sent == expected
    received = smtp_sink.wait_for_messages(expected, timeout=SINK_TIMEOUT_S)
    assert len(received) == expected
    acks = _acks(smtp_sink)
    assert sorted(rcpt for rcpt, _ in acks) == sorted(requesters), "exactly one each"
    assert all(rcpt in requesters | {PARO} for m in received for rcpt in m.rcpt_tos)
    assert not machine_senders & {r for m in received for r in m.rcpt_tos}
    assert "pat.staff@opcc.testshire.example.org" not in {r for m in received for r in m.rcpt_tos}
    for rcpt, ack in acks:
        assert cases[rcpt].reference in ack["Subject"]
        assert ack["Auto-Submitted"] == "auto-replied"
        assert email.utils.parseaddr(ack["From"])[1] == INBOX
        if rcpt == "quinn@example.net":
            # the requester never saw the staff forward: threading on it would mislead
            assert ack["In-Reply-To"] is None
        else:
            assert ack["In-Reply-To"] == original_ids[rcpt]

    again = Pipeline(settings, register).run_once()
    assert again.sent.sent == 0
    assert len(smtp_sink.messages) == expected
    assert len(_cases(register)) == len(requesters)


# ------------------------------------------------------------------------ 2. PARO forward


def _eight_bit(sender: str, subject: str, body: str, message_id: str) -> bytes:
    """A message as many clients send it: UTF-8 body in 8bit, no transfer encoding."""
    head = (
        f"From: {sender}\nTo: {INBOX}\nSubject: {subject}\n"
        "Date: Thu, 01 Apr 2027 10:00:00 +0100\n"
        f"Message-ID: {message_id}\nMIME-Version: 1.0\n"
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
    )
    return (head + body).encode("utf-8")


def test_electoral_process_message_reaches_the_paro_byte_for_byte(
    dovecot: DovecotServer, smtp_sink: SmtpSink, sqlite_register: Register
) -> None:
    dovecot.append("INBOX", _eight_bit(*ELECTORAL, message_id="<elec@example.org>"))
    held = dovecot.fetch_raw("INBOX")
    assert len(held) == 1
    original = next(iter(held.values()))
    assert "£".encode() in original, "the test wants 8-bit bytes in the original"

    Pipeline(_settings(sqlite_register, dovecot, smtp_sink.port), sqlite_register).run_once()

    smtp_sink.wait_for_messages(2, timeout=SINK_TIMEOUT_S)
    (case,) = _cases(sqlite_register)
    assert case.category == "electoral_process"
    forwards = [m for m in smtp_sink.messages if m.rcpt_tos == (PARO,)]
    assert len(forwards) == 1
    parsed = _parsed(forwards[0])
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert case.reference in parsed["Subject"]
    parts = [p.get_content_type() for p in parsed.walk()]
    assert parts.count("message/rfc822") == 1
    # Dovecot hands out CRLF line endings and SMTP carries CRLF, so no normalising is needed:
    # the attachment must be the very bytes the mailbox holds.
    assert _attached_original(forwards[0].data) == original
    assert [rcpt for rcpt, _ in _acks(smtp_sink)] == ["dee@example.org"]


# ------------------------------------------------------------------------ 3. autoresponder


def _bot_message(n: int) -> bytes:
    """A careless autoresponder: no RFC 3834 headers, a fresh subject, no thread, and text
    that reads like a person's (the worst case: neither headers nor wording give it away)."""
    return message(
        "Helpdesk <helpdesk@bot.example.com>",
        f"Question {1000 + n} about the police budget",
        "Hello, could you tell me how much the police budget for neighbourhood teams is this "
        f"year? Ref {1000 + n}.\nThanks, Sam",
        message_id=f"<ticket{1000 + n}@bot.example.com>",
    )


def test_autoresponder_ping_pong_stops_at_the_daily_cap(
    dovecot: DovecotServer, smtp_sink: SmtpSink, sqlite_register: Register
) -> None:
    bot = "helpdesk@bot.example.com"
    settings = _settings(sqlite_register, dovecot, smtp_sink.port)
    cap = settings.actions.max_acknowledgements_per_sender_per_day
    assert cap == 3
    pipeline = Pipeline(settings, sqlite_register)
    dovecot.append("INBOX", _bot_message(0))
    answered = 0
    rounds = 0
    for attempt in range(1, 11):  # bounded: a broken brake fails the count, not the clock
        rounds = attempt
        pipeline.run_once()
        to_bot = [rcpt for rcpt, _ in _acks(smtp_sink) if rcpt == bot]
        if len(to_bot) == answered:
            break
        for _ in range(len(to_bot) - answered):  # the bot answers every acknowledgement
            answered += 1
            dovecot.append("INBOX", _bot_message(answered))
    assert answered == cap
    assert rounds == cap + 1, "the loop must end on its own once the cap is reached"
    assert len(_cases(sqlite_register)) == cap + 1

    # the bot keeps writing on its own; a person writing the same day is still answered
    dovecot.append("INBOX", _bot_message(answered + 1))
    dovecot.append("INBOX", _bot_message(answered + 2))
    _append(dovecot, [HUMAN[0]], "person")
    pipeline.run_once()
    assert len(_cases(sqlite_register)) == cap + 4, "later messages are still registered"
    acks = [rcpt for rcpt, _ in _acks(smtp_sink)]
    assert acks.count(bot) == cap
    assert acks.count("ann@example.com") == 1
    withheld = _events(sqlite_register, "acknowledgement_withheld")
    assert len(withheld) == 3
    for event in withheld:
        assert any(f"cap {cap}" in reason for reason in event.detail["reasons"])


# ------------------------------------------------------------------------ 4. SMTP faults


def _two_cases(dovecot: DovecotServer) -> None:
    """Three emails: an acknowledgement, then an acknowledgement and a PARO forward."""
    _append(dovecot, [HUMAN[0], ELECTORAL], "f")


def test_temporary_failures_retry_with_backoff_and_deliver_once(
    dovecot: DovecotServer, smtp_sink: SmtpSink, sqlite_register: Register
) -> None:
    _two_cases(dovecot)
    clock = FakeClock(dt.datetime.now(dt.UTC))
    pipeline = Pipeline(
        _settings(sqlite_register, dovecot, smtp_sink.port), sqlite_register, clock=clock
    )
    smtp_sink.fail_next(421, "4.3.2 Service shutting down", stage="MAIL")
    smtp_sink.fail_next(451, "4.3.0 Try again later", stage="DATA")

    first = pipeline.run_once()  # row 1 meets the 421; the drain stops at the dead connection
    assert (first.sent.sent, first.sent.deferred) == (0, 1)
    clock.advance(dt.timedelta(seconds=5))
    second = pipeline.run_once()  # row 1 is backing off (30 s); row 2 meets the 451
    assert (second.sent.sent, second.sent.deferred) == (0, 1)
    assert smtp_sink.messages == []
    rows = _outbox(sqlite_register)
    assert len(rows) == 3
    assert [r.attempts for r in rows] == [1, 1, 0]
    assert all(r.status == OutboxStatus.QUEUED for r in rows)

    clock.advance(dt.timedelta(minutes=10))
    third = pipeline.run_once()
    assert third.sent.sent == 3
    clock.advance(dt.timedelta(hours=2))
    assert pipeline.run_once().sent.sent == 0

    received = smtp_sink.wait_for_messages(3, timeout=SINK_TIMEOUT_S)
    assert len(received) == 3
    ids = sorted(str(_parsed(m)["Message-ID"]) for m in received)
    rows = _outbox(sqlite_register)
    assert ids == sorted(r.message_id for r in rows), "each email exactly once"
    assert [r.status for r in rows] == [OutboxStatus.SENT] * 3
    assert [r.attempts for r in rows] == [2, 2, 1]


def test_permanent_failure_is_recorded_and_never_retried(
    dovecot: DovecotServer, smtp_sink: SmtpSink, sqlite_register: Register
) -> None:
    _two_cases(dovecot)
    clock = FakeClock(dt.datetime.now(dt.UTC))
    pipeline = Pipeline(
        _settings(sqlite_register, dovecot, smtp_sink.port), sqlite_register, clock=clock
    )
    smtp_sink.fail_next(550, "5.1.1 No such user", stage="RCPT")

    report = pipeline.run_once()
    assert (report.sent.sent, report.sent.failed) == (2, 1), "a 5xx does not hold back the rest"
    failed, *others = _outbox(sqlite_register)
    assert failed.status == OutboxStatus.FAILED
    assert failed.recipient == "ann@example.com"
    assert "550" in (failed.last_error or "")
    assert [r.status for r in others] == [OutboxStatus.SENT, OutboxStatus.SENT]
    events = _events(sqlite_register, "email_failed")
    assert len(events) == 1
    assert events[0].case_id == failed.case_id
    assert "550" in events[0].detail["error"]

    for _ in range(3):
        clock.advance(dt.timedelta(hours=2))
        assert pipeline.run_once().sent == DrainReport()
    assert len(smtp_sink.messages) == 2
    assert "ann@example.com" not in {r for m in smtp_sink.messages for r in m.rcpt_tos}
    assert _outbox(sqlite_register)[0].attempts == 1


def test_smtp_down_for_a_whole_run_loses_nothing(
    dovecot: DovecotServer, smtp_sink: SmtpSink, sqlite_register: Register
) -> None:
    _two_cases(dovecot)
    clock = FakeClock(dt.datetime.now(dt.UTC))
    dead_port = free_port()  # nothing listens here: every connection is refused
    down = Pipeline(_settings(sqlite_register, dovecot, dead_port), sqlite_register, clock=clock)

    report = down.run_once()
    assert report.cases_opened == 2
    assert (report.sent.sent, report.sent.deferred) == (0, 1)
    rows = _outbox(sqlite_register)
    assert len(rows) == 3
    assert all(r.status == OutboxStatus.QUEUED for r in rows)
    assert "connection failed" in (rows[0].last_error or "")

    clock.advance(dt.timedelta(minutes=5))
    up = Pipeline(_settings(sqlite_register, dovecot, smtp_sink.port), sqlite_register, clock=clock)
    assert up.run_once().sent.sent == 3
    received = smtp_sink.wait_for_messages(3, timeout=SINK_TIMEOUT_S)
    assert sorted(r for m in received for r in m.rcpt_tos) == sorted(
        ["ann@example.com", "dee@example.org", PARO]
    )
    assert all(r.status == OutboxStatus.SENT for r in _outbox(sqlite_register))


# ------------------------------------------------------------------------ 5. replies


def _reply_headers(variant: str, ack: EmailMessage, reference: str) -> tuple[str, dict[str, str]]:
    ack_id = str(ack["Message-ID"])
    if variant == "client_threads":  # a mail client that keeps References
        return f"Re: {ack['Subject']}", {
            "In-Reply-To": ack_id,
            "References": f"{ack['References']} {ack_id}",
        }
    if variant == "in_reply_to_only":  # a client that keeps only the parent, new subject
        return "One more thing", {"In-Reply-To": ack_id}
    assert variant == "reference_in_subject"  # a fresh message quoting the reference
    return f"About my request {reference}", {}


@pytest.mark.parametrize("variant", ["client_threads", "in_reply_to_only", "reference_in_subject"])
def test_reply_to_our_acknowledgement_joins_the_case_without_a_new_one(
    variant: str, dovecot: DovecotServer, smtp_sink: SmtpSink, sqlite_register: Register
) -> None:
    sender = MEETING[0]
    _append(dovecot, [MEETING], "r")
    pipeline = Pipeline(_settings(sqlite_register, dovecot, smtp_sink.port), sqlite_register)
    pipeline.run_once()
    ((_, ack),) = _acks(smtp_sink)
    (case,) = _cases(sqlite_register)

    reply_subject, headers = _reply_headers(variant, ack, case.reference)
    plain = ack.get_body(("plain",))
    assert plain is not None
    quoted = "\n".join(f"> {line}" for line in str(plain.get_content()).splitlines())
    reply = message(
        sender,
        reply_subject,
        f"Thank you. Could the meeting be on a Friday?\n\n{quoted}\n",
        message_id="<reply1@example.com>",
        headers=headers,
    )
    dovecot.append("INBOX", reply)
    report = pipeline.run_once()

    assert report.joined == 1
    assert report.cases_opened == 0
    assert [c.reference for c in _cases(sqlite_register)] == [case.reference]
    with sqlite_register.transaction() as s:
        stored = s.scalars(
            select(StoredMessage).where(StoredMessage.message_id == "<reply1@example.com>")
        ).one()
        assert (stored.case_id, stored.disposition) == (case.id, Disposition.CASE)
    assert len(_events(sqlite_register, "message_joined_case")) == 1
    assert len(smtp_sink.messages) == 1, "no second acknowledgement"


# ------------------------------------------------------------------------ 6. first-run cut-off


def _count(register: Register, model: type[Any]) -> int:
    with register.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_mail_before_acknowledge_since_is_registered_not_answered(
    dovecot: DovecotServer, smtp_sink: SmtpSink, sqlite_register: Register
) -> None:
    _append(dovecot, [*HUMAN, ELECTORAL], "old")
    since = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    settings = _settings(
        sqlite_register, dovecot, smtp_sink.port, acknowledge_since=since.isoformat()
    )
    report = Pipeline(settings, sqlite_register).run_once()

    assert report.cases_opened == len(HUMAN) + 1
    assert _count(sqlite_register, OutboxMessage) == 0, "no acknowledgement, no PARO forward"
    assert smtp_sink.messages == []
    withheld = _events(sqlite_register, "acknowledgement_withheld")
    assert len(withheld) == len(HUMAN) + 1
    assert all("cut-off" in " ".join(e.detail["reasons"]) for e in withheld)


def test_first_run_answers_only_mail_within_the_grace_period(
    dovecot: DovecotServer, smtp_sink: SmtpSink, sqlite_register: Register
) -> None:
    now = dt.datetime.now(dt.UTC)

    def appended(sender: str, subject: str, body: str, when: dt.datetime) -> None:
        """Append with an INTERNALDATE of ``when``: the time the mailbox says it arrived."""
        raw = message(sender, subject, body, message_id=f"<{uuid.uuid4().hex}@example.test>")
        with dovecot.client() as imap:
            imap.append("INBOX", raw, msg_time=when)

    for sender, subject, body in HUMAN:  # a backlog from before the daemon was installed
        appended(sender, subject, body, now - dt.timedelta(days=3))
    appended(*MEDIA, now - dt.timedelta(hours=2))  # inside the default 24-hour grace
    settings = _settings(sqlite_register, dovecot, smtp_sink.port)
    assert settings.actions.first_run_grace_hours == 24
    pipeline = Pipeline(settings, sqlite_register)

    first = pipeline.run_once()
    assert first.cases_opened == len(HUMAN) + 1
    assert [rcpt for rcpt, _ in _acks(smtp_sink)] == ["eve@news.example.com"]
    assert len(smtp_sink.messages) == 1, "no PARO forward for the backlog either"

    appended(*MEETING, dt.datetime.now(dt.UTC))
    second = Pipeline(settings, sqlite_register).run_once()  # the cut-off survives a restart
    assert second.cases_opened == 1
    assert [rcpt for rcpt, _ in _acks(smtp_sink)] == ["eve@news.example.com", "fay@example.com"]
    assert len(_cases(sqlite_register)) == len(HUMAN) + 2
