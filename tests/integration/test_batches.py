"""Stored messages are registered a batch per transaction, each message in its SAVEPOINT.

One commit for the batch instead of one per message; a message that fails rolls back its own
writes only (its half-opened case, its queued emails) and is retried or quarantined in the
same transaction, exactly as it was when each message had a transaction of its own. On SQLite
and on PostgreSQL, because SQLite's savepoints only nest under the recipe in register.db.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select
from support.builders import fill_maildir, local_settings, message

from inbox_agent import act
from inbox_agent.pipeline import PassReport, Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.models import (
    Case,
    Disposition,
    MailboxState,
    OutboxMessage,
    StoredMessage,
)
from inbox_agent.settings import Settings

# Written for these tests: five people asking the office ordinary things.
ASKS = [
    (
        "Carys Mostyn <carys.mostyn@example.com>",
        "Hustings in Llanfair",
        "Will the "
        "commissioner's office send anyone to the hustings at the village hall next Tuesday?",
    ),
    (
        "Dev Okafor <dev.okafor@example.net>",
        "Speed cameras",
        "How many mobile speed camera "
        "vans does the force run, and who decides where they park each week?",
    ),
    (
        "Poison Pill <poison.pill@example.org>",
        "Victim services",
        "Which charities does the "
        "commissioner fund to support victims of burglary, and for how much?",
    ),
    (
        "Rhian Bowen <rhian.bowen@example.com>",
        "Youth diversion",
        "What has the youth "
        "diversion scheme cost since it began, and how many young people took part?",
    ),
    (
        "Tomasz Nowak <tomasz.nowak@example.net>",
        "Station opening hours",
        "Is the front counter at the town police station still open on Saturday mornings?",
    ),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'register.sqlite3'}"
    else:
        yield request.getfixturevalue("postgres_url")


def _settings(tmp_path: Path, db_url: str) -> Settings:
    return local_settings(db_url, tmp_path, workers=1, max_attempts=2)


def _fill(tmp_path: Path, *raws: bytes) -> None:
    fill_maildir(tmp_path / "box", *raws)


def _commits(register: Register) -> list[int]:
    """Counts the register's commits from now on (one item per COMMIT)."""
    seen: list[int] = []
    event.listen(register.engine, "commit", lambda _conn: seen.append(1))
    return seen


def _poison_after_the_case(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail Poison Pill's message after its case is written, as a bug in queuing would."""
    real = act.queue_actions

    def queue(session: Any, settings: Settings, case: Case, *args: Any, **kw: Any) -> None:
        if case.requester_email == "poison.pill@example.org":
            session.flush()  # the case and its reference are in the database now
            raise RuntimeError("queuing bug (injected)")
        real(session, settings, case, *args, **kw)

    monkeypatch.setattr("inbox_agent.pipeline.queue_actions", queue)


def _by_sender(register: Register) -> dict[str, StoredMessage]:
    """Stored messages by the address in their raw From line ("" for the empty one): a
    message whose savepoint rolled back has no parsed sender recorded."""
    with register.transaction() as s:
        stored = s.scalars(select(StoredMessage)).all()
    senders = [ask[0].split("<")[1].rstrip(">") for ask in ASKS]
    return {next((a for a in senders if a.encode() in m.raw), ""): m for m in stored}


def test_a_batch_is_one_transaction_whose_savepoints_nest(tmp_path: Path, db_url: str) -> None:
    """A released savepoint is part of the batch: the batch's rollback undoes it too (under
    pysqlite's own transaction control, RELEASE of the first savepoint committed alone)."""
    register = Register(db_url)
    try:
        with pytest.raises(RuntimeError), register.batch() as s:
            for n in range(3):
                with s.begin_nested():
                    s.add(MailboxState(account=f"a{n}", folder="INBOX"))
            with pytest.raises(ValueError), s.begin_nested():
                s.add(MailboxState(account="rolled-back", folder="INBOX"))
                s.flush()
                raise ValueError("one item fails")
            assert s.scalar(select(func.count()).select_from(MailboxState)) == 3
            raise RuntimeError("the whole batch fails")
        with register.batch() as s:
            assert s.scalar(select(func.count()).select_from(MailboxState)) == 0
    finally:
        register.dispose()


def test_a_failing_message_rolls_back_alone_and_the_batch_commits_once(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path, db_url)
    register = Register(db_url)
    try:
        pipeline = Pipeline(settings, register)
        _fill(tmp_path, *(message(*ask) for ask in ASKS), b"")  # b"": a sender's fault
        report = PassReport(fetch=pipeline.fetcher().fetch_new())
        _poison_after_the_case(monkeypatch)
        commits = _commits(register)
        pipeline.process_pending(report)
        # the id read, then the whole batch: one commit for six messages
        assert len(commits) <= 2
        assert (report.cases_opened, report.retried, report.quarantined) == (4, 1, 1)
        stored = _by_sender(register)
        poisoned = stored["poison.pill@example.org"]
        assert poisoned.disposition == Disposition.PENDING and poisoned.attempts == 1
        assert "queuing bug" in (poisoned.error or "")
        assert stored[""].disposition == Disposition.QUARANTINED  # the empty message
        with register.transaction() as s:
            cases = s.scalars(select(Case).order_by(Case.id)).all()
            assert "poison.pill@example.org" not in {c.requester_email for c in cases}
            assert len(cases) == 4
            acks = s.scalar(select(func.count()).where(OutboxMessage.kind == "acknowledgement"))
            assert acks == 4
        monkeypatch.undo()  # the bug is fixed: the next pass opens the case, once
        again = Pipeline(settings, register).run_once()
        assert (again.cases_opened, again.retried, again.quarantined) == (1, 0, 0)
        with register.transaction() as s:
            refs = s.scalars(select(Case.reference).order_by(Case.id)).all()
            assert len(refs) == len(set(refs)) == 5, "the rolled-back reference is not reused twice"
            poisoned_acks = s.scalar(
                select(func.count()).where(
                    OutboxMessage.kind == "acknowledgement",
                    OutboxMessage.recipient == "poison.pill@example.org",
                )
            )
            assert poisoned_acks == 1
    finally:
        register.dispose()


def test_a_message_failing_every_attempt_is_quarantined_in_its_batch(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path, db_url)  # max_attempts = 2
    register = Register(db_url)
    try:
        _fill(tmp_path, *(message(*ask) for ask in ASKS))
        _poison_after_the_case(monkeypatch)
        first = Pipeline(settings, register).run_once()
        second = Pipeline(settings, register).run_once()
        assert (first.cases_opened, first.retried) == (4, 1)
        assert (second.cases_opened, second.retried, second.quarantined) == (0, 0, 1)
        poisoned = _by_sender(register)["poison.pill@example.org"]
        assert poisoned.disposition == Disposition.QUARANTINED and poisoned.attempts == 2
        assert "gave up after 2 attempts" in (poisoned.error or "")
    finally:
        register.dispose()
