"""Worker processes parse and classify a backlog; the main process registers it, in order.

Real worker processes (forkserver), a real SQLite register, a real Maildir. The pool must
change nothing but the speed: the same cases, categories and languages as the main process
alone; a worker killed with SIGKILL costs its message nothing (no attempt counted, nothing
quarantined); and no worker outlives the pass, even one stopped half way (SIGTERM).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from support.builders import fill_maildir, local_settings, message

from inbox_agent import analysis, pipeline
from inbox_agent.pipeline import PassReport, Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.models import Case, Disposition, StoredMessage

# Written for these tests: the kinds of mail a backlog holds.
BACKLOG = [
    message(
        "Iolo Prydderch <iolo.prydderch@example.com>",
        "Cwestiwn am yr etholiad",
        "Bore da. Hoffwn wybod ble mae'r orsaf bleidleisio agosaf at fy nghartref yn y "
        "pentref, ac a allaf bleidleisio drwy'r post eleni os byddaf i ffwrdd ar y diwrnod.",
    ),
    message(
        "Hana Sato <hana.sato@example.net>",
        "Freedom of Information: overtime",
        "Under the Freedom of Information Act, please tell me how much the force spent on "
        "police overtime in each of the last three financial years.",
    ),
    message(
        "Out Of Office <gareth.lloyd@example.org>",
        "Automatic reply: your enquiry",
        "I am away from my desk until Monday and will reply when I return.",
        headers={"Auto-Submitted": "auto-replied"},
    ),
    message(
        "Marek Zielinski <marek.z@example.com>",
        "Meeting with the commissioner",
        "As a candidate for commissioner I would like to arrange a meeting with the chief "
        "constable to talk about rural crime. When might that be possible?",
    ),
    b"",  # a sender's fault: quarantined, as without a pool
    message(
        "Sunita Rao <sunita.rao@example.net>",
        "Press enquiry on knife arches",
        "I am a journalist at the county paper writing about knife arches at the railway "
        "station. Can the commissioner's office comment before our deadline tomorrow?",
    ),
    message(
        "Olu Adeyemi <olu.adeyemi@example.org>",
        "Street lighting",
        "The street lights on my road have been off for a month and people feel unsafe "
        "walking home. Who should I contact to get them fixed?",
    ),
]


@pytest.fixture
def pooled(monkeypatch: pytest.MonkeyPatch) -> list[analysis.AnalysisPool]:
    """Every pool a pipeline starts, started for any backlog (not only a large one)."""
    started: list[analysis.AnalysisPool] = []

    class Recorded(analysis.AnalysisPool):
        def __init__(self, workers: int) -> None:
            super().__init__(workers)
            started.append(self)

    monkeypatch.setattr(pipeline, "POOL_MIN_MESSAGES", 1)
    monkeypatch.setattr(pipeline, "AnalysisPool", Recorded)
    return started


def _register(tmp_path: Path, name: str, workers: int) -> tuple[Pipeline, Register]:
    root = tmp_path / name
    root.mkdir()
    fill_maildir(root / "box", *BACKLOG)
    settings = local_settings(f"sqlite:///{root / 'r.sqlite3'}", root, workers=workers)
    register = Register(settings.database.url)
    return Pipeline(settings, register), register


def _outcome(register: Register) -> list[tuple[Any, ...]]:
    """What each message became, by its bytes (the Maildir's order is not delivery order)."""
    with register.transaction() as s:
        rows = s.execute(
            select(StoredMessage, Case).outerjoin(Case, Case.id == StoredMessage.case_id)
        ).all()
        return sorted(
            (
                m.sha256,
                m.disposition,
                m.attempts,
                c.category if c else None,
                c.language if c else None,
            )
            for m, c in rows
        )


def _gone(pids: set[int]) -> bool:
    return not any(Path(f"/proc/{pid}").exists() for pid in pids)


def test_the_pool_registers_exactly_what_the_main_process_would(
    tmp_path: Path, pooled: list[analysis.AnalysisPool]
) -> None:
    alone, alone_register = _register(tmp_path, "alone", workers=1)
    pool, pool_register = _register(tmp_path, "pool", workers=2)
    try:
        alone.run_once()
        assert pooled == [], "workers = 1: analysed in the main process"
        pool.run_once()
        assert len(pooled) == 1
        pids = pooled[0].pids()
        assert os.getpid() not in pids
        expected = _outcome(alone_register)
        assert _outcome(pool_register) == expected
        assert {row[1] for row in expected} == {
            Disposition.CASE,
            Disposition.MACHINE,
            Disposition.QUARANTINED,
        }
        assert "cy" in {row[4] for row in expected}, "the Welsh message was read as Welsh"
        assert not pooled[0].broken
        assert _gone(pids), "the workers stop with the pass"
    finally:
        alone_register.dispose()
        pool_register.dispose()


def test_a_killed_worker_costs_its_message_nothing(
    tmp_path: Path,
    pooled: list[analysis.AnalysisPool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pipe, register = _register(tmp_path, "killed", workers=3)
    real_start = pipeline.AnalysisPool.__init__

    def start(self: analysis.AnalysisPool, workers: int) -> None:
        """A worker dies (the OOM killer, a segfault) as the backlog is handed over."""
        real_start(self, workers)
        os.kill(min(self.pids()), signal.SIGKILL)
        for _ in range(500):  # until the executor has seen it die: at most 5 s
            if getattr(self._executor, "_broken", False):
                break
            time.sleep(0.01)

    monkeypatch.setattr(pipeline.AnalysisPool, "__init__", start)
    try:
        report = pipe.run_once()
        assert pooled[0].broken, "the pool was written off: every message analysed in-process"
        assert (report.cases_opened, report.machine, report.quarantined) == (5, 1, 1)
        assert report.retried == 0
        with register.transaction() as s:
            stored = s.scalars(select(StoredMessage)).all()
            assert all(m.attempts == 0 for m in stored), "the dead worker counted against none"
            quarantined = [m for m in stored if m.disposition == Disposition.QUARANTINED]
            assert [m.raw for m in quarantined] == [b""]
        assert _gone(pooled[0].pids())
    finally:
        register.dispose()


def test_a_stop_mid_backlog_shuts_the_workers_down_and_leaves_the_rest_pending(
    tmp_path: Path, pooled: list[analysis.AnalysisPool], monkeypatch: pytest.MonkeyPatch
) -> None:
    pipe, register = _register(tmp_path, "stopped", workers=2)
    real_result = analysis.AnalysisPool.result

    def result(self: analysis.AnalysisPool, future: Any) -> Any:
        pipe.stop.set()  # SIGTERM while the first message is in hand (scheduler's handler)
        return real_result(self, future)

    monkeypatch.setattr(analysis.AnalysisPool, "result", result)
    try:
        report = PassReport(fetch=pipe.fetcher().fetch_new())
        pipe.process_pending(report)
        with register.transaction() as s:
            stored = s.scalars(select(StoredMessage)).all()
        pending = [m for m in stored if m.disposition == Disposition.PENDING]
        assert len(pending) == len(BACKLOG) - 1, "the message in hand was finished"
        assert all(m.attempts == 0 for m in pending)
        assert _gone(pooled[0].pids())
    finally:
        register.dispose()
