"""One line per event, addresses redacted, the case reference in the line.

Redaction is a logging filter, so it applies to every record from every module (and from the
libraries we call) in one place; no call site has to remember it. The address keeps its first
character and domain, enough for an IT officer to tell two senders apart, not to identify one.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import os
import re
import sys
from collections.abc import Iterator
from typing import IO

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
    """Renders the message once, redacts it, and freezes it so handlers cannot re-expand args.

    A traceback (``log.exception``) is folded into the same line after ``traceback=``, and
    redacted with it: an exception's text quotes what it was handling (a header, an
    address), and a traceback's many lines would otherwise be many journal entries, each
    without the event it belongs to.
    """

    _tracebacks = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        mailbox = _MAILBOX.get()
        if mailbox is not None:
            message = f"mailbox={mailbox} {message}"
        if record.exc_info:
            message += " traceback=" + self._tracebacks.formatException(record.exc_info)
        if record.stack_info:
            message += " stack=" + record.stack_info
        record.msg = redact(message).replace("\r", "").replace("\n", "\\n")
        record.args = None
        record.exc_info = record.exc_text = record.stack_info = None
        return True


# syslog(3) priorities, which journald reads from a "<N>" prefix (SyslogLevelPrefix=yes)
_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


class JournalFormatter(logging.Formatter):
    """``<3>inbox_agent.scheduler event=poll_failed ...``: journald takes the priority
    from the prefix (so ``journalctl -p err`` finds errors) and stamps the time itself."""

    def __init__(self) -> None:
        super().__init__("%(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        priority = _PRIORITY.get(record.levelno, 3 if record.levelno > logging.INFO else 6)
        return f"<{priority}>{super().format(record)}"


def under_journald(stream: IO[str] | None = None) -> bool:
    """Whether ``stream`` (default stderr) is the journal, as systemd says in $JOURNAL_STREAM.

    systemd sets ``JOURNAL_STREAM=<device>:<inode>`` of the stream it connected; comparing
    it with the stream itself tells a daemon under the unit from a child or a shell that
    merely inherited the variable.
    """
    expected = os.environ.get("JOURNAL_STREAM")
    if not expected:
        return False
    try:
        info = os.fstat((stream or sys.stderr).fileno())
    except (AttributeError, OSError, ValueError):
        return False
    return expected == f"{info.st_dev}:{info.st_ino}"


def setup_logging(level: str = "INFO") -> None:
    """Configure the root logger: stderr, one line per event; journald priorities when
    stderr is the journal, a timestamp and level name otherwise."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JournalFormatter() if under_journald() else logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.getLogger("imapclient").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
