"""The labelled corpus: loading it, splitting it, and the text the model sees for each record.

The corpus is JSON lines in ``data/corpus/*.jsonl`` (the labelling guide is ``GUIDE.md`` next
to it), one message per line with the fields ``id, label, subject, body, sender_name,
sender_email, sender_role, office, html, notes`` and optionally ``language`` ("cy" for a
message written in Welsh; "en" by default); ``html: true`` means the body is the message's
HTML, sent as its only part.

**The split** is a pure function of the record's id: the first 8 bytes of
``sha256("inbox-agent-split-v1:" + id)`` as a fraction put it in train (< 0.70), dev (< 0.85)
or test (the rest). It never depends on which other records exist, so adding messages, or
reading the corpus while it is still being written, never moves a record between splits, and
a record once in test stays in test. Per-label counts are printed by ``model evaluate``.

**A fresh hold-out** is pinned to test instead: a record with ``"split": "test"`` (the only
value allowed; ``fresh_holdout.jsonl`` sets it on every line) is never trained or tuned on,
whatever its id hashes to. ``model evaluate --split test`` reports each hold-out file in its
own tables, after the hashed test split, because it was written after the rest had been
tuned and so measures the classifier on messages nobody has looked at through it.

**The test split is never used for tuning.** Training fits on train; the architecture, the
training length (spaCy keeps the best dev checkpoint) and every fusion constant are chosen on
dev; test is read only by ``model evaluate`` to report the figures.

**The text** is made exactly as in production: each record becomes an RFC 5322 message (a
``text/html`` part when the record has HTML), goes through ``parse_message``, and then through
``text.mail_text``: the forwarded original when staff forwarded one, without quoted history,
signatures or disclaimers. ``training.mail_example`` adds the rules' evidence read from the same
parsed message, as ``classifier.classify_message`` does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formataddr
from pathlib import Path
from typing import Any

from inbox_agent.classify import Category
from inbox_agent.classify.text import mail_text
from inbox_agent.errors import OperatorError
from inbox_agent.parse import ParsedMail, parse_message

SPLITS = ("train", "dev", "test")
SPLIT_SALT = "inbox-agent-split-v1:"
TRAIN_SHARE = 0.70
DEV_SHARE = 0.15
DEFAULT_CORPUS = Path(__file__).resolve().parents[3] / "data" / "corpus"
CORPUS_INBOX = "spoc@opcc.example.org"
CORPUS_DATE = "Mon, 06 Apr 2026 09:30:00 +0100"


@dataclass(frozen=True)
class Record:
    """One labelled message as the corpus stores it."""

    id: str
    label: Category
    subject: str
    body: str
    sender_name: str = ""
    sender_email: str = ""
    sender_role: str = ""
    office: str = ""
    html: bool = False  # the body is HTML: the message's only part is text/html
    notes: str = ""
    source: str = ""  # file:line, for error messages
    pinned: str = ""  # "test" for a fresh hold-out record: its split whatever the id hashes to
    language: str = "en"  # "cy" for a message written in Welsh (reported on its own too)

    @property
    def split(self) -> str:
        return self.pinned or split_of(self.id)


def split_of(record_id: str) -> str:
    """train, dev or test, from the id alone (see the module docstring)."""
    digest = hashlib.sha256((SPLIT_SALT + record_id).encode("utf-8")).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    if fraction < TRAIN_SHARE:
        return "train"
    return "dev" if fraction < TRAIN_SHARE + DEV_SHARE else "test"


def load_corpus(directory: Path = DEFAULT_CORPUS) -> list[Record]:
    """Every record of every ``*.jsonl`` file, in file and line order; ids must be unique."""
    files = sorted(directory.glob("*.jsonl"))
    if not files:
        raise OperatorError(
            f"corpus: no *.jsonl files in {directory} (--corpus DIR: the corpus ships with "
            "the source, not the wheel)"
        )
    records: list[Record] = []
    seen: dict[str, str] = {}
    for path in files:
        for record in _read_file(path):
            if record.id in seen:
                raise OperatorError(
                    f"corpus: id {record.id!r} at {record.source} already at {seen[record.id]}"
                )
            seen[record.id] = record.source
            records.append(record)
    return records


def _read_file(path: Path) -> Iterable[Record]:
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            where = f"{path.name}:{number}"
            try:
                yield record_from_json(json.loads(line), where)
            except (ValueError, TypeError, KeyError) as exc:
                raise OperatorError(f"corpus: {where}: {exc}") from exc


def record_from_json(data: dict[str, Any], source: str = "") -> Record:
    """A record from its JSON object; the label must be one of the taxonomy's categories."""

    def text(key: str) -> str:
        value = data.get(key)
        return "" if value is None or isinstance(value, bool) else str(value)

    pinned = text("split")
    if pinned not in ("", "test"):
        raise ValueError(f"split {pinned!r}: a record may only be pinned to 'test'")
    language = text("language") or "en"
    if language not in ("en", "cy"):
        raise ValueError(f"language {language!r}: 'en' (the default) or 'cy'")
    return Record(
        id=str(data["id"]),
        label=Category(data["label"]),
        subject=text("subject"),
        body=text("body"),
        sender_name=text("sender_name"),
        sender_email=text("sender_email"),
        sender_role=text("sender_role"),
        office=text("office"),
        html=data.get("html") is True,
        notes=text("notes"),
        source=source,
        pinned=pinned,
        language=language,
    )


def record_message(record: Record) -> bytes:
    """The record as the raw bytes a mail client would have sent: one text/plain part, or one
    text/html part (HTML-only mail), which the parser converts as it does in production."""
    message = EmailMessage(policy=SMTP)
    message["From"] = formataddr((record.sender_name, record.sender_email or "unknown@invalid"))
    message["To"] = CORPUS_INBOX
    message["Subject"] = record.subject
    message["Date"] = CORPUS_DATE
    message["Message-ID"] = f"<{hashlib.sha1(record.id.encode()).hexdigest()}@corpus.invalid>"
    message.set_content(record.body or "\n", subtype="html" if record.html else "plain")
    return message.as_bytes()


def record_mail(record: Record) -> ParsedMail:
    return parse_message(record_message(record))


def record_text(record: Record) -> str:
    """The text the model reads for this record, exactly as it would in production."""
    return mail_text(record_mail(record))


def by_split(records: Iterable[Record]) -> dict[str, list[Record]]:
    grouped: dict[str, list[Record]] = {name: [] for name in SPLITS}
    for record in records:
        grouped[record.split].append(record)
    return grouped


def corpus_digest(examples: Iterable[tuple[str, str]]) -> str:
    """A short fingerprint of (text, label) pairs: what a model was trained on."""
    digest = hashlib.sha256()
    for text, label in examples:
        digest.update(f"{label}\x00{text}\x1e".encode())
    return digest.hexdigest()[:12]
