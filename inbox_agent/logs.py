"""One line per event, addresses redacted, the case reference in the line.

Redaction is a logging filter, so it applies to every record from every module (and from the
libraries we call) in one place; no call site has to remember it. The address keeps its first
character and domain, enough for an IT officer to tell two senders apart, not to identify one.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import sys
from collections.abc import Iterator

_ADDRESS = re.compile(r"([A-Za-z0-9._%+'-])[A-Za-z0-9._%+'-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


# the mailbox a thread is working for, when the daemon serves several (see ``deployment``)
_MAILBOX: contextvars.ContextVar[str | None] = contextvars.ContextVar("mailbox", default=None)
SINGLE_MAILBOX = "default"


@contextlib.contextmanager
def mailbox_context(name: str) -> Iterator[None]:
    """Tag every line logged in this block with ``mailbox=<name>`` (not for the only one)."""
    token = _MAILBOX.set(None if name == SINGLE_MAILBOX else name)
    try:
        yield
    finally:
        _MAILBOX.reset(token)


def redact(text: str) -> str:
    """``jane.doe@example.org`` -> ``j***@example.org``."""
    return _ADDRESS.sub(r"\1***@\2", text)


class RedactingFilter(logging.Filter):
    """Renders the message once, redacts it, and freezes it so handlers cannot re-expand args."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        mailbox = _MAILBOX.get()
        if mailbox is not None:
            message = f"mailbox={mailbox} {message}"
        record.msg = redact(message).replace("\n", "\\n")
        record.args = None
        return True


def setup_logging(level: str = "INFO") -> None:
    """Configure the root logger for systemd's journal: stderr, one line per event."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("imapclient").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
