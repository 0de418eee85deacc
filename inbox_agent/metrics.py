"""An optional Prometheus endpoint (``[metrics] listen``), off unless configured.

Gauges are read from the register on each scrape through ``health.build_health``, so they are
never stale and cost nothing between scrapes; counters (messages fetched, cases opened, ...)
are added up from each pass's report. Everything is registered on a private registry, so
the endpoint shows only inbox-agent's own figures plus the process collector.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from inbox_agent.errors import ConfigError, InboxAgentError
from inbox_agent.health import Health, build_health
from inbox_agent.pipeline import PassReport
from inbox_agent.register.db import Register
from inbox_agent.settings import Settings

log = logging.getLogger(__name__)
Clock = Callable[[], dt.datetime]
PREFIX = "inbox_agent"


class HealthCollector(Collector):
    """Builds a Health snapshot per scrape; a register that cannot be read reports up=0."""

    def __init__(self, settings: Settings, register: Register, clock: Clock) -> None:
        self.settings = settings
        self.register = register
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        try:
            with self.register.transaction() as session:
                health = build_health(session, self.clock(), self.settings)
        except InboxAgentError as exc:
            log.warning("event=metrics_register_unavailable error=%s", exc)
            yield _gauge("register_up", "1 when the register could be read", 0)
            return
        yield _gauge("register_up", "1 when the register could be read", 1)
        yield from health_metrics(health)


def health_metrics(health: Health) -> Iterator[Metric]:
    yield _gauge("healthy", "1 when status would exit 0", int(not health.degraded))
    yield _gauge("pending_messages", "stored messages not yet processed", health.pending_messages)
    yield _gauge("outbox_queued", "emails waiting to be sent", health.queued_emails)
    age = health.oldest_queued_age.total_seconds() if health.oldest_queued_age else 0.0
    yield _gauge("outbox_oldest_queued_age_seconds", "age of the oldest queued email", age)
    yield _gauge("outbox_failed", "emails that failed permanently", health.failed_emails)
    yield _gauge("quarantined_messages", "messages staff must look at", health.quarantined)
    yield _gauge("overdue_statutory_cases", "FOI/SAR cases past due", len(health.overdue))
    last = GaugeMetricFamily(
        f"{PREFIX}_last_successful_poll_timestamp_seconds",
        "Unix time of the last successful poll, per source",
        labels=["account", "folder"],
    )
    for source in health.sources:
        if source.last_success_at is not None:
            last.add_metric([source.account, source.folder], source.last_success_at.timestamp())
    yield last


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, value=value)


class Metrics:
    """The registry, the pass counters, and the HTTP server once started."""

    def __init__(self, settings: Settings, register: Register, clock: Clock) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(HealthCollector(settings, register, clock))
        ProcessCollector(namespace=PREFIX, registry=self.registry)
        self.fetched = self._counter("messages_fetched", "new messages stored from the source")
        self.cases_opened = self._counter("cases_opened", "cases opened in the register")
        self.machine = self._counter("machine_messages", "machine mail logged, not answered")
        self.quarantined = self._counter("messages_quarantined", "messages quarantined")
        self.emails_sent = self._counter("emails_sent", "emails accepted by the server")
        self.polls = self._counter("polls", "poll passes that completed")
        self.poll_failures = self._counter("poll_failures", "poll passes that failed")
        self.server: WSGIServer | None = None
        self.thread: threading.Thread | None = None

    def _counter(self, name: str, documentation: str) -> Counter:
        return Counter(f"{PREFIX}_{name}", documentation, registry=self.registry)

    def observe_pass(self, report: PassReport) -> None:
        self.polls.inc()
        self.fetched.inc(report.fetch.stored)
        self.cases_opened.inc(report.cases_opened)
        self.machine.inc(report.machine)
        self.quarantined.inc(report.quarantined)
        self.emails_sent.inc(report.sent.sent)

    def observe_failure(self) -> None:
        self.poll_failures.inc()

    def start(self, host: str, port: int) -> None:
        try:
            self.server, self.thread = start_http_server(port, host, registry=self.registry)
        except OSError as exc:
            raise ConfigError(f"metrics.listen: cannot listen on {host}:{port}: {exc}") from exc
        log.info("event=metrics_listening address=%s:%d", host, port)

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self.thread is not None:
            self.thread.join(timeout=5)
            self.thread = None


def start_metrics(settings: Settings, register: Register, clock: Clock) -> Metrics | None:
    """The endpoint when ``metrics.listen`` is set, else None."""
    if settings.metrics.listen is None:
        return None
    metrics = Metrics(settings, register, clock)
    metrics.start(*settings.metrics.address)
    return metrics
