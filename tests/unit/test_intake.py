"""Intake's keys: the same message never becomes two stored messages or two cases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from inbox_agent.intake import SourceKey, body_digest, header_message_id, store_message
from inbox_agent.register.db import Register
from inbox_agent.register.models import Disposition, LedgerEntry, StoredMessage

NOW = dt.datetime(2027, 4, 1, 9, 0, tzinfo=dt.UTC)
RAW = b"Message-ID: <a@example.org>\r\nSubject: hi\r\n\r\nbody\r\n"


@pytest.fixture
def register(tmp_path: Path) -> Register:
    return Register(f"sqlite:///{tmp_path / 'r.sqlite3'}")


def _key(uid: int, validity: int = 1) -> SourceKey:
    return SourceKey("imap://u@h:143", "INBOX", validity, str(uid), uid)


def test_header_message_id_unfolds_and_ignores_the_body() -> None:
    raw = b"Subject: x\r\nMessage-ID:\r\n <folded@example.org>\r\n\r\nMessage-ID: <body@x>\r\n"
    assert header_message_id(raw) == "<folded@example.org>"
    assert header_message_id(b"Subject: none\r\n\r\nMessage-ID: <b@x>") == ""


def test_body_digest_ignores_headers() -> None:
    assert body_digest(b"Received: a\r\n\r\nsame") == body_digest(b"Received: b\r\n\r\nsame")
    assert body_digest(b"A: a\r\n\r\none") != body_digest(b"A: a\r\n\r\ntwo")


def test_same_key_twice_is_known_and_adds_nothing(register: Register) -> None:
    with register.transaction() as s:
        first = store_message(s, _key(1), RAW, NOW)
    with register.transaction() as s:
        again = store_message(s, _key(1), RAW, NOW)
        assert s.scalar(select(func.count()).select_from(LedgerEntry)) == 1
    assert first.new and not first.known
    assert again.known and not again.new
    assert again.stored_message_id == first.stored_message_id


def test_same_bytes_under_new_uidvalidity_share_the_stored_message(register: Register) -> None:
    with register.transaction() as s:
        first = store_message(s, _key(1, validity=1), RAW, NOW)
        second = store_message(s, _key(9, validity=2), RAW, NOW)
        assert s.scalar(select(func.count()).select_from(StoredMessage)) == 1
    assert not second.new and not second.known
    assert second.stored_message_id == first.stored_message_id


def test_same_message_id_and_body_with_new_transport_headers_is_a_duplicate(
    register: Register,
) -> None:
    relayed = b"Received: from relay\r\n" + RAW
    with register.transaction() as s:
        first = store_message(s, _key(1), RAW, NOW)
        second = store_message(s, _key(2), relayed, NOW)
        copy = s.get(StoredMessage, second.stored_message_id)
        assert copy is not None
        assert copy.disposition == Disposition.DUPLICATE
        assert copy.duplicate_of_id == first.stored_message_id
        assert copy.raw == relayed, "the bytes are kept even for a duplicate"


def test_same_message_id_with_different_body_is_a_new_message(register: Register) -> None:
    other = RAW.replace(b"body", b"another body")
    with register.transaction() as s:
        store_message(s, _key(1), RAW, NOW)
        second = store_message(s, _key(2), other, NOW)
    assert second.new


def test_quarantine_reason_is_recorded(register: Register) -> None:
    with register.transaction() as s:
        result = store_message(s, _key(1), RAW, NOW, quarantine_reason="too big")
        stored = s.get(StoredMessage, result.stored_message_id)
        assert stored is not None
        assert stored.disposition == Disposition.QUARANTINED
        assert stored.error == "too big"


def test_rollback_leaves_nothing(register: Register) -> None:
    with pytest.raises(RuntimeError), register.transaction() as s:
        store_message(s, _key(1), RAW, NOW)
        raise RuntimeError("crash before commit")
    with register.transaction() as s:
        assert s.scalar(select(func.count()).select_from(StoredMessage)) == 0
