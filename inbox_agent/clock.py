"""What time it is, as one injectable callable.

Every part that dates something (statutory clocks, backoff, audit events, the web UI) takes
a ``Clock`` so tests can stand on a fixed day; ``utc_now`` is the real one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
