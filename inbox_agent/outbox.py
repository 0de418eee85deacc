"""Compose an outgoing email and queue it as an outbox row, in the caller's transaction.

Nothing here talks to a server: the row commits with the case and the decision, and ``send``
drains it later. Composing after the row is flushed lets the Message-ID carry the row id, so
the same email sent twice after a crash is the same message to every mail system it reaches.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from email.generator import BytesGenerator
from email.headerregistry import BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import SMTP as STDLIB_SMTP
from email.utils import format_datetime, formataddr
from io import BytesIO

from sqlalchemy.orm import Session

from inbox_agent.acknowledge import RenderedEmail
from inbox_agent.register.models import Case, OutboxKind, OutboxMessage, OutboxStatus


class _HeaderClasses(HeaderRegistry):
    """The stdlib's registry, building each header's class once rather than per header.

    ``HeaderRegistry.__getitem__`` creates a new class with ``type()`` for every header
    set or parsed: a fifth of composing an acknowledgement went on that alone.
    """

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        if key not in self._classes:
            self._classes[key] = super().__getitem__(name)
        return self._classes[key]


SMTP = STDLIB_SMTP.clone(header_factory=_HeaderClasses())
"""The SMTP policy (CRLF, RFC 5322 headers) every email the office sends is composed with."""

FIRST_RETRY = dt.timedelta(seconds=30)
MAX_RETRY = dt.timedelta(hours=1)


@dataclass(frozen=True)
class OutgoingFile:
    """A file a reply carries (inspected first: ``inbox_agent/attachment_checks.py``)."""

    filename: str
    content_type: str
    data: bytes


def sender_address(from_address: str, office_name: str) -> str:
    return formataddr((office_name, from_address))


def _clean(value: str) -> str:
    """Header values are built from sender-controlled text: no line break may survive.

    Control characters become spaces, and lone surrogates (what a wrong charset leaves behind
    after a ``surrogateescape`` decode) become U+FFFD, because the email package would turn
    ``\\udc0a`` back into a raw LF byte when it writes the header.
    """
    chars = (
        "\ufffd"
        if unicodedata.category(ch) == "Cs"
        else " "
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp")
        else ch
        for ch in value
    )
    # the email package decodes RFC 2047 words in a value it is given, so a sender's literal
    # "=?utf-8?Q?=0A" would come back as a line break: break the "=?" opener
    return " ".join("".join(chars).split()).replace("=?", "= ?")


def compose(
    row: OutboxMessage,
    rendered: RenderedEmail,
    *,
    from_address: str,
    office_name: str,
    reference: str,
    in_reply_to: str = "",
    references: tuple[str, ...] = (),
    attachment: bytes | None = None,
    files: Sequence[OutgoingFile] = (),
    now: dt.datetime,
) -> EmailMessage:
    domain = from_address.rsplit("@", 1)[-1]
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender_address(from_address, office_name)
    msg["To"] = _clean(row.recipient)
    msg["Subject"] = _clean(rendered.subject)[:250]
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = f"<{row.kind}.{row.id}.{reference.lower()}@{domain}>"
    if in_reply_to:
        msg["In-Reply-To"] = _clean(in_reply_to)
        msg["References"] = _clean(" ".join((*references, in_reply_to)[-10:]))
    if row.kind == OutboxKind.ACKNOWLEDGEMENT:
        msg["Auto-Submitted"] = "auto-replied"
    elif row.kind != OutboxKind.REPLY:  # a staff reply is written by a person: not Auto-Submitted
        msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg["X-Inbox-Agent-Case"] = reference
    msg.set_content(rendered.text)
    if rendered.html is not None:
        msg.add_alternative(rendered.html, subtype="html")
    if attachment is not None:
        _attach_original(msg, attachment)
    for file in files:
        maintype, _, subtype = file.content_type.partition("/")
        msg.add_attachment(
            file.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=_clean(file.filename)[:200] or "attachment",
        )
    return msg


def _attach_original(msg: EmailMessage, raw: bytes) -> None:
    """The original goes as message/rfc822 with its bytes untouched (8bit, no re-encoding)."""
    if msg.get_content_maintype() != "multipart":
        msg.make_mixed()
    part = EmailMessage(policy=SMTP)
    part["Content-Type"] = "message/rfc822"
    part["Content-Disposition"] = 'attachment; filename="original.eml"'
    part["Content-Transfer-Encoding"] = "8bit"
    part.set_payload(raw.decode("ascii", "surrogateescape"))
    msg.attach(part)


class _OriginalBytesGenerator(BytesGenerator):
    """Writes a string message/rfc822 payload back as the exact bytes it was decoded from.

    The stdlib encodes such a payload as strict ASCII, so an original with 8-bit bytes (a UTF-8
    body sent 8bit, as many clients do) could not be composed at all.
    """

    def _encode(self, s: str) -> bytes:
        return s.encode("ascii", "surrogateescape")


def as_bytes(msg: EmailMessage) -> bytes:
    out = BytesIO()
    _OriginalBytesGenerator(out, mangle_from_=False, policy=msg.policy).flatten(msg)
    return out.getvalue()


def queue_email(
    session: Session,
    case: Case | None,
    *,
    kind: str,
    recipient: str,
    rendered: RenderedEmail,
    from_address: str,
    office_name: str,
    now: dt.datetime,
    give_up_after: dt.timedelta,
    in_reply_to: str = "",
    references: tuple[str, ...] = (),
    attachment: bytes | None = None,
    files: Sequence[OutgoingFile] = (),
) -> OutboxMessage:
    row = OutboxMessage(
        case_id=case.id if case else None,
        kind=kind,
        recipient=recipient,
        status=OutboxStatus.QUEUED,
        attempts=0,
        created_at=now,
        next_attempt_at=now,
        give_up_at=now + give_up_after,
    )
    session.add(row)
    session.flush()
    msg = compose(
        row,
        rendered,
        from_address=from_address,
        office_name=office_name,
        reference=case.reference if case else "none",
        in_reply_to=in_reply_to,
        references=references,
        attachment=attachment,
        files=files,
        now=now,
    )
    row.message_id = str(msg["Message-ID"])
    row.raw = as_bytes(msg)
    return row


def next_attempt(attempts: int, now: dt.datetime) -> dt.datetime:
    """Exponential backoff: 30 s, 1 min, 2 min ... capped at an hour."""
    return now + min(FIRST_RETRY * (1 << min(max(attempts - 1, 0), 20)), MAX_RETRY)
