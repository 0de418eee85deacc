"""A stored message as staff may safely see it: text, sanitised HTML, attachments to download.

Mail is hostile by default. The case page shows the parser's plain text (HTML-only mail is
converted to text, so a link or image is just its address in brackets). The formatted view is
the HTML run through ``nh3`` (ammonia) with no images, no link targets, no styles and no
scripts left, served to a sandboxed frame under a policy that lets nothing load or run.
Attachments are offered for download only, as ``application/octet-stream`` with a name made
safe for any file system; nothing from a message is ever rendered by the browser as itself.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import hashlib
import mimetypes
import quopri
import re
import unicodedata
from dataclasses import dataclass
from email.message import EmailMessage, Message
from urllib.parse import quote

import nh3

from inbox_agent.errors import SenderError
from inbox_agent.parse import MAX_HTML_CHARS, parse_message
from inbox_agent.register.models import OutboxMessage, StoredMessage

FILENAME_MAX = 120
_UNSAFE_FILENAME = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*;]+')
_HTML_TAGS = frozenset(nh3.ALLOWED_TAGS) - {"img", "area", "map", "a"}
_DROP_WITH_CONTENT = frozenset(
    {"script", "style", "title", "noscript", "template", "svg", "math", "iframe", "object"}
)
_HTML_ATTRIBUTES = {
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "ol": {"start"},
}
FRAME_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;color:#0b0c0c;background:#fff;margin:8px}"
    "table{border-collapse:collapse}td,th{border:1px solid #b1b4b6;padding:2px 6px}"
)
FRAME_STYLE_HASH = (
    "sha256-" + base64.b64encode(hashlib.sha256(FRAME_STYLE.encode()).digest()).decode()
)


@dataclass(frozen=True)
class AttachmentView:
    index: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class MessageView:
    """One email of the thread, in or out, reduced to what the page shows."""

    direction: str  # "in" (stored message) or "out" (outbox)
    id: int
    at: dt.datetime
    sender: str
    recipients: str
    subject: str
    text: str
    has_html: bool = False
    attachments: tuple[AttachmentView, ...] = ()
    error: str | None = None
    kind: str = ""  # outbox kind
    status: str = ""  # outbox status
    message_id: str = ""


def _email(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _is_attachment(part: Message, top: Message) -> bool:
    """The parser's rule (``parse._attachments``), so the list matches what it described."""
    if part is top:
        return False
    if part.get_filename() or part.get_content_disposition() == "attachment":
        return True
    if part.get_content_type() == "message/rfc822":
        return True
    return bool(part.get("Content-ID")) and part.get_content_maintype() not in ("text", "multipart")


def attachment_parts(raw: bytes) -> list[Message]:
    """Attachments in document order; what is inside an attached message stays inside it."""
    top = _email(raw)
    found: list[Message] = []
    stack: list[Message] = [top]
    while stack:
        part = stack.pop()
        if _is_attachment(part, top):
            found.append(part)
        elif part.is_multipart():
            children = part.get_payload()
            assert isinstance(children, list)
            stack.extend(reversed([p for p in children if isinstance(p, Message)]))
    return found


def attachment_bytes(part: Message) -> bytes:
    """The attachment as the sender meant it: decoded, or the attached message's bytes."""
    inner = part.get_payload()
    if not isinstance(inner, list):
        payload = part.get_payload(decode=True)
        return payload if isinstance(payload, bytes) else b""
    if part.get_content_type() != "message/rfc822" or not inner:
        return part.as_bytes(policy=email.policy.compat32)
    data = inner[0].as_bytes(policy=email.policy.compat32) if isinstance(inner[0], Message) else b""
    # RFC 2046 forbids encoding a message/rfc822 part, but some clients base64 it anyway; the
    # parser then reads the encoded text as a message without headers
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if encoding == "base64":
        return base64.b64decode(data)
    if encoding == "quoted-printable":
        return quopri.decodestring(data)
    return data


def safe_filename(name: str | None, index: int, content_type: str) -> str:
    """A name any file system and any browser accepts, without a path or a control character."""
    cleaned = unicodedata.normalize("NFKC", name or "")
    cleaned = cleaned.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE_FILENAME.sub("_", cleaned)
    cleaned = "".join(ch for ch in cleaned if unicodedata.category(ch)[0] != "C")
    cleaned = " ".join(cleaned.split()).strip(". ")
    if not cleaned:
        extension = ".eml" if content_type == "message/rfc822" else None
        extension = extension or mimetypes.guess_extension(content_type) or ".bin"
        return f"attachment-{index + 1}{extension}"
    if len(cleaned) > FILENAME_MAX:
        stem, dot, ext = cleaned.rpartition(".")
        ext = ext[:16] if dot else ""
        keep = FILENAME_MAX - len(ext) - 1
        cleaned = f"{(stem or cleaned)[:keep]}.{ext}" if ext else cleaned[:FILENAME_MAX]
    return cleaned


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback and the RFC 6266/5987 UTF-8 name."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def describe_attachments(raw: bytes) -> tuple[AttachmentView, ...]:
    views = []
    for index, part in enumerate(attachment_parts(raw)):
        content_type = part.get_content_type()
        name = safe_filename(part.get_filename(), index, content_type)
        views.append(AttachmentView(index, name, content_type, len(attachment_bytes(part))))
    return tuple(views)


def html_body(raw: bytes) -> str | None:
    """The message's HTML part, if it has one (bounded, as the parser bounds it)."""
    msg = _email(raw)
    part = msg.get_body(preferencelist=("html",))
    if part is None:
        return None
    try:
        content = part.get_content()
    except (LookupError, ValueError, AssertionError):
        return None
    return content[:MAX_HTML_CHARS] if isinstance(content, str) else None


def sanitise_html(html: str) -> str:
    """Structure and text only: no images, link targets, styles, forms or scripts."""
    return nh3.clean(
        html,
        tags=set(_HTML_TAGS),
        clean_content_tags=set(_DROP_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in _HTML_ATTRIBUTES.items()},
        url_schemes=set(),
        link_rel=None,
        strip_comments=True,
    )


def _display(name: str, address: str) -> str:
    return f"{name} <{address}>" if name else address


def view_stored(message: StoredMessage) -> MessageView:
    try:
        mail = parse_message(message.raw)
    except SenderError as exc:
        return MessageView(
            direction="in",
            id=message.id,
            at=message.received_at,
            sender=message.sender or "",
            recipients="",
            subject=message.subject or "",
            text="",
            error=f"This message could not be read: {exc}",
            message_id=message.message_id,
        )
    sender = mail.sender
    return MessageView(
        direction="in",
        id=message.id,
        at=message.received_at,
        sender=_display(sender.name, sender.email) if sender else "",
        recipients=", ".join(a.email for a in (*mail.to, *mail.cc)),
        subject=mail.subject,
        text=mail.text,
        has_html=html_body(message.raw) is not None,
        attachments=describe_attachments(message.raw),
        message_id=message.message_id,
    )


def view_outbox(row: OutboxMessage) -> MessageView:
    msg = _email(row.raw) if row.raw else EmailMessage()
    body = msg.get_body(preferencelist=("plain",)) if row.raw else None
    text = body.get_content() if body is not None else ""
    return MessageView(
        direction="out",
        id=row.id,
        at=row.sent_at or row.created_at,
        sender=str(msg.get("From", "")),
        recipients=row.recipient,
        subject=str(msg.get("Subject", "")),
        text=text if isinstance(text, str) else "",
        kind=row.kind,
        status=row.status,
        message_id=row.message_id,
        attachments=describe_attachments(row.raw) if row.raw else (),
    )
