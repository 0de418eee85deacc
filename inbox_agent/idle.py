"""IMAP IDLE: new mail is processed within seconds of arrival, not at the next poll.

An ``IdleWatcher`` thread holds one IMAP connection of its own, SELECTs the folder read-only
and waits in IDLE (RFC 2177). When the server reports EXISTS or RECENT it calls
``on_new_mail`` (the scheduler wakes the poll job). It never fetches, flags or moves anything
itself, so saving before touching the mailbox stays the poll pass's job, and the scheduled
poll remains the safety net.

- IDLE is re-issued every ``imap.idle_renew_seconds`` (default 25 minutes, inside the
  29-minute inactivity timeout RFC 2177 allows servers, and most NAT idle timeouts).
- A dropped connection is retried with exponential backoff, 1 s doubling to 5 minutes, one
  log line per event; a connection that stayed up ``STABLE_SECONDS`` resets the backoff.
  Every (re)connection wakes the poll once, for mail that arrived while nobody was watching.
- A server that does not advertise IDLE is logged once and left to the poll.
- The stop event (SIGTERM) is looked at every ``CHECK_SECONDS`` at most.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import imapclient

from inbox_agent.errors import InboxAgentError, MailboxUnavailable
from inbox_agent.fetch import imap_session, select_inbox
from inbox_agent.logs import SINGLE_MAILBOX, mailbox_context
from inbox_agent.oauth import TokenProvider
from inbox_agent.settings import ImapSettings

log = logging.getLogger(__name__)

CHECK_SECONDS = 0.5
"""Longest single wait for an IDLE response; bounds how long a stop request goes unseen."""
STABLE_SECONDS = 60.0
"""A connection that lasted this long was a success: the next drop starts the backoff again."""
JOIN_SECONDS = 10.0
"""How long ``stop_and_join`` waits for the thread (a LOGOUT on a slow link included)."""
NEW_MAIL = frozenset({b"EXISTS", b"RECENT"})


@dataclass
class Backoff:
    """Exponential delays between reconnection attempts: initial, 2x, 4x ... up to maximum."""

    initial: float = 1.0
    maximum: float = 300.0
    failures: int = 0

    def next_delay(self) -> float:
        delay = min(self.initial * 2.0 ** min(self.failures, 30), self.maximum)
        self.failures += 1
        return delay

    def reset(self) -> None:
        self.failures = 0


def has_new_mail(responses: Sequence[tuple[object, ...]]) -> bool:
    """``* 3 EXISTS`` or ``* 1 RECENT`` among the untagged responses."""
    return any(
        len(r) > 1 and r[1] in NEW_MAIL and not (r[1] == b"RECENT" and r[0] == 0) for r in responses
    )


def says_bye(responses: Sequence[tuple[object, ...]]) -> bool:
    """``* BYE``: the server is closing the connection (shutting down, or its own timeout)."""
    return any(r and r[0] == b"BYE" for r in responses)


class IdleWatcher(threading.Thread):
    """One IDLE connection to ``cfg.folder`` that calls ``on_new_mail`` when mail arrives."""

    def __init__(
        self,
        cfg: ImapSettings,
        password: str,
        on_new_mail: Callable[[], None],
        *,
        stop: threading.Event,
        tokens: TokenProvider | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        backoff: Backoff | None = None,
        check_seconds: float = CHECK_SECONDS,
        mailbox: str = SINGLE_MAILBOX,
    ) -> None:
        super().__init__(name=f"imap-idle-{mailbox}", daemon=True)
        self.mailbox = mailbox  # names the mailbox in this thread's log lines
        self.cfg = cfg
        self.password = password
        self.on_new_mail = on_new_mail
        self.stop = stop
        self.tokens = tokens
        self.monotonic = monotonic
        self.backoff = backoff or Backoff()
        self.check_seconds = check_seconds
        self.renew_seconds = cfg.idle_renew_seconds
        self.renewals = 0
        self.connected_at: float | None = None

    def run(self) -> None:
        with mailbox_context(self.mailbox):
            self._watch()

    def _watch(self) -> None:
        while not self.stop.is_set():
            try:
                if not self.watch_once():
                    return  # no IDLE on this server: the scheduled poll does the work
            except InboxAgentError as exc:
                self._dropped(exc)
            except Exception as exc:  # a bug must not end the watcher silently
                log.exception("event=idle_crashed")
                self._dropped(exc)
        log.info("event=idle_stopped")

    def stop_and_join(self, timeout: float = JOIN_SECONDS) -> bool:
        """Set the stop event and wait for the thread; True if it ended in time."""
        self.stop.set()
        if self.is_alive():
            self.join(timeout)
        return not self.is_alive()

    def watch_once(self) -> bool:
        """Connect, IDLE until stopped or dropped; False if the server has no IDLE."""
        with imap_session(self.cfg, self.password, self.tokens) as client:
            if not client.has_capability("IDLE"):
                log.warning("event=idle_unsupported host=%s; polling only", self.cfg.host)
                return False
            select_inbox(client, self.cfg, readonly=True)  # a missing folder says so
            self.connected_at = self.monotonic()
            event = "idle_reconnected" if self.backoff.failures else "idle_watching"
            log.info(
                "event=%s folder=%s after_failures=%d",
                event,
                self.cfg.folder,
                self.backoff.failures,
            )
            self.on_new_mail()  # catch up on anything that arrived while we were not idling
            self.idle(client)
        return True

    def idle(self, client: imapclient.IMAPClient) -> None:
        """IDLE until the stop event; re-issue every ``renew_seconds``; raise when dropped."""
        client.idle()
        renew_at = self.monotonic() + self.renew_seconds
        while not self.stop.is_set():
            started = self.monotonic()
            timeout = max(0.0, min(self.check_seconds, renew_at - started))
            responses = client.idle_check(timeout=timeout)
            if has_new_mail(responses):
                self.on_new_mail()
            if says_bye(responses):
                raise MailboxUnavailable(f"{self.cfg.host} closed the IDLE connection")
            now = self.monotonic()
            early = not responses and now - started < timeout / 2
            if now >= renew_at or early:
                # renewal; or a wake-up with nothing to read, which is how imapclient
                # reports a closed socket: DONE then fails, and we reconnect
                client.idle_done()
                client.idle()
                if not early:
                    self.renewals += 1
                    log.debug("event=idle_renewed renewals=%d", self.renewals)
                renew_at = now + self.renew_seconds
        client.idle_done()

    def _dropped(self, exc: Exception) -> None:
        up_for = None if self.connected_at is None else self.monotonic() - self.connected_at
        if up_for is not None and up_for >= STABLE_SECONDS:
            self.backoff.reset()
        self.connected_at = None
        if self.stop.is_set():
            return
        delay = self.backoff.next_delay()
        log.warning(
            "event=idle_dropped failures=%d retry_in=%.0fs error=%s",
            self.backoff.failures,
            delay,
            exc,
        )
        self.stop.wait(delay)
