"""Failure handling in the pipeline: retries are bounded, nothing is dropped."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from support.builders import HUMAN, fill_maildir, local_settings, message

from inbox_agent.pipeline import Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.models import AuditEvent, Disposition, StoredMessage
from inbox_agent.settings import Settings


def _settings(tmp_path: Path, **poll: int) -> Settings:
    return local_settings(f"sqlite:///{tmp_path / 'r.sqlite3'}", tmp_path, **poll)


def _box(tmp_path: Path, *raws: bytes) -> None:
    fill_maildir(tmp_path / "box", *raws)


def test_a_failing_stage_is_retried_then_quarantined_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sender, subject, body = HUMAN[0]
    _box(tmp_path, message(sender, subject, body), message(*HUMAN[1]))
    settings = _settings(tmp_path, max_attempts=3)
    register = Register(settings.database.url)

    def broken(*_args: object) -> None:
        raise RuntimeError("classifier bug (injected)")

    monkeypatch.setattr("inbox_agent.analysis.classify_message", broken)
    for attempt in range(1, 4):
        report = Pipeline(settings, register).run_once()
        with register.transaction() as s:
            rows = s.scalars(select(StoredMessage)).all()
            expected = Disposition.QUARANTINED if attempt == 3 else Disposition.PENDING
            assert [r.disposition for r in rows] == [expected, expected]
            assert all(r.attempts == attempt for r in rows)
    assert report.quarantined == 2
    with register.transaction() as s:
        stored = s.scalars(select(StoredMessage)).all()
        assert all("classifier bug" in (r.error or "") for r in stored)
        events = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "message_quarantined")
        ).all()
        assert len(events) == 2
    # a quarantined message is not retried on later passes
    assert Pipeline(settings, register).run_once().retried == 0
    register.dispose()


def test_oversized_message_is_quarantined_and_the_rest_go_on(tmp_path: Path) -> None:
    big = message("Big Sender <big@example.com>", "huge", "x" * 5000)
    _box(tmp_path, big, message(*HUMAN[0]))
    settings = _settings(tmp_path, max_message_bytes=2048)
    register = Register(settings.database.url)
    report = Pipeline(settings, register).run_once()
    assert report.fetch.oversized == 1
    assert report.cases_opened == 1
    with register.transaction() as s:
        quarantined = s.scalars(
            select(StoredMessage).where(StoredMessage.disposition == Disposition.QUARANTINED)
        ).one()
        assert "max_message_bytes" in (quarantined.error or "")
    register.dispose()


def test_unparseable_message_is_quarantined_not_dropped(tmp_path: Path) -> None:
    _box(tmp_path, b"", message(*HUMAN[0]))
    settings = _settings(tmp_path)
    register = Register(settings.database.url)
    report = Pipeline(settings, register).run_once()
    assert (report.quarantined, report.cases_opened) == (1, 1)
    with register.transaction() as s:
        bad = s.scalars(
            select(StoredMessage).where(StoredMessage.disposition == Disposition.QUARANTINED)
        ).one()
        assert bad.raw == b"" and "Unparseable" in (bad.error or "")
    register.dispose()
