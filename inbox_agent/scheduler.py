"""APScheduler wiring only: the poll job, one run at a time, missed runs coalesced, signals.

SIGTERM and SIGINT set the pipeline's stop event: the message in hand is finished and
committed, the pass ends, and the process exits 0 so systemd sees a clean stop. A failing
mailbox or database is retried with exponential backoff rather than every interval, so a
long outage does not flood the journal.

Around each pass the job reports to its hooks: ``alerts`` (an email to the SPOC when polling
has failed too long, and when it recovers), the systemd ``watchdog`` (a keep-alive after each
good pass, and from its own job while no pass is stuck), and optional ``metrics``.

With ``[imap] idle = true`` an ``idle.IdleWatcher`` thread wakes the poll job as soon as the
server reports new mail (``PollJob.wake``); the interval stays as the safety net.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, Protocol

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler

from inbox_agent.alerts import PollAlerts
from inbox_agent.errors import MailboxUnavailable, OperatorError, TransientError
from inbox_agent.idle import IdleWatcher
from inbox_agent.pipeline import PassReport, Pipeline
from inbox_agent.watchdog import BusyTimer, Watchdog, WatchdogJob

log = logging.getLogger(__name__)
MAX_BACKOFF = dt.timedelta(minutes=15)
MAX_WAKE_PASSES = 5  # passes one call may run while IDLE keeps waking it; then the schedule


class PassObserver(Protocol):
    """What ``metrics.Metrics`` implements."""

    def observe_pass(self, report: PassReport) -> None: ...

    def observe_failure(self) -> None: ...


class _Unobserved:
    def observe_pass(self, report: PassReport) -> None:
        return None

    def observe_failure(self) -> None:
        return None


class PollJob:
    """The scheduled callable; remembers failures to space out retries."""

    def __init__(
        self,
        pipeline: Pipeline,
        interval: int,
        *,
        alerts: PollAlerts | None = None,
        watchdog: Watchdog | None = None,
        observer: PassObserver | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.interval = dt.timedelta(seconds=interval)
        self.failures = 0
        self.not_before: dt.datetime | None = None
        self.alerts = alerts or PollAlerts(
            pipeline.settings, pipeline.register, pipeline.sender, pipeline.clock
        )
        self.watchdog = watchdog or Watchdog(None)
        self.observer: PassObserver = observer or _Unobserved()
        self.busy = BusyTimer()
        self.alert_state_checked = False  # a restart may find an outage recorded before it
        self.woken = threading.Event()  # mail arrived (IMAP IDLE): a pass is wanted now
        self.trigger: Callable[[], None] | None = None  # run_daemon: schedule a pass now
        self.mailbox_down = False  # the last pass failed because the mailbox was unreachable

    def wake(self) -> None:
        """Ask for a pass now; thread-safe, and a burst of calls gives one or two passes.

        A pass already running finishes and then runs once more, because the mail that woke
        us may have arrived after its SEARCH. The IDLE watcher only wakes us when the server
        has just answered it, so a backoff after the mailbox was unreachable is cut short.
        """
        self.woken.set()
        if self.mailbox_down:
            self.not_before = None
        if self.busy.busy_for() is None and self.trigger is not None:
            self.trigger()

    def __call__(self) -> None:
        for _ in range(MAX_WAKE_PASSES):
            self.woken.clear()
            self._run_pass()
            if not self.woken.is_set() or self.failures or self.pipeline.stop.is_set():
                return

    def _run_pass(self) -> None:
        now = self.pipeline.clock()
        if self.not_before is not None and now < self.not_before:
            self.alerts.failed(None)  # backing off; the threshold may pass meanwhile
            return
        try:
            with self.busy:
                report = self.pipeline.run_once()
        except (TransientError, OperatorError) as exc:
            self._failed(now, exc)
            return
        except Exception as exc:  # a bug must not stop the daemon, nor go unnoticed
            log.exception("event=poll_crashed")
            self._failed(now, exc)
            return
        if self.failures:
            log.info("event=poll_recovered after_failures=%d", self.failures)
        if self.failures or not self.alert_state_checked:
            self.alerts.recovered()
            self.alert_state_checked = True
        self.failures, self.not_before, self.mailbox_down = 0, None, False
        self.observer.observe_pass(report)
        self.watchdog.ping()

    def _failed(self, now: dt.datetime, exc: Exception) -> None:
        self.failures += 1
        self.mailbox_down = isinstance(exc, MailboxUnavailable)
        delay = min(self.interval * (2 ** min(self.failures, 10)), MAX_BACKOFF)
        self.not_before = now + delay
        log.error(
            "event=poll_failed failures=%d retry_in=%ds error=%s",
            self.failures,
            delay.total_seconds(),
            exc,
        )
        self.observer.observe_failure()
        self.alerts.failed(f"{type(exc).__name__}: {exc}")


def run_daemon(pipeline: Pipeline, interval: int) -> None:
    """Block until a signal; the first poll runs at once."""
    from inbox_agent.metrics import start_metrics  # prometheus-client only when configured

    stop = pipeline.stop
    watchdog = Watchdog.from_environment()
    metrics = start_metrics(pipeline.settings, pipeline.register, pipeline.clock)
    job = PollJob(pipeline, interval, watchdog=watchdog, observer=metrics)
    previous = _install_signal_handlers(stop.set)
    scheduler = BackgroundScheduler(timezone="UTC")
    watcher: IdleWatcher | None = None
    try:
        scheduler.add_job(
            job,
            "interval",
            seconds=interval,
            id="poll",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=interval,
            next_run_time=dt.datetime.now(dt.UTC),
        )
        if watchdog.interval is not None:
            scheduler.add_job(
                WatchdogJob(watchdog, job.busy.busy_for),
                "interval",
                seconds=watchdog.interval,
                id="watchdog",
                max_instances=1,
                coalesce=True,
            )
        if pipeline.settings.transparency.weekly_report_to is not None:
            from inbox_agent.reports import WeeklyReportJob  # the summary to the Chief Executive

            report = WeeklyReportJob(
                pipeline.settings, pipeline.register, pipeline.sender, pipeline.clock
            )
            scheduler.add_job(
                report,
                "cron",
                **report.trigger_args(),
                id="weekly_report",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=6 * 3600,
            )
        scheduler.start()
        watcher = _start_idle_watcher(pipeline, job, scheduler)
        watchdog.ready()
        log.info("event=started interval=%ds watchdog=%s", interval, watchdog.interval)
        stop.wait()
        watchdog.stopping()
        scheduler.shutdown(wait=True)
    finally:
        if watcher is not None and not watcher.stop_and_join():
            log.warning("event=idle_stop_timeout")
        if scheduler.running:
            scheduler.shutdown(wait=False)
        if metrics is not None:
            metrics.close()
        _restore_signal_handlers(previous)
    log.info("event=stopped")


def _start_idle_watcher(
    pipeline: Pipeline, job: PollJob, scheduler: BackgroundScheduler
) -> IdleWatcher | None:
    """With ``[imap] idle = true``, a thread that wakes the poll job as mail arrives."""
    settings = pipeline.settings
    if settings.imap is None or not settings.imap.idle:
        return None
    from inbox_agent.oauth import token_provider

    def trigger() -> None:
        with contextlib.suppress(JobLookupError):
            scheduler.modify_job("poll", next_run_time=dt.datetime.now(dt.UTC))

    job.trigger = trigger
    password = settings.imap_password
    watcher = IdleWatcher(
        settings.imap,
        password.get_secret_value() if password else "",
        job.wake,
        stop=pipeline.stop,
        tokens=token_provider(settings) if settings.imap.auth == "oauth2" else None,
    )
    watcher.start()
    return watcher


def _install_signal_handlers(on_stop: Callable[[], None]) -> dict[int, Any]:
    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("event=stopping signal=%s", signal.Signals(signum).name)
        on_stop()

    previous: dict[int, Any] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous[signum] = signal.signal(signum, _on_signal)
    return previous


def _restore_signal_handlers(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
