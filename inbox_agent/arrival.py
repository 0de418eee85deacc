"""When a message arrived: the one meaning of "Received" for mail that comes from a file.

Over IMAP the server says (INTERNALDATE). A Maildir or mbox exported from Outlook or
Thunderbird has files dated by the export, so the date is read from the message itself:

1. the topmost ``Received:`` header's date: the stamp the receiving mail server added on
   delivery (RFC 5321 section 4.4), which no sender controls;
2. an mbox ``From `` line's date, written by the delivering agent;
3. otherwise a Maildir file's time (a live spool's delivery time), else unknown (the caller
   uses the time it read the message).

The sender's ``Date:`` header is never used: it is whatever the sender's clock, or the
sender, claims.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re

HEADER_BYTES = 256 * 1024  # headers beyond this are not searched for a Received line
_FROM_LINE_DATE = re.compile(
    r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+[A-Z][a-z]{2}\s+\d{1,2}\s+\d{1,2}:\d{2}:\d{2}\s+\d{4}"
)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is None:
        return None
    return value.astimezone(dt.UTC)


def _header_block(raw: bytes) -> str:
    head = raw[:HEADER_BYTES]
    for end in (b"\r\n\r\n", b"\n\n"):
        at = head.find(end)
        if at != -1:
            head = head[:at]
            break
    return head.decode("latin-1")


def received_header_time(raw: bytes) -> dt.datetime | None:
    """The date of the topmost Received header (after its last ';'), if it parses."""
    unfolded = re.sub(r"\r?\n[ \t]+", " ", _header_block(raw))
    for line in unfolded.splitlines():
        name, sep, value = line.partition(":")
        if not sep or name.strip().lower() != "received":
            continue
        _, semi, stamp = value.rpartition(";")
        if not semi:
            return None
        try:
            return _aware(email.utils.parsedate_to_datetime(stamp.strip()))
        except (TypeError, ValueError, IndexError):
            return None
    return None


def mbox_from_line_time(from_line: str) -> dt.datetime | None:
    """``From sender Tue Apr  6 09:15:02 2027`` -> that time, read as UTC (mbox has no zone)."""
    match = _FROM_LINE_DATE.search(from_line)
    if match is None:
        return None
    try:
        parsed = dt.datetime.strptime(" ".join(match[0].split()), "%a %b %d %H:%M:%S %Y")
    except ValueError:
        return None
    return parsed.replace(tzinfo=dt.UTC)


def delivery_time(
    raw: bytes, *, from_line: str | None = None, file_time: dt.datetime | None = None
) -> dt.datetime | None:
    """The best arrival time the message carries, in the order of the module docstring."""
    return (
        received_header_time(raw)
        or (mbox_from_line_time(from_line) if from_line else None)
        or file_time
    )
