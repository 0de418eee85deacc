"""Hostile mail through the whole pipeline, with no network: a Maildir in, a Maildir out.

Each hostile message is followed by an ordinary one. After the pass the hostile one must be
registered (a case or machine mail) or quarantined with a reason, never left pending or
retried, and the ordinary one must be a case with its acknowledgement: one bad message
neither crashes the run nor holds back the next. Every email the pass queued is read back
from its raw bytes to prove no sender-controlled text became a header of ours.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import mailbox
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from support.builders import INBOX, base_config, message
from support.hostile import (
    QUESTION,
    SENDER,
    assert_no_injected_header,
    broken_mime,
    encoded_word,
    injection_message,
    wrong_charset,
)

from inbox_agent.pipeline import PassReport, Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.models import (
    Case,
    Disposition,
    OutboxMessage,
    OutboxStatus,
    StoredMessage,
)
from inbox_agent.settings import settings_from_dict

RESOLVED = {Disposition.CASE, Disposition.MACHINE, Disposition.QUARANTINED, Disposition.DUPLICATE}
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


class Inbox:
    """The pipeline over a Maildir, with an SQLite register and a Maildir outbox."""

    def __init__(self, root: Path) -> None:
        data = base_config(f"sqlite:///{root / 'register.sqlite3'}")
        data["maildir"] = {"path": str(root / "inbox")}
        data["smtp"] = {
            "from_address": INBOX,
            "deliver": "maildir",
            "maildir_path": str(root / "outbox"),
        }
        self.settings = settings_from_dict(data, root / "inbox-agent.toml")
        self.box = mailbox.Maildir(root / "inbox", create=True)
        self.register = Register(self.settings.database.url)
        self.pipeline = Pipeline(self.settings, self.register)
        self.serial = 0
        self.checked_outbox = 0

    def close(self) -> None:
        self.box.close()
        self.register.dispose()

    def next_address(self, kind: str) -> str:
        self.serial += 1
        return f"{kind}{self.serial}@example.com"

    def deliver(self, raw: bytes) -> None:
        self.box.add(raw)

    def deliver_ordinary(self) -> str:
        """A plain question from a new person, after the hostile one; return its Message-ID."""
        address = self.next_address("next")
        message_id = f"<{address.replace('@', '.')}@example.test>"
        self.deliver(
            message(f"Next Person <{address}>", "A question", QUESTION, message_id=message_id)
        )
        return message_id

    def stored(self, raw: bytes) -> StoredMessage:
        sha = hashlib.sha256(raw).hexdigest()
        with self.register.transaction() as s:
            return s.scalars(select(StoredMessage).where(StoredMessage.sha256 == sha)).one()

    def stored_by_id(self, message_id: str) -> StoredMessage:
        with self.register.transaction() as s:
            query = select(StoredMessage).where(StoredMessage.message_id == message_id)
            return s.scalars(query).one()

    def new_outbox(self) -> list[OutboxMessage]:
        with self.register.transaction() as s:
            rows = list(
                s.scalars(
                    select(OutboxMessage)
                    .where(OutboxMessage.id > self.checked_outbox)
                    .order_by(OutboxMessage.id)
                )
            )
        if rows:
            self.checked_outbox = rows[-1].id
        return rows

    def case_of(self, stored: StoredMessage) -> Case | None:
        with self.register.transaction() as s:
            return s.get(Case, stored.case_id) if stored.case_id else None


def _event(text: str) -> None:
    """Count an outcome in hypothesis' statistics (--hypothesis-show-statistics)."""
    if currently_in_test_context():
        event(text)


def pass_with(inbox: Inbox, raw: bytes) -> tuple[StoredMessage, list[OutboxMessage]]:
    """Deliver ``raw`` and an ordinary message, run one pass, check the shared promises."""
    inbox.deliver(raw)
    follower = inbox.deliver_ordinary()
    report: PassReport = inbox.pipeline.run_once()  # must not raise, whatever ``raw`` is
    assert report.retried == 0, "a hostile message must not make a stage fail"
    hostile = inbox.stored(raw)
    assert hostile.disposition in RESOLVED, (hostile.disposition, hostile.error)
    _event(f"hostile message: {hostile.disposition}")
    if hostile.disposition == Disposition.QUARANTINED:
        assert hostile.error, "quarantined without a reason"
    after = inbox.stored_by_id(follower)
    assert after.disposition == Disposition.CASE, "the next message must not be held back"
    rows = inbox.new_outbox()
    _event(f"emails queued: {len(rows)}")
    for row in rows:
        assert row.status == OutboxStatus.SENT, (row.status, row.last_error)
        assert_no_injected_header(row.raw, row.recipient)
    assert any(r.kind == "acknowledgement" and r.case_id == after.case_id for r in rows)
    return hostile, rows


@pytest.fixture(scope="module")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Inbox]:
    box = Inbox(tmp_path_factory.mktemp("hostile"))
    yield box
    box.close()


def _with_sender(inbox: Inbox, raw: bytes, kind: str) -> tuple[bytes, str]:
    address = inbox.next_address(kind)
    return raw.replace(SENDER, address.encode()), address


# ------------------------------------------------------------------- property-based


@PROPERTY
@given(raw=injection_message())
def test_injection_in_names_and_subjects_never_reaches_our_headers(
    inbox: Inbox, raw: bytes
) -> None:
    raw, address = _with_sender(inbox, raw, "inject")
    hostile, rows = pass_with(inbox, raw)
    case = inbox.case_of(hostile)
    if case is not None and case.requester_email == address:
        # the sender's name and subject went into an acknowledgement: the path was exercised
        assert any(r.case_id == case.id and r.kind == "acknowledgement" for r in rows)


@PROPERTY
@given(raw=broken_mime() | st.binary(max_size=3000))
def test_broken_mime_is_registered_or_quarantined_and_later_mail_flows(
    inbox: Inbox, raw: bytes
) -> None:
    pass_with(inbox, _with_sender(inbox, raw, "broken")[0])


@PROPERTY
@given(raw=wrong_charset())
def test_wrong_and_unknown_charsets_are_registered_or_quarantined(inbox: Inbox, raw: bytes) -> None:
    pass_with(inbox, _with_sender(inbox, raw, "charset")[0])


# ------------------------------------------------------------------- exact expectations


def _b64(text: str) -> str:
    return encoded_word(text, "utf-8", "B")


@pytest.mark.parametrize(
    ("name", "subject"),
    [
        (_b64("Eve\r\nBcc: victim@example.net"), _b64("Budget\r\nBcc: victim@example.net")),
        ("Eve", "=?utf-8?q?Budget=0D=0ABcc:_victim@example.net?="),
        ('"Eve\r\n Bcc: victim@example.net"', "Budget\r\n Bcc: victim@example.net"),
        (_b64("Eve\u2028Bcc: victim@example.net"), _b64("Budget\u0085Bcc: victim@example.net")),
    ],
)
def test_an_acknowledgement_keeps_the_subject_on_one_line_and_adds_no_header(
    inbox: Inbox, name: str, subject: str
) -> None:
    address = inbox.next_address("exact")
    raw = (
        f"From: {name} <{address}>\r\nTo: {INBOX}\r\nSubject: {subject}\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{QUESTION}\r\n"
    ).encode()
    hostile, rows = pass_with(inbox, raw)
    assert hostile.disposition == Disposition.CASE
    (ack,) = [r for r in rows if r.case_id == hostile.case_id and r.kind == "acknowledgement"]
    assert ack.recipient == address
    subject = str(email.message_from_bytes(ack.raw, policy=email.policy.default)["Subject"])
    assert "Budget" in subject and "victim@example.net" in subject, "kept, as harmless text"


def _many_attachments(count: int) -> bytes:
    parts = [
        f"--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; "
        f'filename="f{i}.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n'
        for i in range(count)
    ]
    head = (
        f"From: Many Files <{SENDER.decode()}>\r\nTo: {INBOX}\r\nSubject: Attachments\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        f"--b\r\nContent-Type: text/plain\r\n\r\n{QUESTION}\r\n"
    )
    return (head + "".join(parts) + "--b--\r\n").encode()


def _nested(depth: int) -> bytes:
    body = f"Content-Type: text/plain\r\n\r\n{QUESTION}\r\n"
    for level in range(depth):
        boundary = f"n{level}"
        body = (
            f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'
            f"--{boundary}\r\n{body}\r\n--{boundary}--\r\n"
        )
    return f"From: Deep Nest <{SENDER.decode()}>\r\nTo: {INBOX}\r\nSubject: Nested\r\n".encode() + (
        body.encode()
    )


def test_ten_thousand_attachments_open_a_case_and_later_mail_flows(inbox: Inbox) -> None:
    raw, _ = _with_sender(inbox, _many_attachments(10_000), "many")
    hostile, _ = pass_with(inbox, raw)
    assert hostile.disposition == Disposition.CASE


@pytest.mark.parametrize(
    ("depth", "outcome"),
    [(200, Disposition.CASE), (2_000, Disposition.QUARANTINED)],
)
def test_deep_multipart_nesting_is_registered_or_quarantined(
    inbox: Inbox, depth: int, outcome: Disposition
) -> None:
    raw, _ = _with_sender(inbox, _nested(depth), "deep")
    hostile, _ = pass_with(inbox, raw)
    assert hostile.disposition == outcome, hostile.error
    if outcome == Disposition.QUARANTINED:
        assert "UnparseableMessage" in (hostile.error or "")


@pytest.mark.parametrize(
    "raw", [b"", b"\r\n\r\n", b"   \r\n"], ids=["empty", "blank-lines", "spaces"]
)
def test_an_empty_message_is_quarantined_as_empty(inbox: Inbox, raw: bytes) -> None:
    hostile, _ = pass_with(inbox, raw)
    assert hostile.disposition == Disposition.QUARANTINED
    assert "empty message" in (hostile.error or "")


def test_a_message_of_headers_only_is_registered(inbox: Inbox) -> None:
    address = inbox.next_address("headers")
    raw = f"From: Headers Only <{address}>\r\nTo: {INBOX}\r\nSubject: (no text)\r\n\r\n".encode()
    hostile, _ = pass_with(inbox, raw)
    assert hostile.disposition == Disposition.CASE
