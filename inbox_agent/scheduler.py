"""APScheduler wiring only: the poll job, one run at a time, missed runs coalesced, signals.

SIGTERM and SIGINT set the pipeline's stop event: the message in hand is finished and
committed, the pass ends, and the process exits 0 so systemd sees a clean stop. A failing
mailbox or database is retried with exponential backoff rather than every interval, so a
long outage does not flood the journal.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler

from inbox_agent.errors import OperatorError, TransientError
from inbox_agent.pipeline import Pipeline

log = logging.getLogger(__name__)
MAX_BACKOFF = dt.timedelta(minutes=15)


class PollJob:
    """The scheduled callable; remembers failures to space out retries."""

    def __init__(self, pipeline: Pipeline, interval: int) -> None:
        self.pipeline = pipeline
        self.interval = dt.timedelta(seconds=interval)
        self.failures = 0
        self.not_before: dt.datetime | None = None

    def __call__(self) -> None:
        now = self.pipeline.clock()
        if self.not_before is not None and now < self.not_before:
            return
        try:
            self.pipeline.run_once()
        except (TransientError, OperatorError) as exc:
            self.failures += 1
            delay = min(self.interval * (2 ** min(self.failures, 10)), MAX_BACKOFF)
            self.not_before = now + delay
            log.error(
                "event=poll_failed failures=%d retry_in=%ds error=%s",
                self.failures,
                delay.total_seconds(),
                exc,
            )
            return
        if self.failures:
            log.info("event=poll_recovered after_failures=%d", self.failures)
        self.failures, self.not_before = 0, None


def run_daemon(pipeline: Pipeline, interval: int) -> None:
    """Block until a signal; the first poll runs at once."""
    stop = pipeline.stop

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("event=stopping signal=%s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        PollJob(pipeline, interval),
        "interval",
        seconds=interval,
        id="poll",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=interval,
        next_run_time=dt.datetime.now(dt.UTC),
    )
    scheduler.start()
    log.info("event=started interval=%ds", interval)
    stop.wait()
    scheduler.shutdown(wait=True)
    log.info("event=stopped")
