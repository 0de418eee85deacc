"""The pure CPU part of handling a stored message: parse, classify, read its language.

Nothing here reads the register or talks to a server, which is what lets it run in worker
processes while the main process keeps every database write, in stored-message order
(``pipeline``). Parsing and the spaCy textcat are most of a message's CPU time, so on a
backlog ``[poll] workers - 1`` processes analyse the messages ahead of the one being registered.

A worker is only ever a way to get an answer sooner. Whatever goes wrong in one (it raises,
it dies, it hangs, its answer cannot be pickled), the main process analyses that message
itself, so a message meets exactly the errors, quarantine and attempt counting it would
meet without a pool, and a dead worker never counts against the message it was holding.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from inbox_agent.classify import Classification
from inbox_agent.classify.classifier import classify_message
from inbox_agent.classify.text import mail_text
from inbox_agent.language import Language, detect_language
from inbox_agent.parse import ParsedMail, parse_message

log = logging.getLogger(__name__)
WORKER_TIMEOUT_S = 120.0
"""Longest wait for one worker's answer; then the pool is written off and the main process
analyses the message itself (with the same bounds it always has: ``parse.MAX_*_CHARS``)."""


@dataclass(frozen=True)
class Analysis:
    """What the register needs to know about a message before it touches the register."""

    mail: ParsedMail
    classification: Classification
    language: Language | None  # the sender's own words; None for machine mail (never read)


def analyse(raw: bytes, own_addresses: frozenset[str]) -> Analysis:
    """Parse and classify ``raw``; raises what ``parse_message`` and the classifier raise."""
    mail = parse_message(raw)
    classification = classify_message(mail, own_addresses)
    language = None if classification.machine_headers else detect_language(mail_text(mail))
    return Analysis(mail, classification, language)


WARM_UP = (
    b"From: Warm Up <warm.up@localhost>\r\nSubject: Police and crime plan\r\n\r\n"
    b"How much of the police and crime plan budget is spent on road safety?\r\n"
)
"""A message every model reads at a worker's start, so its first real one is not slower."""


def _start_worker() -> None:
    """Load the models once per worker, and leave signals to the main process.

    systemd signals the whole control group: a worker that died of SIGTERM would only make
    the main process redo its message; the main process finishes its message and shuts the
    pool down itself.
    """
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    analyse(WARM_UP, frozenset())


def _analyse_in_worker(raw: bytes, own_addresses: frozenset[str]) -> Analysis | None:
    """None when this message fails here: the main process analyses it again itself, so the
    error it meets (and logs, with its traceback) is the one it would meet without a pool."""
    try:
        return analyse(raw, own_addresses)
    except Exception:  # reported by the main process's own attempt
        return None


class AnalysisPool:
    """Worker processes (forkserver: never a fork of a process with threads) analysing ahead.

    ``submit`` hands a message to the pool and ``result`` waits for its analysis; None from
    either means "analyse it in-process". After the first broken, hung or refused worker the
    pool is written off for the rest of its life (the pass) and every later message is
    analysed in-process: a pass may get slower, never wrong.
    """

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.broken = False
        self._executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=multiprocessing.get_context("forkserver"),
            initializer=_start_worker,
        )
        # the executor starts a worker per task while none is idle: one task each starts
        # them all now, so they load their models while the main process is still busy
        self._ready = [self._executor.submit(os.getpid) for _ in range(workers)]
        log.info("event=analysis_pool_started workers=%d", workers)

    def pids(self) -> set[int]:
        """The workers' process ids, once each has started (for tests and the benchmark)."""
        return {future.result(timeout=WORKER_TIMEOUT_S) for future in self._ready}

    def submit(self, raw: bytes, own_addresses: frozenset[str]) -> Future[Analysis | None] | None:
        if self.broken:
            return None
        try:
            return self._executor.submit(_analyse_in_worker, raw, own_addresses)
        except (BrokenProcessPool, RuntimeError) as exc:
            self._write_off(exc)
            return None

    def result(self, future: Future[Analysis | None] | None) -> Analysis | None:
        if future is None or self.broken:
            return None
        try:
            return future.result(timeout=WORKER_TIMEOUT_S)
        except (BrokenProcessPool, FutureTimeout) as exc:
            self._write_off(exc)
        except Exception as exc:  # e.g. an answer that could not be pickled
            log.warning("event=analysis_worker_failed error=%s", type(exc).__name__)
        return None

    def _write_off(self, exc: BaseException) -> None:
        if not self.broken:
            log.warning(
                "event=analysis_pool_broken error=%s messages_analysed=in_process",
                type(exc).__name__ or "timeout",
            )
        self.broken = True
        self._terminate()

    def _terminate(self) -> None:
        """Stop every worker now: one that hangs must not hold the pass, or the shutdown."""
        processes = dict(getattr(self._executor, "_processes", None) or {})
        self._executor.shutdown(wait=False, cancel_futures=True)
        for process in processes.values():
            if process.is_alive():
                process.kill()
        for process in processes.values():
            process.join(timeout=5)

    def close(self) -> None:
        """Cancel what has not started and wait for the workers to exit (end of a pass,
        SIGTERM): no worker outlives the pass that started it."""
        if self.broken:
            return
        self._executor.shutdown(wait=True, cancel_futures=True)
        log.info("event=analysis_pool_stopped workers=%d", self.workers)
