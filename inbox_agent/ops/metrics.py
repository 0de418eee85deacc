"""An optional Prometheus endpoint (``[metrics] listen``), off unless configured.

Gauges are read from the register on each scrape through ``health.build_health``, so they are
never stale and cost nothing between scrapes; counters (messages fetched, cases opened, ...)
are added up from each pass's report. Everything is registered on a private registry, so
the endpoint shows only inbox-agent's own figures plus the process collector.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, Counter, start_http_server
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from inbox_agent.clock import Clock
from inbox_agent.errors import ConfigError, InboxAgentError
from inbox_agent.logs import SINGLE_MAILBOX
from inbox_agent.ops.health import Health, build_health
from inbox_agent.pipeline import PassReport, Pipeline
from inbox_agent.register.db import Register
from inbox_agent.settings import Settings

log = logging.getLogger(__name__)
PREFIX = "inbox_agent"


@dataclass(frozen=True)
class Watched:
    """One mailbox the endpoint reports on: its name (the ``mailbox`` label) and register."""

    name: str
    settings: Settings
    register: Register


class HealthCollector(Collector):
    """Builds a Health snapshot per mailbox per scrape; an unreadable register is up=0."""

    def __init__(self, clock: Clock) -> None:
        self.mailboxes: list[Watched] = []
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        up = _family("register_up", "1 when the register could be read")
        healths: list[tuple[str, Health]] = []
        for watched in self.mailboxes:
            try:
                with watched.register.transaction() as session:
                    healths.append(
                        (watched.name, build_health(session, self.clock(), watched.settings))
                    )
            except InboxAgentError as exc:
                log.warning("event=metrics_register_unavailable error=%s", exc)
                up.add_metric([watched.name], 0)
            else:
                up.add_metric([watched.name], 1)
        yield up
        yield from health_metrics(healths)


def health_metrics(healths: Sequence[tuple[str, Health]]) -> Iterator[Metric]:
    """One family per figure, one sample per mailbox (Prometheus wants each name once)."""
    for name, documentation, value in _FIGURES:
        family = _family(name, documentation)
        for mailbox, health in healths:
            family.add_metric([mailbox], value(health))
        yield family
    last = GaugeMetricFamily(
        f"{PREFIX}_last_successful_poll_timestamp_seconds",
        "Unix time of the last successful poll, per source",
        labels=["mailbox", "account", "folder"],
    )
    for mailbox, health in healths:
        for source in health.sources:
            if source.last_success_at is not None:
                last.add_metric(
                    [mailbox, source.account, source.folder], source.last_success_at.timestamp()
                )
    yield last


def _oldest_queued(health: Health) -> float:
    return health.oldest_queued_age.total_seconds() if health.oldest_queued_age else 0.0


_FIGURES: tuple[tuple[str, str, Callable[[Health], float]], ...] = (
    ("healthy", "1 when status would exit 0", lambda h: int(not h.degraded)),
    ("pending_messages", "stored messages not yet processed", lambda h: h.pending_messages),
    ("outbox_queued", "emails waiting to be sent", lambda h: h.queued_emails),
    ("outbox_oldest_queued_age_seconds", "age of the oldest queued email", _oldest_queued),
    ("outbox_failed", "emails that failed permanently", lambda h: h.failed_emails),
    ("quarantined_messages", "messages staff must look at", lambda h: h.quarantined),
    ("overdue_statutory_cases", "FOI/SAR cases past due", lambda h: len(h.overdue)),
)


def _family(name: str, documentation: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=["mailbox"])


class Metrics:
    """The registry, the pass counters, and the HTTP server once started.

    One endpoint for the daemon; every figure carries a ``mailbox`` label, so a daemon serving
    several offices shows each one's backlog and failures apart.
    """

    def __init__(
        self, settings: Settings, register: Register, clock: Clock, name: str = SINGLE_MAILBOX
    ) -> None:
        self.health = HealthCollector(clock)
        self.registry = CollectorRegistry()
        self.registry.register(self.health)
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
        self.watch(name, settings, register)

    def watch(self, name: str, settings: Settings, register: Register) -> None:
        """Report on one more mailbox (the daemon adds each one it serves).

        Its counters start at 0, so a rate or an alert on them works before the first event.
        """
        self.health.mailboxes.append(Watched(name, settings, register))
        for counter in (
            self.fetched,
            self.cases_opened,
            self.machine,
            self.quarantined,
            self.emails_sent,
            self.polls,
            self.poll_failures,
        ):
            counter.labels(name)

    def _counter(self, name: str, documentation: str) -> Counter:
        return Counter(
            f"{PREFIX}_{name}", documentation, labelnames=["mailbox"], registry=self.registry
        )

    def observe_pass(self, report: PassReport, mailbox: str = SINGLE_MAILBOX) -> None:
        self.polls.labels(mailbox).inc()
        self.fetched.labels(mailbox).inc(report.fetch.stored)
        self.cases_opened.labels(mailbox).inc(report.cases_opened)
        self.machine.labels(mailbox).inc(report.machine)
        self.quarantined.labels(mailbox).inc(report.quarantined)
        self.emails_sent.labels(mailbox).inc(report.sent.sent)

    def observe_failure(self, mailbox: str = SINGLE_MAILBOX) -> None:
        self.poll_failures.labels(mailbox).inc()

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


def start_metrics(pipelines: Sequence[Pipeline]) -> Metrics | None:
    """The endpoint when the first profile sets ``metrics.listen``, else None.

    ``[metrics]`` is daemon-wide (one port), so it is read from the first mailbox; every
    mailbox is reported on.
    """
    first = pipelines[0]
    if first.settings.metrics.listen is None:
        return None
    metrics = Metrics(first.settings, first.register, first.clock, first.name)
    for pipeline in pipelines[1:]:
        metrics.watch(pipeline.name, pipeline.settings, pipeline.register)
    metrics.start(*first.settings.metrics.address)
    return metrics
