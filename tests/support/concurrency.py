"""Jobs fired at the same instant, as two nodes' schedulers fire the same cron trigger.

A test of "two nodes, one email" is only meaningful if both jobs really run at once: a barrier
releases every thread together, and each join is bounded, so a job that hangs fails the test
instead of hanging the suite. An exception in a job is raised in the test, not lost in its
thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

BARRIER_TIMEOUT_S = 10.0


def fire_together(jobs: Sequence[Callable[[], object]], *, timeout: float = 60.0) -> None:
    """Run every job in its own thread, released by one barrier; wait at most ``timeout``."""
    barrier = threading.Barrier(len(jobs), timeout=BARRIER_TIMEOUT_S)
    errors: list[BaseException] = []

    def fire(job: Callable[[], object]) -> None:
        try:
            barrier.wait()
            job()
        except BaseException as exc:  # handed to the test below
            errors.append(exc)

    threads = [threading.Thread(target=fire, args=(job,), daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    hung = sum(thread.is_alive() for thread in threads)
    assert not hung, f"{hung} of {len(jobs)} jobs still running after {timeout:.0f}s"
    if errors:
        raise errors[0]
