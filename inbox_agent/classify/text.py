"""The text a classifier reads: the sender's own words, without quoted history or signatures.

One function, ``model_text``, makes the text the trained model sees, in training and in
production alike: the subject, then the body's own lines. The forwarded original replaces the
forwarding note when staff forwarded a request in (``ParsedMail.request_text`` already is the
original; its subject is the original's too). Lines are put in *zones* by ``body_zones``, the
same zoning the rule classifier weighs its evidence by:

* quoted: lines starting with ">", and everything from a reply header on ("On ... wrote:",
  perhaps wrapped; "-----Original Message-----"; an Outlook "From:" / "Sent:" block), in
  English and in Welsh ("Ar ... ysgrifennodd:", "-----Neges Wreiddiol-----", "Oddi wrth:" /
  "Anfonwyd:");
* signature: from a sign-off line ("-- ", "Kind regards", "Cofion", "Yn gywir", "Sent from
  my iPhone") on;
* disclaimer: a paragraph with two or more boilerplate cues ("confidential", "in error",
  "drwy gamgymeriad").

**The new text decides.** Only body lines reach the model, and the rules give quoted and
signature lines no weight (``rules.ZONE_WEIGHT``). A reply's subject ("Re: FOI request",
"Ateb: ...") is the earlier message's, so it is quoted context too: ``classify_subject``
leaves it out, and a journalist's question under a quoted FOI response is read as the
question. This zoning is the project's own rather than a reply parser's from PyPI:
``mail-parser-reply`` (1.36) knows no Welsh headers, cuts an FOI request's "- item" list as
a signature, and returns text fragments where the rules need a zone per line.
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
    r"|sent from my .*"
    # Welsh: "Cofion (cynnes|gorau)", "Yn gywir", "Diolch (yn fawr)", "Anfonwyd o'm iPhone"
    r"|cofion( cynnes| gorau| caredig)?|yn gywir|yn ddiffuant|gyda diolch|gan ddiolch"
    r"|diolch( yn fawr( iawn)?| o galon| ymlaen llaw| eto)?|hwyl( fawr)?|pob hwyl"
    r"|anfonwyd o'?m .*|anfonwyd o fy .*)[\s,.!]*$"
)
QUOTE_HEADER = re.compile(
    r"(?i)^(-{2,}\s*(original message|neges wreiddiol)\s*-{2,}|_{10,}"
    r"|on .{4,200} wrote:|ar .{4,200} ysgrifennodd:)$"
)
FORWARD = re.compile(
    r"(?i)^-{2,}\s*(forwarded message|neges wedi'?i (h?anfon|blaen-?yrru) ymlaen)\s*-{2,}"
    r"|^begin forwarded message"
)
# The earlier message's subject, as mail clients in English and Welsh mark a reply to it.
REPLY_SUBJECT = re.compile(r"(?i)^\s*(re|ateb|ymateb|aw|sv|antw)\s*(\[\d+\])?\s*:")
DISCLAIMER_CUES = re.compile(
    r"(?i)confidential|intended (solely |only )?(for|recipient)|addressee|in error"
    r"|notify the sender|delete (it|this)|monitored|virus|disclaimer|privileged"
    r"|views expressed|unauthori[sz]ed|print this"
    r"|cyfrinachol|derbynnydd|drwy gamgymeriad|rhowch wybod i'?r anfonwr|dil[eë]u'?r"
    r"|ymwadiad|firws|breintiedig|barn bersonol"
)
# Outlook's header block in English and Welsh: "From:" then "Sent:"/"Date:" within 3 lines.
# Welsh joins the article and short pronouns to the word before ("â'r", "swyddfa'r", "hi'n",
# "o'm", "i'w"); spaCy's English tokeniser keeps "â'r" as one token, so the rule phrase
# "ymweld â" never met "ymweld â'r" and the model learnt "swyddfa'r" apart from "swyddfa".
_CLITIC = re.compile(r"(?i)(?<=[^\W\d_])'(r|n|m|th|i|w|u)\b")
_FROM_LINE = re.compile(r"(?i)^(from|oddi wrth|gan)\s*:")
_SENT_LINE = re.compile(r"(?i)\b(sent|date|anfonwyd|dyddiad)\s*:")


def separate_clitics(text: str) -> str:
    """Typographic apostrophes as "'", and each Welsh clitic ("'r", "'n", "'m" ...) a word of
    its own, for the rules and the model alike: "ymweld â'r" reads as "ymweld â 'r". English
    loses nothing: spaCy already splits "I'm" there, and "'re", "'ll", "'t" are not touched."""
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return _CLITIC.sub(r" '\1", text)


def mail_text(mail: ParsedMail) -> str:
    """The model's text for a parsed message: the forwarded original's when there is one."""
    return model_text(classify_subject(mail), mail.request_text)


def classify_subject(mail: ParsedMail) -> str:
    """The subject the classifiers read: the forwarded original's when staff forwarded one,
    and nothing for a reply, whose subject is the earlier message's (quoted context)."""
    subject = mail.forwarded.subject if mail.forwarded is not None else mail.subject
    return "" if REPLY_SUBJECT.match(subject) else subject


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
    """A reply header: "On ... wrote:" / "Ar ... ysgrifennodd:" (perhaps wrapped) or an
    Outlook From:/Sent: (Oddi wrth:/Anfonwyd:) block."""
    line = lines[i].strip()
    if QUOTE_HEADER.match(line):
        return True
    following = " ".join(x.strip() for x in lines[i + 1 : i + 4])
    if line.lower().startswith(("on ", "ar ")) and i + 1 < len(lines):
        return bool(QUOTE_HEADER.match(line + " " + lines[i + 1].strip()))
    return bool(_FROM_LINE.match(line)) and bool(_SENT_LINE.search(following))


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
