"""A scheduled job that queues emails in one transaction, then drains the outbox.

The weekly report and the officers' reminders are both this: decide what is owed, queue it
with its once-only record, commit, send. A failure is logged and left for the next run; such
a job must never stop the daemon.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from inbox_agent.clock import Clock
from inbox_agent.deadlines import UkCalendar
from inbox_agent.errors import InboxAgentError
from inbox_agent.register.db import Register
from inbox_agent.send import Sender
from inbox_agent.settings import Settings

log = logging.getLogger(__name__)


class OutboxJob:
    """Subclasses say what to queue (``queue``, True when something was) and name the job."""

    name = "outbox_job"

    def __init__(self, settings: Settings, register: Register, sender: Sender, clock: Clock):
        self.settings = settings
        self.register = register
        self.sender = sender
        self.clock = clock
        self.calendar = UkCalendar.from_settings(settings.calendar)

    def queue(self, session: Session) -> bool:
        raise NotImplementedError

    def __call__(self) -> None:
        try:
            with self.register.transaction() as session:
                queued = self.queue(session)
            if queued:
                self.sender.drain()
        except InboxAgentError as exc:
            log.error("event=%s_failed error=%s", self.name, exc)
        except Exception:  # a bug here must not take the scheduler thread down
            log.exception("event=%s_crashed", self.name)
