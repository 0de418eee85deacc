"""The one clock tests move by hand: wall-clock datetimes or monotonic seconds.

Backoff, token expiry, alert streaks and IDLE's keep-alive all read an injected clock; this
one stands still until a test calls ``advance`` (or sets ``now``), so hours can pass without
sleeping and every loop over time stays bounded.
"""

from __future__ import annotations

import datetime as dt
from typing import Generic, TypeVar

Moment = TypeVar("Moment", dt.datetime, float)


class FakeClock(Generic[Moment]):
    """``FakeClock(start)`` is a ``Clock`` (datetimes) or a ``monotonic`` (floats) by ``start``."""

    def __init__(self, start: Moment) -> None:
        self.now: Moment = start

    def __call__(self) -> Moment:
        return self.now

    def advance(self, delta: dt.timedelta | float) -> None:
        """Move on by ``delta`` (a timedelta, or seconds) for either kind of clock."""
        seconds = delta.total_seconds() if isinstance(delta, dt.timedelta) else float(delta)
        if isinstance(self.now, dt.datetime):
            self.now = self.now + dt.timedelta(seconds=seconds)
        else:
            self.now = self.now + seconds
