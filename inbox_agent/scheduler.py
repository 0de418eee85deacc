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
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler

from inbox_agent.errors import MailboxUnavailable, OperatorError, TransientError
from inbox_agent.idle import IdleWatcher
from inbox_agent.logs import mailbox_context
from inbox_agent.ops.alerts import PollAlerts
from inbox_agent.ops.watchdog import BusyTimer, Watchdog, WatchdogJob
from inbox_agent.pipeline import PassReport, Pipeline

log = logging.getLogger(__name__)
MAX_BACKOFF = dt.timedelta(minutes=15)
MAX_WAKE_PASSES = 5  # passes one call may run while IDLE keeps waking it; then the schedule


class PassObserver(Protocol):
    """What ``metrics.Metrics`` implements."""

    def observe_pass(self, report: PassReport, mailbox: str) -> None: ...

    def observe_failure(self, mailbox: str) -> None: ...


class _Unobserved:
    def observe_pass(self, report: PassReport, mailbox: str) -> None:
        return None

    def observe_failure(self, mailbox: str) -> None:
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
        with mailbox_context(self.pipeline.name):
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
        if report.standby:  # another node polls this mailbox; its alerts are that node's
            self.failures, self.not_before, self.mailbox_down = 0, None, False
            self.watchdog.ping()
            return
        if self.failures:
            log.info("event=poll_recovered after_failures=%d", self.failures)
        if self.failures or not self.alert_state_checked:
            self.alerts.recovered()
            self.alert_state_checked = True
        self.failures, self.not_before, self.mailbox_down = 0, None, False
        self.observer.observe_pass(report, self.pipeline.name)
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
        self.observer.observe_failure(self.pipeline.name)
        operator = isinstance(exc, OperatorError)
        if operator:  # retried, but only a human can fix it: nothing is counted or moved
            log.error("event=operator_error action=fix_configuration error=%s", exc)
        self.alerts.failed(f"{type(exc).__name__}: {exc}", immediate=operator)


def run_daemon(pipelines: Sequence[Pipeline], interval: int | None = None) -> None:
    """Block until a signal; each mailbox's first poll runs at once.

    Every mailbox has its own poll job, backoff, alerts, IDLE watcher and weekly report, so
    one failing mailbox backs off alone while the others keep polling. ``interval``
    overrides each profile's ``poll.interval_seconds`` (tests).
    """
    from inbox_agent.ops.metrics import start_metrics  # prometheus-client only when configured

    stop = pipelines[0].stop
    watchdog = Watchdog.from_environment()
    metrics = start_metrics(pipelines)
    jobs = [
        PollJob(
            p, interval or p.settings.poll.interval_seconds, watchdog=watchdog, observer=metrics
        )
        for p in pipelines
    ]
    previous = _install_signal_handlers(stop.set)
    # a thread per poll job, per report and per reminder job, plus the watchdog: no mailbox
    # waits for another
    scheduler = BackgroundScheduler(
        timezone="UTC", executors={"default": ThreadPoolExecutor(3 * len(jobs) + 1)}
    )
    watchers: list[IdleWatcher] = []
    try:
        for job in jobs:
            _add_jobs(scheduler, job)
        if watchdog.interval is not None:
            scheduler.add_job(
                WatchdogJob(watchdog, lambda: _longest_busy(jobs)),
                "interval",
                seconds=watchdog.interval,
                id="watchdog",
                max_instances=1,
                coalesce=True,
            )
        scheduler.start()
        for job in jobs:
            watcher = _start_idle_watcher(job, scheduler)
            if watcher is not None:
                watchers.append(watcher)
        watchdog.ready()
        log.info(
            "event=started mailboxes=%s watchdog=%s",
            ",".join(p.name for p in pipelines),
            watchdog.interval,
        )
        stop.wait()
        watchdog.stopping()
        scheduler.shutdown(wait=True)
    finally:
        for watcher in watchers:
            if not watcher.stop_and_join():
                log.warning("event=idle_stop_timeout")
        if scheduler.running:
            scheduler.shutdown(wait=False)
        for p in pipelines:
            p.lease.release()
        if metrics is not None:
            metrics.close()
        _restore_signal_handlers(previous)
    log.info("event=stopped")


def _add_jobs(scheduler: BackgroundScheduler, job: PollJob) -> None:
    """The mailbox's poll, its officers' reminders, and its weekly report when asked for."""
    pipeline = job.pipeline
    seconds = int(job.interval.total_seconds())
    scheduler.add_job(
        job,
        "interval",
        seconds=seconds,
        id=f"poll:{pipeline.name}",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=seconds,
        next_run_time=dt.datetime.now(dt.UTC),
    )
    if pipeline.settings.casework.reminders:
        from inbox_agent.ops.reminders import ReminderJob  # officers' reminders, escalations

        scheduler.add_job(
            ReminderJob(pipeline.settings, pipeline.register, pipeline.sender, pipeline.clock),
            "interval",
            seconds=seconds,
            id=f"reminders:{pipeline.name}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=seconds,
        )
    if pipeline.settings.transparency.weekly_report_to is not None:
        from inbox_agent.ops.reports import WeeklyReportJob  # the summary to the Chief Executive

        report = WeeklyReportJob(
            pipeline.settings, pipeline.register, pipeline.sender, pipeline.clock
        )
        scheduler.add_job(
            report,
            "cron",
            **report.trigger_args(),
            id=f"weekly_report:{pipeline.name}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=6 * 3600,
        )


def _longest_busy(jobs: Sequence[PollJob]) -> float | None:
    """How long the longest-running pass has run: the watchdog withholds if any is stuck."""
    busy = [b for b in (job.busy.busy_for() for job in jobs) if b is not None]
    return max(busy) if busy else None


def _start_idle_watcher(job: PollJob, scheduler: BackgroundScheduler) -> IdleWatcher | None:
    """With ``[imap] idle = true``, a thread that wakes the poll job as mail arrives."""
    pipeline = job.pipeline
    settings = pipeline.settings
    if settings.imap is None or not settings.imap.idle:
        return None
    from inbox_agent.fetch import imap_credentials

    job_id = f"poll:{pipeline.name}"

    def trigger() -> None:
        with contextlib.suppress(JobLookupError):
            scheduler.modify_job(job_id, next_run_time=dt.datetime.now(dt.UTC))

    job.trigger = trigger
    password, tokens = imap_credentials(settings)
    watcher = IdleWatcher(
        settings.imap,
        password,
        job.wake,
        stop=pipeline.stop,
        tokens=tokens,
        mailbox=pipeline.name,
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
