"""The text a classifier reads: the sender's own words, without quoted history or signatures.

One function, ``model_text``, makes the text the trained model sees, in training and in
production alike: the subject, then the body's own lines. The forwarded original replaces the
forwarding note when staff forwarded a request in (``ParsedMail.request_text`` already is the
original; its subject is the original's too). Lines are put in *zones* by ``body_zones``, the
same zoning the rule classifier weighs its evidence by:

* quoted: lines starting with ">", and everything from a reply header on ("On ... wrote:",
  perhaps wrapped; "-----Original Message-----"; an Outlook "From:" / "Sent:" block);
* signature: from a sign-off line ("-- ", "Kind regards", "Sent from my iPhone") on;
* disclaimer: a paragraph with two or more boilerplate cues ("confidential", "in error").

Only body lines reach the model; the rules still read every zone, with zone weights.
"""

from __future__ import annotations

import re
from enum import StrEnum

from inbox_agent.parse import ParsedMail

MAX_MODEL_CHARS = 5_000  # what is asked comes first; the rest is a long thread or a paste


class Zone(StrEnum):
    SUBJECT = "subject"
    BODY = "body"
    QUOTED = "quoted"
    SIGNATURE = "signature"
    DISCLAIMER = "disclaimer"


SIGN_OFF = re.compile(
    r"(?i)^(--|many thanks|thanks( again| very much| in advance)?|thank you|(kind|best|warm)"
    r" regards|regards|best wishes|best|cheers|yours (sincerely|faithfully|truly)"
    r"|sent from my .*)[\s,.!]*$"
)
QUOTE_HEADER = re.compile(r"(?i)^(-{2,}\s*original message\s*-{2,}|_{10,}|on .{4,200} wrote:)$")
FORWARD = re.compile(r"(?i)^-{2,}\s*forwarded message\s*-{2,}|^begin forwarded message")
DISCLAIMER_CUES = re.compile(
    r"(?i)confidential|intended (solely |only )?(for|recipient)|addressee|in error"
    r"|notify the sender|delete (it|this)|monitored|virus|disclaimer|privileged"
    r"|views expressed|unauthori[sz]ed|print this"
)


def mail_text(mail: ParsedMail) -> str:
    """The model's text for a parsed message: the forwarded original's when there is one."""
    subject = mail.forwarded.subject if mail.forwarded is not None else mail.subject
    return model_text(subject, mail.request_text)


def model_text(subject: str, body: str) -> str:
    """Subject, a blank line, then the body's own lines (no quotes, signature, disclaimer)."""
    subject = " ".join(subject.split())
    return f"{subject}\n\n{own_words(body)}"[:MAX_MODEL_CHARS].strip()


def own_words(body: str) -> str:
    """The lines of ``body`` in the body zone, with runs of blank lines collapsed."""
    lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    zones = body_zones(lines)
    kept = [line.rstrip() for line, zone in zip(lines, zones, strict=True) if zone is Zone.BODY]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()


def body_zones(lines: list[str]) -> list[Zone]:
    """Body until a sign-off (signature) or a reply header (quoted thread); then disclaimers."""
    zones: list[Zone] = []
    state = Zone.BODY
    for i, line in enumerate(lines):
        stripped = line.strip()
        if FORWARD.match(stripped):
            state = Zone.BODY
        elif state is not Zone.QUOTED and starts_quote(lines, i):
            state = Zone.QUOTED
        elif state is Zone.BODY and SIGN_OFF.match(stripped):
            state = Zone.SIGNATURE
        zones.append(Zone.QUOTED if stripped.startswith(">") else state)
    return mark_disclaimers(lines, zones)


def starts_quote(lines: list[str], i: int) -> bool:
    """A reply header: "On ... wrote:" (perhaps wrapped) or an Outlook From:/Sent: block."""
    line = lines[i].strip()
    if QUOTE_HEADER.match(line):
        return True
    following = " ".join(x.strip() for x in lines[i + 1 : i + 4])
    if line.lower().startswith("on ") and i + 1 < len(lines):
        return bool(QUOTE_HEADER.match(line + " " + lines[i + 1].strip()))
    return line.lower().startswith("from:") and bool(re.search(r"(?i)\b(sent|date):", following))


def mark_disclaimers(lines: list[str], zones: list[Zone]) -> list[Zone]:
    """A paragraph with two or more boilerplate cues is a disclaimer and carries no weight."""
    paragraph: list[int] = []
    for i, line in enumerate([*lines, ""]):
        if line.strip():
            paragraph.append(i)
            continue
        text = " ".join(lines[j] for j in paragraph)
        if len(DISCLAIMER_CUES.findall(text)) >= 2:
            for j in paragraph:
                zones[j] = Zone.DISCLAIMER
        paragraph = []
    return zones
