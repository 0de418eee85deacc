"""Issue 2's promises, against a real Dovecot and both register backends."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import DovecotServer
from sqlalchemy import func, select
from support.builders import HUMAN, MACHINE, imap_settings, message

from inbox_agent import intake
from inbox_agent.errors import RegisterUnavailable
from inbox_agent.pipeline import Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.models import (
    AuditEvent,
    Case,
    Disposition,
    LedgerEntry,
    StoredMessage,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def register(db_url: str) -> Iterator[Register]:
    reg = Register(db_url)
    yield reg
    reg.dispose()


def _fill(dovecot: DovecotServer, folder: str = "INBOX") -> int:
    count = 0
    for i, (sender, subject, body) in enumerate(HUMAN):
        dovecot.append(folder, message(sender, subject, body, message_id=f"<h{i}@example.com>"))
        count += 1
    for i, (sender, subject, body, headers) in enumerate(MACHINE):
        raw = message(sender, subject, body, message_id=f"<m{i}@example.com>", headers=headers)
        dovecot.append(folder, raw)
        count += 1
    return count


def _counts(register: Register) -> dict[str, int]:
    with register.transaction() as s:
        return {
            "cases": s.scalar(select(func.count()).select_from(Case)) or 0,
            "stored": s.scalar(select(func.count()).select_from(StoredMessage)) or 0,
            "ledger": s.scalar(select(func.count()).select_from(LedgerEntry)) or 0,
            "machine": s.scalar(
                select(func.count()).where(StoredMessage.disposition == Disposition.MACHINE)
            )
            or 0,
            "events": s.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        }


def test_mixed_mailbox_is_one_case_or_one_machine_entry_each_and_rerun_changes_nothing(
    dovecot: DovecotServer, register: Register, db_url: str
) -> None:
    total = _fill(dovecot)
    settings = imap_settings(
        db_url,
        dovecot.host,
        dovecot.port,
        dovecot.user,
        dovecot.password,
        processed_folder="Registered",
    )
    report = Pipeline(settings, register).run_once()
    assert report.fetch.stored == total
    after_first = _counts(register)
    assert after_first["cases"] == len(HUMAN)
    assert after_first["machine"] == len(MACHINE)
    assert after_first["stored"] == after_first["ledger"] == total
    assert dovecot.uids("INBOX") == []
    assert len(dovecot.uids("Registered")) == total

    second = Pipeline(settings, register).run_once()
    assert second.fetch.seen == 0
    assert _counts(register) == after_first


def test_message_is_moved_only_after_its_batch_commits(
    dovecot: DovecotServer, register: Register, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    total = _fill(dovecot)
    settings = imap_settings(
        db_url,
        dovecot.host,
        dovecot.port,
        dovecot.user,
        dovecot.password,
        processed_folder="Registered",
        batch_size=100,
    )
    real_store = intake.store_message
    calls = {"n": 0}

    def failing_store(*args: object, **kwargs: object) -> intake.StoreResult:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RegisterUnavailable("disk full (injected)")
        return real_store(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr("inbox_agent.fetch.store_message", failing_store)
    with pytest.raises(RegisterUnavailable):
        Pipeline(settings, register).run_once()
    assert len(dovecot.uids("INBOX")) == total, "nothing may move when the commit failed"
    assert _counts(register)["stored"] == 0

    monkeypatch.setattr("inbox_agent.fetch.store_message", real_store)
    Pipeline(settings, register).run_once()
    assert dovecot.uids("INBOX") == []
    assert _counts(register)["stored"] == total


def test_flag_mode_leaves_messages_in_place_and_flags_them(
    dovecot: DovecotServer, register: Register, db_url: str
) -> None:
    total = _fill(dovecot)
    settings = imap_settings(db_url, dovecot.host, dovecot.port, dovecot.user, dovecot.password)
    Pipeline(settings, register).run_once()
    flags = dovecot.flags("INBOX")
    assert len(flags) == total
    assert all(b"$InboxAgentRegistered" in f for f in flags.values())
    assert all(b"\\Seen" not in f for f in flags.values()), "BODY.PEEK must not mark as read"


def test_uidvalidity_reset_creates_no_duplicates(
    dovecot: DovecotServer, register: Register, db_url: str
) -> None:
    dovecot.create_folder("Elections")
    total = _fill(dovecot, "Elections")
    settings = imap_settings(
        db_url, dovecot.host, dovecot.port, dovecot.user, dovecot.password, folder="Elections"
    )
    Pipeline(settings, register).run_once()
    before = _counts(register)
    old_validity = dovecot.uidvalidity("Elections")
    raws = list(dovecot.fetch_raw("Elections").values())

    dovecot.delete_folder("Elections")
    dovecot.create_folder("Elections")
    for raw in raws:
        dovecot.append("Elections", raw)
    assert dovecot.uidvalidity("Elections") != old_validity

    report = Pipeline(settings, register).run_once()
    assert report.fetch.seen == total
    assert report.fetch.stored == 0
    after = _counts(register)
    assert after["cases"] == before["cases"] == len(HUMAN)
    assert after["stored"] == before["stored"]
    assert after["ledger"] == 2 * total


def test_staff_forward_records_the_original_requester(
    dovecot: DovecotServer, register: Register, db_url: str
) -> None:
    body = (
        "Please log this one for the election register.\n\nPat\n\n"
        "-----Original Message-----\n"
        "From: Quinn Public <quinn@example.net>\n"
        "Sent: 01 April 2027 09:12\n"
        "To: Pat Staff <pat.staff@opcc.testshire.example.org>\n"
        "Subject: Police budget question\n\n"
        "Hello, how much of the police budget goes on rural crime this year?\n\nQuinn\n"
    )
    raw = message(
        "Pat Staff <pat.staff@opcc.testshire.example.org>", "FW: Police budget question", body
    )
    dovecot.append("INBOX", raw)
    settings = imap_settings(db_url, dovecot.host, dovecot.port, dovecot.user, dovecot.password)
    Pipeline(settings, register).run_once()
    with register.transaction() as s:
        case = s.scalars(select(Case)).one()
        assert case.requester_email == "quinn@example.net"
        assert case.requester_name == "Quinn Public"
        assert case.forwarded_by == "pat.staff@opcc.testshire.example.org"
        assert "rural crime" in case.information_sought
        assert re.fullmatch(r"TST-\d{4}-0001", case.reference)


def test_every_public_corpus_file_is_registered_or_quarantined(
    dovecot: DovecotServer, register: Register, db_url: str, corpora_dir: Path
) -> None:
    files = sorted(p for p in corpora_dir.rglob("*") if p.is_file() and p.suffix == ".eml")
    assert len(files) > 600
    for path in files:
        dovecot.append("INBOX", path.read_bytes())
    settings = imap_settings(
        db_url, dovecot.host, dovecot.port, dovecot.user, dovecot.password, batch_size=100
    )
    report = Pipeline(settings, register).run_once()
    assert report.retried == 0
    assert report.fetch.seen == len(files)
    with register.transaction() as s:
        ledger = s.scalar(select(func.count()).select_from(LedgerEntry))
        pending = s.scalar(
            select(func.count()).where(StoredMessage.disposition == Disposition.PENDING)
        )
        bsd_cases = s.scalars(
            select(StoredMessage.sender).where(StoredMessage.disposition == Disposition.CASE)
        ).all()
    assert ledger == len(files)
    assert pending == 0
    # the sisimai bounces, ARF reports and auto-replies are machine mail: the cases that exist
    # come from the flanker MIME collection (ordinary messages with odd structure)
    assert len(bsd_cases) < 60
