"""Raw RFC 5322 bytes -> ParsedMail, the one immutable model every later stage reads.

mail-parser does the MIME work; this module decides what the election inbox needs from it:
who is asking (the original requester when staff forward a request in), what they asked (plain
text, HTML converted), and whether a machine sent it (RFC 3834 and list headers, delivery
reports). Attachments are described, never decoded beyond their size, never executed.
Anything the parser cannot read raises UnparseableMessage so the message is quarantined.
"""

from __future__ import annotations

import datetime as dt
import email
import logging
import re
import warnings
from dataclasses import dataclass, field
from email.message import Message
from email.utils import collapse_rfc2231_value
from typing import Any

import html2text
import mailparser
from mailparser.utils import as_string_safe, decode_header_part

from inbox_agent.errors import UnparseableMessage

MAX_TEXT_CHARS = 200_000
MAX_HTML_CHARS = 500_000  # html2text is pure Python (~1 s per 100 kB of deep markup): bound it

# mail-parser logs raw header values (unredacted addresses, STYLE habit 12) and its warnings
# are not actionable; what matters about a message is kept in ParsedMail.defects instead.
logging.getLogger("mailparser").setLevel(logging.CRITICAL)


@dataclass(frozen=True)
class Address:
    """A mailbox as written in a header; ``email`` is lower-cased, ``name`` may be empty."""

    name: str
    email: str


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class ForwardedOriginal:
    """The request inside a message that police or OPCC staff forwarded to the inbox.

    ``sender.email`` is "" when the forwarding client wrote only a name (Exchange does for
    colleagues). ``date`` is ISO 8601: in UTC when the forwarded block carried a zone, naive
    local time when the client dropped it, "" when unreadable; ``date_text`` is as written,
    because the FOI clock starts when the original reached the force, not when it was forwarded.
    """

    sender: Address
    subject: str
    date: str
    text: str
    date_text: str = ""


@dataclass(frozen=True)
class MachineHeaders:
    """The headers by which a machine says it is one (RFC 3834, RFC 2369/2919, RFC 3464)."""

    auto_submitted: str = ""
    precedence: str = ""
    list_id: str = ""
    list_unsubscribe: str = ""
    x_autoreply: str = ""
    x_auto_response_suppress: str = ""
    return_path: str = ""
    content_type: str = ""  # top-level type, e.g. multipart/report; report-type=delivery-status
    is_delivery_report: bool = False
    is_read_receipt: bool = False
    is_feedback_report: bool = False
    x_autorespond: str = ""
    sender_header: str = ""  # the Sender: header, which a list or robot sets on behalf of From
    x_failed_recipients: str = ""  # Exim writes it on every bounce
    # Names of the other list-manager headers present: RFC 2369 List-Help/-Subscribe/-Post/
    # -Owner/-Archive, ezmlm's Mailing-List, fml's X-ML-Name and X-MLServer.
    list_headers: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParsedMail:
    message_id: str
    sender: Address | None
    reply_to: tuple[Address, ...]
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    subject: str
    date: str  # ISO 8601 in UTC when the Date header parsed, else ""
    in_reply_to: str
    references: tuple[str, ...]
    text: str  # plain text; HTML-only mail converted to text
    attachments: tuple[Attachment, ...]
    machine: MachineHeaders
    forwarded: ForwardedOriginal | None
    defects: tuple[str, ...] = field(default_factory=tuple)

    @property
    def requester(self) -> Address | None:
        """Whom the case is for: the forwarded original's sender when staff forwarded it in,
        and the person in the "Name:" / "Email:" fields when a website form relayed it."""
        if self.forwarded is not None:
            return form_relay_requester(self.forwarded.sender, self.forwarded.text)
        return form_relay_requester(self.sender, self.text)

    @property
    def request_text(self) -> str:
        """What was asked: the forwarded original when there is one."""
        if self.forwarded is not None:
            return self.forwarded.text
        return self.text


def parse_message(raw: bytes) -> ParsedMail:
    """Parse raw bytes; raise UnparseableMessage (never anything else) on unreadable input."""
    if not raw.strip():
        raise UnparseableMessage("empty message")
    parser, extra_defects = _run_mail_parser(raw)
    if parser.message is None or not parser.message.keys():
        raise UnparseableMessage("no headers")
    try:
        return _build(parser, extra_defects)
    except Exception as exc:  # the contract: one exception type, whatever the input did
        raise UnparseableMessage(f"unreadable structure ({type(exc).__name__})") from exc


# --- mail-parser ---------------------------------------------------------------------------


def _run_mail_parser(raw: bytes) -> tuple[Any, tuple[str, ...]]:
    """Run mail-parser, retrying once around the crash real bounces provoke in it.

    mail-parser 4.8 tries to rebuild parts from the epilogue whenever a part lacks its start
    boundary, and raises AttributeError/TypeError when the outer message has no epilogue or
    no boundary (sisimai lhost-sendgrid-01). A message that odd still has readable headers,
    so it must not be quarantined. Warnings are silenced: they describe the sender's message,
    and where warnings are errors (pytest) they would turn a readable message into a crash.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return mailparser.parse_from_bytes(raw), ()
        except (AttributeError, TypeError) as first:
            try:
                return _parse_without_epilogue_recovery(raw)
            except Exception as exc:
                raise UnparseableMessage(f"mail-parser failed ({type(first).__name__})") from exc
        except Exception as exc:
            raise UnparseableMessage(f"mail-parser failed ({type(exc).__name__})") from exc


_EPILOGUE_DEFECTS = frozenset({"StartBoundaryNotFoundDefect"})


def _parse_without_epilogue_recovery(raw: bytes) -> tuple[Any, tuple[str, ...]]:
    """Hide the defect that sends mail-parser into its epilogue recovery; report it here."""
    message = email.message_from_bytes(raw)
    hidden: set[str] = set()
    for part in message.walk():
        kept = [d for d in part.defects if type(d).__name__ not in _EPILOGUE_DEFECTS]
        hidden.update(type(d).__name__ for d in part.defects if d not in kept)
        part.defects[:] = kept
    return mailparser.MailParser(message), tuple(sorted(hidden))


def _build(parser: Any, extra_defects: tuple[str, ...]) -> ParsedMail:
    """Assemble the model; every value read from mail-parser is normalised on the way in."""
    message: Message = parser.message
    subject = _clean_line(_first(parser.subject))
    text = _body_text(parser)
    sender = _addresses(parser.from_)
    return ParsedMail(
        message_id=_message_id(_first(parser.message_id)),
        sender=sender[0] if sender else None,
        reply_to=_addresses(parser.reply_to),
        to=_addresses(parser.to),
        cc=_addresses(parser.cc),
        subject=subject,
        date=_iso_utc(parser.date),
        in_reply_to=_message_id(_first(parser.in_reply_to)),
        references=_message_ids(_first(parser.references)),
        text=text,
        attachments=_attachments(message),
        machine=_machine_headers(message, sender[0] if sender else None, text),
        forwarded=_forwarded(message, subject, text),
        defects=tuple(sorted({str(c) for c in parser.defects_categories} | set(extra_defects))),
    )


def _first(value: Any) -> str:
    """mail-parser answers a repeated header with a list; the first occurrence is the one used."""
    if isinstance(value, list):
        value = value[0] if value else ""
    return str(value) if value else ""


def _clean_line(value: str) -> str:
    """A header value shown to staff and written into replies must be one line."""
    return re.sub(r"\s*[\r\n]+\s*", " ", value).strip()


def _addresses(pairs: Any) -> tuple[Address, ...]:
    if not isinstance(pairs, list):
        return ()
    return tuple(
        Address(name=_clean_line(str(name)), email=str(addr).strip().lower())
        for name, addr in pairs
        if addr
    )


def _message_id(value: str) -> str:
    """Folding may split an id across lines; whitespace is never part of one."""
    return "".join(value.split())


def _message_ids(value: str) -> tuple[str, ...]:
    ids = re.findall(r"<[^<>]+>", value)
    if ids:
        return tuple(_message_id(i) for i in ids)
    return tuple(value.split())


def _iso_utc(value: object) -> str:
    if not isinstance(value, dt.datetime):
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat()


# --- text ----------------------------------------------------------------------------------


def _body_text(parser: Any) -> str:
    """Plain text when the sender wrote any; otherwise the HTML, converted, never rendered."""
    plain = [str(p) for p in parser.text_plain if str(p).strip()]
    if plain:
        text = "\n\n".join(plain)
    else:
        html = "\n".join(str(p) for p in parser.text_html)
        text = _html_to_text(html[:MAX_HTML_CHARS]) if html.strip() else ""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()[:MAX_TEXT_CHARS]


def _html_to_text(html: str) -> str:
    """Keep link targets (a request may cite a URL) but not mailto: markup around addresses."""
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.ignore_mailto_links = True
    converted = str(converter.handle(html))
    return "\n".join(line.rstrip() for line in converted.splitlines()).strip()


# --- attachments ---------------------------------------------------------------------------


def _attachments(message: Message) -> tuple[Attachment, ...]:
    """Describe each attachment once; what is inside an attached message stays inside it."""
    found: list[Attachment] = []
    stack: list[Message] = [message]
    while stack:
        part = stack.pop()
        if part is not message and _is_attachment(part):
            found.append(_describe(part))
        elif part.is_multipart():
            stack.extend(reversed([p for p in part.get_payload() if isinstance(p, Message)]))
    return tuple(found)


def _is_attachment(part: Message) -> bool:
    if part.get_filename() or part.get_content_disposition() == "attachment":
        return True
    if part.get_content_type() == "message/rfc822":
        return True
    return bool(part.get("Content-ID")) and part.get_content_maintype() not in ("text", "multipart")


def _describe(part: Message) -> Attachment:
    filename = decode_header_part(part.get_filename() or "")
    if part.is_multipart():
        size = len(str(as_string_safe(part)).encode("utf-8", "surrogateescape"))
    else:
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
    return Attachment(
        filename=_clean_line(str(filename)), content_type=part.get_content_type(), size=size
    )


# --- machine headers -----------------------------------------------------------------------

_DELIVERY_STATUS = frozenset({"message/delivery-status", "message/global-delivery-status"})
_READ_RECEIPT = frozenset(
    {"message/disposition-notification", "message/global-disposition-notification"}
)
_LIST_HEADERS = (
    "List-Help",
    "List-Subscribe",
    "List-Post",
    "List-Owner",
    "List-Archive",
    "Mailing-List",
    "X-ML-Name",
    "X-MLServer",
)
_BOUNCE_PHRASES = re.compile(
    r"this is the mail system at host"
    r"|created automatically by mail delivery software"
    r"|this is the qmail-send program"
    r"|the original message was received at"
    r"|delivery to the following recipients? (?:failed|has been delayed)"
    r"|could not be delivered to one or more recipients"
    r"|delivery has failed to these recipients"
    r"|your message (?:could not|wasn't|was not|cannot) (?:be )?delivered"
    r"|(?:unable|not able|wasn't able) to deliver"
    r"|permanent fatal errors"
    r"|undeliverable message",
    re.IGNORECASE,
)


def _header(message: Message, name: str) -> str:
    value = message.get(name)
    return _clean_line(str(decode_header_part(value))) if value is not None else ""


def _machine_headers(message: Message, sender: Address | None, text: str) -> MachineHeaders:
    """Collect the evidence; machine.py weighs it. Reports are found by any part's type too."""
    part_types = {part.get_content_type() for part in message.walk()}
    report_type = _report_type(message)
    return_path = _header(message, "Return-Path")
    failed_recipients = _header(message, "X-Failed-Recipients")
    is_delivery_report = (
        report_type == "delivery-status"
        or bool(part_types & _DELIVERY_STATUS)
        or bool(failed_recipients)
        or _looks_like_bounce(return_path, sender, text)
    )
    return MachineHeaders(
        auto_submitted=_header(message, "Auto-Submitted"),
        precedence=_header(message, "Precedence"),
        list_id=_header(message, "List-Id"),
        list_unsubscribe=_header(message, "List-Unsubscribe"),
        x_autoreply=_header(message, "X-Autoreply"),
        x_auto_response_suppress=_header(message, "X-Auto-Response-Suppress"),
        return_path=return_path,
        content_type=message.get_content_type()
        + (f"; report-type={report_type}" if report_type else ""),
        is_delivery_report=is_delivery_report,
        is_read_receipt=report_type == "disposition-notification"
        or bool(part_types & _READ_RECEIPT),
        is_feedback_report=report_type == "feedback-report"
        or "message/feedback-report" in part_types
        or _is_hotmail_complaint(message),
        x_autorespond=_header(message, "X-Autorespond"),
        sender_header=_header(message, "Sender"),
        x_failed_recipients=failed_recipients,
        list_headers=tuple(name for name in _LIST_HEADERS if message.get(name) is not None),
    )


def _is_hotmail_complaint(message: Message) -> bool:
    """Microsoft's JMRP complaints predate ARF: the complained-of message, attached, carries
    this header (sisimai arf-22..24)."""
    return any(
        part.get("X-HmXmrOriginalRecipient") is not None
        for part in message.walk()
        if part is not message
    )


def _report_type(message: Message) -> str:
    if message.get_content_type() != "multipart/report":
        return ""
    value = message.get_param("report-type")
    if value is None:
        return ""
    return str(collapse_rfc2231_value(value)).strip().lower()


def local_part(address: str) -> str:
    """The part before the last @, lower-cased, for matching robot names like MAILER-DAEMON."""
    return address.strip().strip("<>").rsplit("@", 1)[0].strip().lower()


_DAEMON_NAMES = frozenset({"mailerdaemon", "maildaemon", "postmaster"})


def is_mail_daemon(address: str) -> bool:
    """MAILER-DAEMON, postmaster and their spellings (post_master, Mail-Daemon) send bounces."""
    return re.sub(r"[-_.]", "", local_part(address)) in _DAEMON_NAMES


_NOREPLY = re.compile(
    r"^(?:no[-_.]?reply|do[-_.]?not[-_.]?reply|dont[-_.]?reply|no[-_.]?respon[sd]e?|bounces?)"
    r"(?:[-_.+].*)?$"
)
# Robots that relay a website's contact form: a no-reply address or the web server's own name.
_FORM_ROBOT = re.compile(
    r"^(?:web[-_.]?forms?|forms?|contact[-_.]?(?:us|form)|wordpress|website|www(?:-data)?"
    r"|formmail|enquiry[-_.]?form)(?:[-_.+].*)?$"
)
_FORM_EMAIL = re.compile(r"(?im)^\W*(?:your\s+)?e-?mail(?:\s+address)?\W*:(?P<value>.*)$")
_FORM_NAME = re.compile(r"(?im)^\W*(?:your\s+|full\s+)?name\W*:\W*(?P<value>\w.*)$")
_FORM_HEAD_CHARS = 3000


def is_noreply(address: str) -> bool:
    """no-reply, donotreply, bounces and their spellings: a robot nobody reads."""
    return bool(_NOREPLY.match(local_part(address)))


def form_fields(text: str) -> Address | None:
    """The person a website contact form relayed: its "Name:" and "Email:" fields, or None.

    A form's robot sends the message; the person it carries is in the body, one field a line
    (``**Email:** [x@y](mailto:x@y)`` once HTML is converted).
    """
    head = text[:_FORM_HEAD_CHARS]
    email_field, name_field = _FORM_EMAIL.search(head), _FORM_NAME.search(head)
    if email_field is None or name_field is None:
        return None
    address = _EMAIL.search(email_field["value"])
    if address is None:
        return None
    name = " ".join(re.sub(r"[*_\[\]|]", " ", name_field["value"]).split())
    return Address(name[:200], address.group(0).lower())


def form_relay_requester(sender: Address | None, text: str) -> Address | None:
    """``sender``, unless it is a no-reply or form robot relaying a contact form: then the
    person in the form's fields (the acknowledgement must reach them, not the robot)."""
    robot = sender is None or not sender.email
    if sender is not None and sender.email:
        name = local_part(sender.email)
        robot = bool(_NOREPLY.match(name) or _FORM_ROBOT.match(name))
    if not robot:
        return sender
    return form_fields(text) or sender


def _looks_like_bounce(return_path: str, sender: Address | None, text: str) -> bool:
    """Old MTAs send bounces as plain text: a null or daemon sender plus the MTA's wording.

    The wording alone is not enough: a requester may paste a bounce into a complaint.
    """
    daemon = (
        return_path.strip() == "<>"
        or is_mail_daemon(return_path)
        or (sender is not None and is_mail_daemon(sender.email))
    )
    return daemon and _BOUNCE_PHRASES.search(text[:20_000]) is not None


# --- forwarded originals -------------------------------------------------------------------

# FW:/Fwd: and the Outlook prefixes of the languages a UK force meets (Welsh YML:), behind any
# "[EXTERNAL]" tag, OFFICIAL marking or reply prefix that mail gateways and people put first.
_FORWARD_SUBJECT = re.compile(
    r"^\s*(?:\[[^\]]*\]\s*|\(?official(?:[- ]sensitive)?\)?\s*[:\-]?\s*"
    r"|(?:re|aw|atb|sv|antw)\s*:\s*)*(?:fwd?|tr|wg|rv|enc|doorst|vs|vb|yml|i)\s*:",
    re.IGNORECASE,
)
# Lines that only a forward writes (Gmail, Thunderbird, Apple Mail and their translations).
# Outlook's "-----Original Message-----" and its underscore rule also head quoted replies,
# so they count only when the subject says the message is a forward.
_FORWARD_MARKER = re.compile(
    r"^[ \t>]*(?:-{2,}\s*(?:forwarded message|weitergeleitete nachricht|message transf[ée]r[ée]"
    r"|mensaje reenviado|doorgestuurd bericht|messaggio inoltrato|mensagem encaminhada)\s*-{2,}"
    r"|begin forwarded message:|anfang der weitergeleiteten nachricht:"
    r"|d[ée]but du message r[ée]exp[ée]di[ée]\s*:)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_FIELD_LINE = re.compile(
    r"^[ \t>]*\**(?P<key>[^\W\d_][\w' .-]{0,20}?)\**\s*:\**[ \t]*(?P<value>.*)$"
)
# The header names mail clients print above a forwarded message, in the languages above;
# "other" names belong to the block but are not needed.
_FIELD_NAMES = {
    "from": "from|de|von|van|da|från|fra|od|oddi wrth",
    "date": "sent|date|datum|gesendet|envoyé|enviado|enviada|fecha|data|verzonden|inviato"
    "|skickat|sendt|anfonwyd|dyddiad",
    "subject": "subject|objet|betreff|asunto|onderwerp|oggetto|assunto|ämne|emne|temat|pwnc",
    "to": "to|à|a|an|para|aan|till|til|do|at",
    "cc": "cc|kopie|copie à|cc'd",
    "other": "reply-to|importance|attachments|sensitivity|bcc|resent-date|resent-from"
    "|resent-to|message-id",
}
_FIELD_KEYS = {name: key for key, names in _FIELD_NAMES.items() for name in names.split("|")}
_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")


def _forwarded(message: Message, subject: str, text: str) -> ForwardedOriginal | None:
    """The original request when the message forwards one; None for anything else.

    Whether the forwarder is staff is decided later, against the register; here the question
    is only whether the message carries someone else's message.
    """
    if message.get_content_type() == "multipart/report":
        return None  # a bounce quotes our own message back: not a forward
    if _FORWARD_SUBJECT.match(subject):
        attached = _attached_original(message)
        if attached is not None:
            original = _original_from_message(attached)
            if original is not None:
                return original
    return _inline_original(text, weak_allowed=_FORWARD_SUBJECT.match(subject) is not None)


def _attached_original(message: Message) -> Message | None:
    """The first attached message: Outlook's "forward as attachment" attaches exactly one."""
    for part in message.walk():
        if part.get_content_type() == "message/rfc822" and part.is_multipart():
            inner = part.get_payload(0)
            if isinstance(inner, Message):
                return inner
    return None


def _original_from_message(inner: Message) -> ForwardedOriginal | None:
    """Forward-as-attachment keeps the original intact: read it as the message it is."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parser = mailparser.MailParser(inner)
    except Exception:
        return None  # the outer message is still worth a case; it just has no original
    senders = _addresses(parser.from_)
    if not senders:
        return None
    return ForwardedOriginal(
        sender=senders[0],
        subject=_clean_line(_first(parser.subject)),
        date=_iso_utc(parser.date),
        text=_body_text(parser),
        date_text=_header(inner, "Date"),
    )


def _inline_original(text: str, *, weak_allowed: bool, depth: int = 0) -> ForwardedOriginal | None:
    """Find the header block a mail client wrote above the forwarded text.

    A request often reaches the inbox forwarded twice (requester -> force mailbox -> officer
    -> OPCC); the innermost block is the requester's, so the search repeats inside the text.
    """
    original = _outermost_inline_original(text, weak_allowed=weak_allowed)
    if original is None or depth >= _MAX_FORWARD_DEPTH:
        return original
    inner = _inline_original(
        original.text,
        weak_allowed=_FORWARD_SUBJECT.match(original.subject) is not None,
        depth=depth + 1,
    )
    return inner or original


_MAX_FORWARD_DEPTH = 5


def _outermost_inline_original(text: str, *, weak_allowed: bool) -> ForwardedOriginal | None:
    lines = text.split("\n")
    marker = _FORWARD_MARKER.search(text)
    if marker is not None:
        start = text.count("\n", 0, marker.end()) + 1
        while start < len(lines) and not lines[start].strip():
            start += 1
        fields, end = _read_fields(lines, start)
        if "from" in fields:
            return _original_from_fields(fields, end, lines)
    if not weak_allowed:
        return None
    index = 0
    while index < len(lines):
        fields, end = _read_fields(lines, index)
        if {"from", "date", "subject"} <= fields.keys():
            return _original_from_fields(fields, end, lines)
        index = max(end, index + 1)  # a block's tail has fewer fields than the block: skip it
    return None


def _read_fields(lines: list[str], start: int) -> tuple[dict[str, str], int]:
    """Read "Key: value" lines from ``start``; indented lines continue the previous value."""
    fields: dict[str, str] = {}
    last = ""
    index = start
    while index < len(lines):
        line = lines[index]
        match = _FIELD_LINE.match(line)
        key = _FIELD_KEYS.get(match["key"].strip().lower()) if match else None
        if match is not None and key is not None:
            last = key
            fields.setdefault(key, match["value"].strip())
        elif last and line[:1] in (" ", "\t") and line.strip():
            fields[last] = f"{fields[last]} {line.strip()}"
        else:
            break
        index += 1
    return fields, index


def _original_from_fields(fields: dict[str, str], end: int, lines: list[str]) -> ForwardedOriginal:
    date_text = fields.get("date", "")
    return ForwardedOriginal(
        sender=_written_address(fields["from"]),
        subject=_clean_line(fields.get("subject", "")),
        date=_loose_date(date_text),
        text="\n".join(lines[end:]).strip(),
        date_text=date_text,
    )


def _written_address(value: str) -> Address:
    """Outlook writes "Name <addr>", "Name [mailto:addr]" or just "addr"; Exchange may omit it.

    A bracketed token without a domain ("<MAILER-DAEMON>") is still the address as written.
    """
    match = _EMAIL.search(value) or re.search(r"<([^<>@\s]+)>", value)
    if match is None:
        return Address(name=_written_name(value), email="")
    email_address = match.group(match.lastindex or 0).lower()
    name = _written_name(value[: match.start()])
    return Address(name="" if name.lower() == email_address else name, email=email_address)


def _written_name(value: str) -> str:
    name = re.sub(r"(?i)mailto:\s*$", "", value.replace("*", "").strip(" \t<[(")).strip()
    return name.strip(" \t\"'<[(").strip()


_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_LOOSE_DATE = re.compile(
    r"(?:(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?P<month>[a-z]{3,9})\.?"
    r"|(?P<month2>[a-z]{3,9})\.?\s+(?P<day2>\d{1,2})(?:st|nd|rd|th)?),?\s+(?P<year>\d{4}),?\s+"
    r"(?:at\s+)?(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?:[:.](?P<second>\d{2}))?\s*"
    r"(?P<ampm>[ap]\.?m\.?)?\s*(?P<zone>.*)$",
    re.IGNORECASE,
)
_ZONE = re.compile(r"^\(?(?:gmt|utc)?\s*(?P<sign>[+-])(?P<hours>\d{1,2}):?(?P<minutes>\d{2})?")


def _loose_date(value: str) -> str:
    """Dates as Outlook, Gmail and Apple Mail print them in English; "" when not one of them."""
    match = _LOOSE_DATE.search(value)
    if match is None:
        return ""
    month_name = (match["month"] or match["month2"]).lower()[:3]
    if month_name not in _MONTHS:
        return ""
    hour = int(match["hour"]) % 12 if match["ampm"] else int(match["hour"])
    if match["ampm"] and match["ampm"].lower().startswith("p"):
        hour += 12
    try:
        written = dt.datetime(
            int(match["year"]),
            _MONTHS.index(month_name) + 1,
            int(match["day"] or match["day2"]),
            hour,
            int(match["minute"]),
            int(match["second"] or 0),
        )
    except ValueError:
        return ""
    zone = _zone_offset(match["zone"].strip())
    if zone is None:
        return written.isoformat()
    return written.replace(tzinfo=zone).astimezone(dt.UTC).isoformat()


def _zone_offset(zone: str) -> dt.timezone | None:
    """GMT/UTC/BST or a numeric offset; None when the client wrote no zone it can be held to."""
    upper = zone.upper().strip("()")
    if upper in ("GMT", "UTC", "Z", "UT"):
        return dt.UTC
    if upper == "BST":
        return dt.timezone(dt.timedelta(hours=1))
    match = _ZONE.match(zone.lower())
    if match is None:
        return None
    minutes = int(match["hours"]) * 60 + int(match["minutes"] or 0)
    if minutes >= 24 * 60:
        return None
    return dt.timezone(dt.timedelta(minutes=-minutes if match["sign"] == "-" else minutes))
