"""Hostile mail for tests: hypothesis strategies, and the checks every outgoing email must pass.

Shared by ``unit/test_hostile.py`` (a Maildir inbox, no network) and
``integration/test_hostile_imap.py`` (a real Dovecot and SMTP server). A generated message
carries ``SENDER`` where its sender address goes; the test swaps in an address of its own so
each example is a new requester and the daily acknowledgement cap never hides a case.
"""

from __future__ import annotations

import base64
import email
import email.policy
import email.utils
import quopri
import re
import unicodedata

from hypothesis import strategies as st

from support.builders import INBOX

SENDER = b"sender@placeholder.example.com"
QUESTION = (
    "Could you tell me how many police officers patrol my ward, and what the budget for "
    "neighbourhood policing is this year?"
)
ALLOWED_HEADERS = frozenset(
    {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "auto-submitted",
        "x-auto-response-suppress",
        "x-inbox-agent-case",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)
_HEADER_NAME = re.compile(rb"[A-Za-z0-9-]+")
_LINE_BREAKING = frozenset({"Cc", "Zl", "Zp"})

# --------------------------------------------------------------------- header injection

_BREAKS = ["\r\n", "\r", "\n", "\u0085", "\u2028", "\u2029", "\x0b", "\x0c", "\x00", "\r\n\t"]
_INJECTED = [
    "Bcc: victim@example.net",
    "Cc: victim@example.net",
    "To: victim@example.net",
    "Reply-To: attacker@example.net",
    "Content-Type: text/html",
    "X-Injected: yes",
    "\r\n<html>body takeover</html>",
]
_WORD_CHARSETS = ["utf-8", "UTF-8", "iso-8859-1", "utf-7", "x-unknown", "", "utf-16"]


def encoded_word(text: str, charset: str, encoding: str) -> str:
    """An RFC 2047 word carrying ``text`` as UTF-8 whatever ``charset`` claims."""
    data = text.encode("utf-8", "surrogatepass")
    if encoding.upper() == "B":
        payload = base64.b64encode(data).decode("ascii")
    else:
        payload = "".join(chr(b) if chr(b).isalnum() else f"={b:02X}" for b in data)
    return f"=?{charset}?{encoding}?{payload}?="


@st.composite
def hostile_text(draw: st.DrawFn) -> str:
    """What a sender might write in a name or subject to break out of a header line."""
    head = draw(st.text(max_size=12))
    tail = draw(st.text(max_size=12))
    breaks = st.sampled_from(_BREAKS)
    return head + draw(breaks) + draw(st.sampled_from(_INJECTED)) + draw(breaks) + tail


@st.composite
def _header_value(draw: st.DrawFn, *, quoted: bool) -> str:
    text = draw(hostile_text())
    form = draw(st.sampled_from(["encoded", "raw", "quoted"] if quoted else ["encoded", "raw"]))
    if form == "encoded":
        charset = draw(st.sampled_from(_WORD_CHARSETS))
        return encoded_word(text, charset, draw(st.sampled_from("BQbq")))
    if form == "quoted":
        return '"' + text.replace('"', "") + '"'
    return text


@st.composite
def injection_message(draw: st.DrawFn) -> bytes:
    """A human question whose sender name and subject try to add headers to our reply."""
    name = draw(_header_value(quoted=True))
    subject = draw(_header_value(quoted=False))
    head = (
        f"From: {name} <{SENDER.decode()}>\r\nTo: {INBOX}\r\nSubject: {subject}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    )
    return (head + QUESTION + "\r\n").encode("utf-8", "surrogatepass")


# -------------------------------------------------------------------------- broken MIME

_BASE = (
    b"From: Broken Sender <" + SENDER + b">\r\n"
    b"To: " + INBOX.encode() + b"\r\n"
    b"Subject: Question about policing\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
    b"preamble\r\n--outer\r\n"
    b'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n'
    b"--alt\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: quoted-printable\r\n\r\n" + QUESTION.encode() + b"=\r\n=C2=A3\r\n"
    b"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    b"<html><body><p>" + QUESTION.encode() + b"</p></body></html>\r\n--alt--\r\n"
    b"--outer\r\nContent-Type: application/pdf; name=report.pdf\r\n"
    b'Content-Disposition: attachment; filename="report.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQKJcfsj6IKNSAwIG9iago=\r\n"
    b"--outer\r\nContent-Type: message/rfc822\r\n\r\n"
    b"From: Inner <inner@example.org>\r\nSubject: inner\r\n"
    b'Content-Type: multipart/mixed; boundary="inner"\r\n\r\n'
    b"--inner\r\nContent-Type: text/plain\r\n\r\nInner text.\r\n--inner--\r\n"
    b"--outer--\r\nepilogue\r\n"
)
_SNIPPETS = [
    b"--outer\r\n",
    b"--outer--\r\n",
    b"--alt\r\n",
    b"\r\n\r\n",
    b'Content-Type: multipart/mixed; boundary=""\r\n',
    b"Content-Type: message/rfc822\r\n\r\n",
    b"Content-Transfer-Encoding: base64\r\n\r\n!!!not*base64***\r\n",
    b"=?utf-8?B?",
    b"\x00",
    b"\xff\xfe\xfd",
    b":\r\n",
    b" folded continuation\r\n",
]
_BOUNDARIES = [
    b'boundary=""',
    b"boundary=",
    b"",
    b'boundary="' + b"x" * 200 + b'"',
    b"boundary=outer;",
]
_ENCODINGS = [
    b"quoted-printable",
    b"x-uuencode",
    b"8bit",
    b"binary",
    b"base64\x00",
    b"garbage",
    b"",
]


@st.composite
def broken_mime(draw: st.DrawFn) -> bytes:
    """A sound multipart message, then one to four cuts, splices and lies about its structure."""
    raw = bytearray(_BASE)
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["truncate", "delete", "insert", "boundary", "encoding"]))
        at = draw(st.integers(0, len(raw)))
        if op == "truncate":
            del raw[at:]
        elif op == "delete":
            del raw[at : at + draw(st.integers(1, 300))]
        elif op == "insert":
            piece = draw(st.sampled_from(_SNIPPETS) | st.binary(max_size=40))
            raw[at:at] = piece
        elif op == "boundary":
            raw = bytearray(raw.replace(b'boundary="outer"', draw(st.sampled_from(_BOUNDARIES))))
        else:
            raw = bytearray(raw.replace(b"base64", draw(st.sampled_from(_ENCODINGS)), 1))
    return bytes(raw)


# ------------------------------------------------------------------------------ charsets

_DECLARED = [
    "utf-8",
    "us-ascii",
    "iso-8859-1",
    "utf-16",
    "utf-32",
    "utf-7",
    "iso-2022-jp",
    "gb18030",
    "big5",
    "koi8-r",
    "x-unknown-charset",
    "unknown-8bit",
    "",
    "utf8\x00",
    '"utf-8',
    "windows-1252; format=flowed; delsp=yes",
]
_ACTUAL = ["utf-8", "utf-16", "latin-1", "cp1252", "shift_jis", "koi8-r"]


@st.composite
def wrong_charset(draw: st.DrawFn) -> bytes:
    """Text in one charset declared as another (or as none that exists), in body and headers."""
    declared = draw(st.sampled_from(_DECLARED) | st.text(max_size=15))
    actual = draw(st.sampled_from(_ACTUAL))
    body = (QUESTION + " " + draw(st.text(max_size=120))).encode(actual, "replace")
    if draw(st.booleans()):
        body = draw(st.binary(max_size=300)) + body
    encoding = draw(st.sampled_from(["8bit", "7bit", "base64", "quoted-printable", "binary"]))
    if encoding == "base64":
        body = base64.encodebytes(body)
    elif encoding == "quoted-printable":
        body = quopri.encodestring(body)
    word_charset = draw(st.sampled_from([*_WORD_CHARSETS, "koi8-r", "x-mac-unknown"]))
    subject = encoded_word(draw(st.text(max_size=40)), word_charset, draw(st.sampled_from("BQ")))
    if draw(st.booleans()):
        subject = subject[: draw(st.integers(0, len(subject)))]  # a word cut short
    name = encoded_word(draw(st.text(max_size=20)), draw(st.sampled_from(_WORD_CHARSETS)), "B")
    head = (
        f"From: {name} <{SENDER.decode()}>\r\nTo: {INBOX}\r\nSubject: {subject}\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset={declared}\r\n"
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    )
    return head.encode("utf-8", "surrogatepass") + body


# -------------------------------------------------------------------- outgoing checks


def assert_no_injected_header(raw: bytes, recipient: str) -> None:
    """Our email's own header block holds only our header names, once each, one line each.

    Read from the raw bytes, as the receiving server will: every line of the block ends in
    CRLF with no bare CR or LF inside, each line is a header or a folded continuation, and
    no value decodes to a line break (an encoded CR/LF would reappear in a reader's display).
    """
    head, blank, _ = raw.partition(b"\r\n\r\n")
    assert blank, "no end of headers"
    names = []
    for number, line in enumerate(head.split(b"\r\n")):
        assert b"\r" not in line and b"\n" not in line, f"bare CR/LF in {line!r}"
        if line[:1] in (b" ", b"\t"):
            assert number > 0, "the block starts with a continuation line"
            continue
        name, colon, _ = line.partition(b":")
        assert colon and _HEADER_NAME.fullmatch(name), f"not a header line: {line!r}"
        names.append(name.decode("ascii").lower())
    assert set(names) <= ALLOWED_HEADERS, f"unexpected headers {set(names) - ALLOWED_HEADERS}"
    assert len(names) == len(set(names)), f"a header repeated: {names}"
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    for name in names:
        value = str(parsed[name])
        assert not any(unicodedata.category(c) in _LINE_BREAKING and c != "\t" for c in value), (
            f"{name} decodes to a line break: {value!r}"
        )
    assert len(email.utils.getaddresses([str(parsed["To"])])) == 1
    assert recipient.lower() in raw.decode("utf-8", "replace").lower() or not recipient.isascii()
