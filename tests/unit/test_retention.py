"""Retention: a dry run changes nothing; --apply empties raw mail, keeps hashes, audits each."""

from __future__ import annotations

import datetime as dt
import io
import mailbox
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from support.builders import HUMAN, MACHINE, base_config, message

from inbox_agent.cli import main
from inbox_agent.cli import ops as cli_ops
from inbox_agent.localbox import LocalFetcher
from inbox_agent.ops import retention
from inbox_agent.ops.retention import ANONYMISED, apply_retention, plan_retention, render_report
from inbox_agent.pipeline import Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.models import (
    AuditEvent,
    Case,
    CaseStatus,
    Disposition,
    OutboxMessage,
    OutboxStatus,
    StoredMessage,
)
from inbox_agent.settings import RetentionSettings, Settings, settings_from_dict

T0 = dt.datetime(2027, 4, 1, 10, 0, tzinfo=dt.UTC)
LATER = T0 + dt.timedelta(days=400)
ELECTORAL = (
    "Cat Agent <cat@example.org>",
    "Deposit and nomination form",
    "I am an election agent. How do I pay the deposit for the nomination and where is the "
    "nomination form handed in to the returning officer?",
)


@dataclass
class World:
    settings: Settings
    register: Register
    raws: dict[str, bytes]  # subject -> the bytes that arrived

    def case_id(self, subject: str) -> int:
        with self.register.transaction() as s:
            case_id = s.scalar(select(Case.id).where(Case.subject == subject))
        assert case_id is not None
        return case_id

    def close(self, subject: str, at: dt.datetime) -> int:
        case_id = self.case_id(subject)
        with self.register.transaction() as s:
            s.execute(
                update(Case)
                .where(Case.id == case_id)
                .values(status=CaseStatus.CLOSED, updated_at=at)
            )
        return case_id


def _settings(tmp_path: Path, **policy: Any) -> Settings:
    data = base_config(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    data["maildir"] = {"path": str(tmp_path / "box")}
    data["smtp"] = {
        "from_address": "elections@opcc.testshire.example.org",
        "deliver": "maildir",
        "maildir_path": str(tmp_path / "outbox"),
    }
    data["actions"] = {"acknowledge_since": "2020-01-01T00:00:00Z"}
    data["retention"] = policy
    return settings_from_dict(data, tmp_path / "inbox-agent.toml")


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """Three cases (one forwarded to the PARO) and two machine messages, all handled at T0."""
    raws = {}
    box = mailbox.Maildir(tmp_path / "box", create=True)
    for sender, subject, body in (*HUMAN[:2], ELECTORAL):
        raws[subject] = message(sender, subject, body)
        box.add(raws[subject])
    for sender, subject, body, headers in MACHINE:
        raws[subject] = message(sender, subject, body, headers=headers)
        box.add(raws[subject])
    box.close()
    for path in (tmp_path / "box" / "new").iterdir():  # delivered at T0, as far as we know
        os.utime(path, (T0.timestamp(), T0.timestamp()))
    settings = _settings(tmp_path)
    register = Register(settings.database.url)
    try:
        report = Pipeline(settings, register, clock=lambda: T0).run_once()
        assert (report.cases_opened, report.machine, report.sent.sent) == (3, 2, 4)
        yield World(settings, register, raws)
    finally:
        register.dispose()


def _raw_sizes(world: World) -> dict[int, int]:
    with world.register.transaction() as s:
        rows = s.execute(select(StoredMessage.id, func.length(StoredMessage.raw)))
        return {i: int(n) for i, n in rows}


def _events(world: World, action: str) -> list[AuditEvent]:
    with world.register.transaction() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_nothing_is_due_while_cases_are_open_and_mail_is_young(world: World) -> None:
    soon = T0 + dt.timedelta(days=30)
    with world.register.transaction() as s:
        report = plan_retention(s, world.settings.retention, soon)
    assert report.nothing
    assert apply_retention(world.register, world.settings.retention, soon).nothing
    assert all(size > 0 for size in _raw_sizes(world).values())


def test_dry_run_lists_what_is_due_and_changes_nothing(world: World) -> None:
    electoral = world.close(ELECTORAL[1], T0)
    sizes = _raw_sizes(world)
    with world.register.transaction() as s:
        report = plan_retention(s, world.settings.retention, LATER)
        machine = list(
            s.scalars(
                select(StoredMessage.id).where(StoredMessage.disposition == Disposition.MACHINE)
            )
        )
    assert len(report.case_messages) == 1
    assert sorted(report.machine_messages) == sorted(machine)
    assert len(report.outbox_copies) == 2  # the acknowledgement and the PARO forward
    assert report.mail_cases == {electoral}
    assert report.anonymised_cases == [] and not report.applied
    assert _raw_sizes(world) == sizes
    assert _events(world, "raw_mail_deleted") == []
    text = "\n".join(render_report(report, world.settings.retention))
    assert "retention dry run" in text and "would delete 1 message(s): TST-2027-0003" in text
    assert "anonymise_register_after_days is not set" in text


def test_apply_empties_raw_mail_keeps_the_rows_and_audits_each_deletion(world: World) -> None:
    electoral = world.close(ELECTORAL[1], T0)
    report = apply_retention(world.register, world.settings.retention, LATER)
    assert report.applied and len(report.case_messages) == 1 and len(report.machine_messages) == 2
    with world.register.transaction() as s:
        rows = {m.id: m for m in s.scalars(select(StoredMessage))}
        deleted = {i for i, m in rows.items() if m.raw_deleted_at is not None}
        assert deleted == set(report.case_messages) | set(report.machine_messages)
        for i in deleted:
            assert rows[i].raw == b"" and rows[i].raw_deleted_at == LATER
            assert len(rows[i].sha256) == 64 and rows[i].size > 0  # kept for deduplication
        for i in set(rows) - deleted:
            assert rows[i].raw and rows[i].disposition == Disposition.CASE
        copies = s.scalars(select(OutboxMessage).where(OutboxMessage.case_id == electoral)).all()
        assert {c.kind for c in copies} == {"acknowledgement", "paro_forward"}
        assert all(c.raw == b"" and c.message_id for c in copies)
        others = s.scalars(select(OutboxMessage).where(OutboxMessage.case_id != electoral)).all()
        assert others and all(c.raw for c in others)
    events = _events(world, "raw_mail_deleted")
    assert sorted(e.stored_message_id or 0 for e in events) == sorted(deleted)
    assert {e.detail["reason"] for e in events} == {"case_closed", "machine_mail"}
    assert all(e.actor == "inbox-agent retention" and e.at == LATER for e in events)
    assert [e.case_id for e in events if e.detail["reason"] == "case_closed"] == [electoral]
    assert len(_events(world, "sent_copy_deleted")) == 2

    again = apply_retention(world.register, world.settings.retention, LATER)
    assert again.nothing
    assert len(_events(world, "raw_mail_deleted")) == len(events)


def test_the_same_message_after_deletion_is_still_a_duplicate(world: World, tmp_path: Path) -> None:
    world.close(ELECTORAL[1], T0)
    apply_retention(world.register, world.settings.retention, LATER)
    export = mailbox.mbox(tmp_path / "export.mbox")
    export.add(world.raws[ELECTORAL[1]])
    export.close()
    fetcher = LocalFetcher(
        tmp_path / "export.mbox", world.register, max_bytes=10**6, clock=lambda: LATER
    )
    report = fetcher.fetch_new()
    assert (report.seen, report.stored, report.duplicates) == (1, 0, 1)
    with world.register.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Case)) == 3


def test_a_reply_to_a_closed_case_restarts_its_clock(world: World) -> None:
    world.close(ELECTORAL[1], T0)
    case_id = world.case_id(ELECTORAL[1])
    with world.register.transaction() as s:
        s.execute(update(Case).where(Case.id == case_id).values(updated_at=LATER))
    assert apply_retention(world.register, world.settings.retention, LATER).case_messages == []


def test_duplicates_go_with_their_original(world: World) -> None:
    world.close(HUMAN[0][1], T0)
    case_id = world.case_id(HUMAN[0][1])
    with world.register.transaction() as s:
        original = s.scalars(select(StoredMessage).where(StoredMessage.case_id == case_id)).one()
        s.add(
            StoredMessage(
                sha256="d" * 64,
                body_sha256=original.body_sha256,
                message_id=original.message_id,
                raw=b"Received: another hop\r\n" + original.raw,
                size=len(original.raw) + 23,
                received_at=T0,
                disposition=Disposition.DUPLICATE,
                duplicate_of_id=original.id,
            )
        )
    with world.register.transaction() as s:
        assert len(plan_retention(s, world.settings.retention, LATER).duplicate_messages) == 1
    report = apply_retention(world.register, world.settings.retention, LATER)
    assert len(report.duplicate_messages) == 1
    with world.register.transaction() as s:
        copy = s.scalars(select(StoredMessage).where(StoredMessage.sha256 == "d" * 64)).one()
        assert copy.raw == b"" and copy.raw_deleted_at == LATER


def test_queued_email_and_quarantined_mail_are_never_touched(world: World) -> None:
    case_id = world.close(HUMAN[1][1], T0)
    with world.register.transaction() as s:
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.case_id == case_id)
            .values(status=OutboxStatus.QUEUED)
        )
        s.add(
            StoredMessage(
                sha256="q" * 64,
                body_sha256="q" * 64,
                raw=b"\x00broken",
                size=7,
                received_at=T0 - dt.timedelta(days=900),
                disposition=Disposition.QUARANTINED,
                error="UnparseableMessage: test",
            )
        )
    report = apply_retention(world.register, world.settings.retention, LATER)
    assert report.outbox_copies == []
    with world.register.transaction() as s:
        queued = s.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case_id)).all()
        assert queued and all(row.raw for row in queued)
        assert s.scalars(select(StoredMessage).where(StoredMessage.sha256 == "q" * 64)).one().raw


def test_anonymisation_replaces_the_requester_and_takes_the_mail(tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "box", create=True)
    for item in (HUMAN[0], ELECTORAL):
        box.add(message(*item))
    box.close()
    settings = _settings(tmp_path, anonymise_register_after_days=30)
    register = Register(settings.database.url)
    try:
        Pipeline(settings, register, clock=lambda: T0).run_once()
        world = World(settings, register, {})
        closed = world.close(ELECTORAL[1], T0)
        kept = world.case_id(HUMAN[0][1])
        when = T0 + dt.timedelta(days=31)  # not 365: anonymisation implies the mail goes
        report = apply_retention(register, settings.retention, when)
        assert report.anonymised_cases == [closed] and len(report.case_messages) == 1
        with register.transaction() as s:
            case = s.get_one(Case, closed)
            assert case.requester_email == ANONYMISED and case.requester_name == ""
            assert case.information_sought == ANONYMISED and case.subject == ANONYMISED
            assert case.category == "electoral_process" and case.status == CaseStatus.CLOSED
            assert case.updated_at == T0  # anonymising is not activity
            other = s.get_one(Case, kept)
            assert other.requester_email == "ann@example.com"
            stored = s.scalars(select(StoredMessage).where(StoredMessage.case_id == closed)).one()
            assert (stored.sender, stored.subject, stored.raw) == (ANONYMISED, ANONYMISED, b"")
            sent = s.scalars(select(OutboxMessage).where(OutboxMessage.case_id == closed)).all()
            assert sent and all(row.recipient == ANONYMISED and row.raw == b"" for row in sent)
        events = _events(world, "register_row_anonymised")
        assert [e.case_id for e in events] == [closed]
        assert "cat@example.org" not in str(events[0].detail)
        assert apply_retention(register, settings.retention, when).nothing
    finally:
        register.dispose()


def test_work_is_done_in_bounded_batches(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retention, "BATCH", 1)
    for _, subject, _ in (*HUMAN[:2], ELECTORAL):
        world.close(subject, T0)
    report = apply_retention(world.register, world.settings.retention, LATER)
    assert len(report.case_messages) == 3 and len(report.machine_messages) == 2
    assert len(report.outbox_copies) == 4
    assert all(size == 0 for size in _raw_sizes(world).values())


def test_policy_defaults_and_validation() -> None:
    policy = RetentionSettings()
    assert (policy.raw_mail_days_after_close, policy.machine_mail_days) == (365, 90)
    assert policy.anonymise_register_after_days is None
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        RetentionSettings(machine_mail_days=0)


def test_retention_command_is_a_dry_run_unless_told(world: World) -> None:
    world.close(ELECTORAL[1], T0)
    now = cli_ops.utc_now()
    with world.register.transaction() as s:
        s.execute(
            update(Case)
            .where(Case.status == CaseStatus.CLOSED)
            .values(updated_at=now - dt.timedelta(days=366))
        )
    out = io.StringIO()
    assert cli_ops.retention(world.settings, out, apply=False) == 0
    assert "would delete 1 message(s): TST-2027-0003" in out.getvalue()
    assert _events(world, "raw_mail_deleted") == []
    out = io.StringIO()
    assert cli_ops.retention(world.settings, out, apply=True) == 0
    assert "retention applied" in out.getvalue() and "deleted 1 message(s)" in out.getvalue()
    events = _events(world, "raw_mail_deleted")  # machine mail is dated T0, by the real clock
    assert [e.detail["reason"] for e in events if e.case_id] == ["case_closed"]


def test_retention_through_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = Path(__file__).resolve().parents[2]
    (tmp_path / "config").mkdir()
    config = tmp_path / "config" / "example.toml"
    config.write_text((root / "config" / "example.toml").read_text())
    (tmp_path / "demo" / "maildir" / "new").mkdir(parents=True)
    assert main(["--config", str(config), "retention"]) == 0
    assert "retention dry run" in capsys.readouterr().out
    assert main(["--config", str(config), "retention", "--apply"]) == 0
    assert "nothing is due" in capsys.readouterr().out
