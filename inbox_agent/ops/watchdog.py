"""systemd notifications (sd_notify): READY, WATCHDOG keep-alives, STOPPING.

The protocol is one datagram per notification to the AF_UNIX socket named in
``$NOTIFY_SOCKET`` (a path, or ``@name`` in the abstract namespace), so it is written out here
rather than taken from a dependency. Outside systemd the variable is unset and every call is
a no-op. With ``WatchdogSec=`` in the unit, systemd sets ``$WATCHDOG_USEC`` and kills a
service that stays silent that long; we ping at half that interval, but only while the poll
job is idle or has been busy for less than ``STALL_LIMIT``, so a pass that hangs (a peer that
never answers, a deadlock) gets the daemon restarted instead of sitting silent for weeks.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping

log = logging.getLogger(__name__)
STALL_LIMIT = 30 * 60.0
"""Seconds one poll pass may run before the keep-alives stop (a first run with a large
backlog takes minutes; every network operation has its own timeout of about a minute)."""


class Watchdog:
    """Where to send notifications, and how often systemd wants a keep-alive."""

    def __init__(self, address: str | None, interval: float | None = None) -> None:
        self.address = address
        self.interval = interval  # seconds between keep-alives; None: no watchdog configured

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> Watchdog:
        address = environ.get("NOTIFY_SOCKET") or None
        interval = None
        usec = environ.get("WATCHDOG_USEC", "")
        pid = environ.get("WATCHDOG_PID", "")
        if usec.isdigit() and int(usec) > 0 and (not pid or pid == str(os.getpid())):
            interval = int(usec) / 2_000_000
        return cls(address, interval)

    def notify(self, state: str) -> bool:
        """Send ``state`` (e.g. ``"READY=1"``); False when not under systemd or it failed."""
        if not self.address:
            return False
        target = self.address
        if target.startswith("@"):
            target = "\0" + target[1:]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(target)
                sock.sendall(state.encode("utf-8"))
        except OSError as exc:
            log.warning("event=sd_notify_failed state=%s error=%s", state, exc)
            return False
        return True

    def ready(self) -> bool:
        return self.notify("READY=1")

    def ping(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.notify("STOPPING=1")


class WatchdogJob:
    """The periodic keep-alive: sent while ``busy_for()`` shows no stalled pass."""

    def __init__(
        self,
        watchdog: Watchdog,
        busy_for: Callable[[], float | None],
        *,
        stall_limit: float = STALL_LIMIT,
    ) -> None:
        self.watchdog = watchdog
        self.busy_for = busy_for
        self.stall_limit = stall_limit
        self.withheld = False

    def __call__(self) -> None:
        busy = self.busy_for()
        if busy is not None and busy > self.stall_limit:
            if not self.withheld:
                log.error("event=watchdog_withheld pass_running_for=%ds", busy)
            self.withheld = True
            return
        self.withheld = False
        self.watchdog.ping()


class BusyTimer:
    """How long the current pass has been running (monotonic), None when idle."""

    def __init__(self) -> None:
        self.started: float | None = None

    def __enter__(self) -> BusyTimer:
        self.started = time.monotonic()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.started = None

    def busy_for(self) -> float | None:
        started = self.started
        return None if started is None else time.monotonic() - started
