"""The disclosure log: answers staff approved, anonymised, as a static page and a CSV file.

Every protocol promises that what one candidate is told is published, anonymised, for all. The
steps, each a function the CLI and the web UI share:

1. ``draft_publication``: the question as asked (the requester's own words, without quoted
   history or signature) and the answer given, each anonymised (``anonymise.py``) with the
   roster's, the register's, the staff's and this sender's names. Staff see it beside the
   original (``inbox-agent publication preview REF``).
2. ``approve_publication``: staff accept the draft or give their own edited texts; edited
   texts are checked again and refused while an identifier is still found in them (unless
   ``force``). ``withhold_publication`` records a decision not to publish, with the reason.
3. ``publish_log``: renders every approved entry to ``index.html`` (Jinja2 template
   ``publish/disclosure_log.html.j2``: neutral, accessible, no script) and
   ``disclosure-log.csv`` (date received, type of request, question, answer, date published),
   written atomically, and records the day each entry first went on the page as its
   "date added to website" in the register.

Nothing here reads the clock (``now`` is passed) or sends anything.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox_agent.classify.text import own_words
from inbox_agent.errors import OperatorError, SenderError
from inbox_agent.letters import mail_environment, render_template
from inbox_agent.parse import parse_message
from inbox_agent.register.audit import AuditAction, record
from inbox_agent.register.export import safe_cell
from inbox_agent.register.models import (
    Case,
    Publication,
    RosterPerson,
    WebUser,
)
from inbox_agent.settings import Settings
from inbox_agent.transparency.anonymise import (
    Anonymiser,
    Lexicon,
    Redaction,
    apply_redactions,
    names_from_email,
    sender_names,
)

PUBLISH = "publish"
WITHHOLD = "withhold"
HTML_TEMPLATE = "publish/disclosure_log.html.j2"
HTML_FILE = "index.html"
CSV_FILE = "disclosure-log.csv"
TEXT_MAX = 20_000
CSV_COLUMNS = (
    "Date received",
    "Type of request",
    "Question as asked (anonymised)",
    "Answer given",
    "Date published",
)
REQUEST_TYPES = {
    "foi_request": "Freedom of Information request",
    "information_request": "Request for information",
    "meeting_request": "Request for a meeting or briefing",
    "electoral_process": "Question about the running of the election",
    "media_enquiry": "Media enquiry",
    "conduct_concern": "Concern about conduct",
    "subject_access_request": "Subject access request",
    "out_of_scope": "Other enquiry",
}
WRAPPED_AT = 60  # a line at least this long, in an email, was probably wrapped
_LIST_ITEM = re.compile(r"^(?:[-*•]|\d+[.)]|[a-z][.)])\s")
_REPLY_STAMP = re.compile(r"^\[\d{4}-\d{2}-\d{2}, reply by [^\]\n]*\]\n?", re.MULTILINE)


class PublicationError(OperatorError):
    """A publication step that cannot be done as asked; the message says why."""


@dataclass(frozen=True)
class Draft:
    """A case's question and answer, as written and as they would be published."""

    reference: str
    question_original: str
    question: str
    question_redactions: tuple[Redaction, ...]
    answer_original: str
    answer: str
    answer_redactions: tuple[Redaction, ...]


@dataclass(frozen=True)
class PublishReport:
    entries: int
    newly_published: tuple[str, ...]
    html: Path
    csv: Path


# --------------------------------------------------------------------------- drafting


def lexicon_for(session: Session, settings: Settings) -> Lexicon:
    """Names from the roster, the register and the staff; parties; the roster's addresses."""
    people = list(session.scalars(select(RosterPerson)))
    names = [p.name for p in people]
    names += [n for n in session.scalars(select(Case.requester_name).distinct()) if n]
    names += [n for n in session.scalars(select(Case.officer).distinct()) if n]
    names += [n for n in session.scalars(select(WebUser.display_name)) if n]
    names += settings.transparency.staff_names
    forwarders = session.scalars(select(Case.forwarded_by).distinct())
    names += [n for address in forwarders if address for n in names_from_email(address)]
    parties = [*settings.transparency.party_names, *(p.party for p in people if p.party)]
    hosts = [
        urlsplit(u).hostname
        for u in (settings.office.website_url, settings.policy.briefing_url)
        if u
    ]
    keep = re.findall(r"[^\W\d_]+", f"{settings.office.name} {settings.paro.role}")
    return Lexicon(
        names=tuple(sorted(set(names))),
        parties=tuple(dict.fromkeys(parties)),
        addresses=tuple(sorted({p.postal_address for p in people if p.postal_address})),
        public_domains=tuple(
            dict.fromkeys([*settings.transparency.public_domains, *(h for h in hosts if h)])
        ),
        keep_words=tuple(sorted(set(keep))),
    )


def case_names(case: Case) -> list[str]:
    """The requester's names: the register's columns and the first message's headers and
    signature (unless retention has emptied its raw bytes)."""
    names = [case.requester_name, case.requester_email, case.forwarded_by or ""]
    first = case.messages[0] if case.messages else None
    if first is not None and first.raw:
        with contextlib.suppress(SenderError):  # unreadable: the register's columns will do
            names += sender_names(parse_message(first.raw))
    return [n for n in dict.fromkeys(names) if n]


def question_text(case: Case) -> str:
    """The question as asked: the requester's own words, without quotes and signature."""
    return own_words(case.information_sought) or case.information_sought.strip()


def answer_text(case: Case) -> str:
    """The answer given: every reply recorded on the case, without the "[date, reply by]"
    stamps the web UI writes above each one."""
    return _REPLY_STAMP.sub("", case.information_provided or "").strip()


def draft_publication(session: Session, settings: Settings, case: Case) -> Draft:
    anonymiser = Anonymiser(lexicon_for(session, settings))
    names = case_names(case)
    question, answer = question_text(case), answer_text(case)
    found_q = anonymiser.find(question, names)
    found_a = anonymiser.find(answer, names)
    return Draft(
        reference=case.reference,
        question_original=question,
        question=apply_redactions(question, found_q),
        question_redactions=tuple(found_q),
        answer_original=answer,
        answer=apply_redactions(answer, found_a),
        answer_redactions=tuple(found_a),
    )


def find_case(session: Session, reference: str) -> Case:
    case = session.scalars(select(Case).where(Case.reference == reference)).first()
    if case is None:
        raise PublicationError(f"no case {reference}")
    return case


def publication_of(session: Session, case: Case) -> Publication | None:
    return session.scalars(select(Publication).where(Publication.case_id == case.id)).first()


# --------------------------------------------------------------------------- decisions


def _clean(text: str) -> str:
    cleaned = text.replace("\r\n", "\n").strip()
    if len(cleaned) > TEXT_MAX:
        raise PublicationError(f"the text is longer than {TEXT_MAX:,} characters")
    return cleaned


def residual_identifiers(session: Session, settings: Settings, case: Case, text: str) -> list[str]:
    """What the anonymiser still finds in a text staff wrote: ``LABEL 'text'`` each."""
    anonymiser = Anonymiser(lexicon_for(session, settings))
    return [f"{r.label} {text[r.start : r.end]!r}" for r in anonymiser.find(text, case_names(case))]


def approve_publication(
    session: Session,
    settings: Settings,
    case: Case,
    *,
    actor: str,
    now: dt.datetime,
    question: str | None = None,
    answer: str | None = None,
    force: bool = False,
) -> Publication:
    """Approve the case for the disclosure log, with the draft or staff's own texts.

    A text staff give is checked again: while the anonymiser still finds an identifier in it,
    approval is refused with the list (``force`` approves it as written, for a false alarm).
    Approving again replaces the texts; an entry already published keeps its date.
    """
    draft = draft_publication(session, settings, case)
    texts = {"question": question, "answer": answer}
    final = {
        "question": _clean(question) if question is not None else draft.question,
        "answer": _clean(answer) if answer is not None else draft.answer,
    }
    if not final["answer"]:
        raise PublicationError(f"{case.reference}: no answer is recorded; give --answer-file")
    if not final["question"]:
        raise PublicationError(f"{case.reference}: the question is empty; give --question-file")
    for key, given in texts.items():
        if given is None or force:
            continue
        left = residual_identifiers(session, settings, case, final[key])
        if left:
            raise PublicationError(
                f"{case.reference}: the {key} still holds what looks like personal data: "
                f"{'; '.join(left)} (edit it, or approve with --force if these are not)"
            )
    row = publication_of(session, case)
    if row is None:
        row = Publication(case_id=case.id, approved_by=actor, approved_at=now, updated_at=now)
        session.add(row)
    row.decision, row.reason = PUBLISH, None
    row.question, row.answer = final["question"], final["answer"]
    row.approved_by, row.approved_at, row.updated_at = actor, now, now
    edited = [k for k, v in texts.items() if v is not None]
    record(
        session,
        AuditAction.PUBLICATION_APPROVED,
        at=now,
        actor=actor,
        case=case,
        edited=edited,
        forced=force,
    )
    return row


def withhold_publication(
    session: Session, case: Case, reason: str, *, actor: str, now: dt.datetime
) -> Publication:
    """Record that this answer is not for the log (a personal matter, a subject access
    request...): the parity report stops asking for it, and the reason is kept."""
    reason = " ".join(reason.split())
    if not reason:
        raise PublicationError("give the reason the answer is not published")
    row = publication_of(session, case)
    if row is not None and row.published_on is not None:
        raise PublicationError(
            f"{case.reference} is already on the published page (since "
            f"{row.published_on.isoformat()}); take it off the website by hand first"
        )
    if row is None:
        row = Publication(case_id=case.id, approved_by=actor, approved_at=now, updated_at=now)
        session.add(row)
    row.decision, row.reason, row.question, row.answer = WITHHOLD, reason, "", ""
    row.approved_by, row.approved_at, row.updated_at = actor, now, now
    record(session, AuditAction.PUBLICATION_WITHHELD, at=now, actor=actor, case=case, reason=reason)
    return row


# --------------------------------------------------------------------------- publishing


@dataclass(frozen=True)
class Entry:
    """One row of the published log."""

    received: dt.date
    request_type: str
    question: str
    answer: str
    published: dt.date

    @property
    def question_paragraphs(self) -> list[list[str]]:
        return paragraphs(self.question)

    @property
    def answer_paragraphs(self) -> list[list[str]]:
        return paragraphs(self.answer)


def paragraphs(text: str) -> list[list[str]]:
    """Blocks separated by blank lines, as lists of lines (for ``<p>`` and ``<br>``).

    Email text arrives wrapped at about 72 columns: a line following a long one continues
    it, unless it starts a list item, so the page reflows instead of breaking mid-sentence.
    """
    blocks = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines: list[str] = []
        for line in (x.strip() for x in block.splitlines()):
            if lines and len(lines[-1]) >= WRAPPED_AT and not _LIST_ITEM.match(line):
                lines[-1] = f"{lines[-1]} {line}"
            elif line:
                lines.append(line)
        if lines:
            blocks.append(lines)
    return blocks


def local_date(moment: dt.datetime, settings: Settings) -> dt.date:
    return moment.astimezone(settings.office.zone).date()


def approved(session: Session) -> list[tuple[Publication, Case]]:
    rows = session.execute(
        select(Publication, Case)
        .join(Case, Case.id == Publication.case_id)
        .where(Publication.decision == PUBLISH)
        .order_by(Case.date_of_contact.desc(), Case.id.desc())
    )
    return [(p, c) for p, c in rows]


def publish_log(
    session: Session, settings: Settings, output: Path, *, actor: str, now: dt.datetime
) -> PublishReport:
    """Write the page and the CSV; entries new to the page get today's date on the case."""
    today = local_date(now, settings)
    newly: list[str] = []
    entries: list[Entry] = []
    for publication, case in approved(session):
        if publication.published_on is None:
            publication.published_on = today
            newly.append(case.reference)
            if case.date_added_to_website is None:
                case.date_added_to_website = today
                record(
                    session,
                    AuditAction.ADDED_TO_WEBSITE,
                    at=now,
                    actor=actor,
                    case=case,
                    date=today.isoformat(),
                )
        entries.append(
            Entry(
                received=local_date(case.date_of_contact, settings),
                request_type=REQUEST_TYPES.get(case.category, "Enquiry"),
                question=publication.question,
                answer=publication.answer,
                published=publication.published_on,
            )
        )
    html = render_disclosure_log(settings, entries, today)
    output.mkdir(parents=True, exist_ok=True)
    _write_atomic(output / HTML_FILE, html)
    _write_atomic(output / CSV_FILE, render_csv(entries))
    return PublishReport(len(entries), tuple(newly), output / HTML_FILE, output / CSV_FILE)


def render_disclosure_log(settings: Settings, entries: list[Entry], today: dt.date) -> str:
    """The public page (also rendered, empty, by ``check-config``)."""
    return render_template(
        mail_environment(settings.policy.template_dir),
        HTML_TEMPLATE,
        {"office": settings.office, "entries": entries, "updated": today, "csv_file": CSV_FILE},
    )


def render_csv(entries: list[Entry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        cells = (
            e.received.isoformat(),
            e.request_type,
            e.question,
            e.answer,
            e.published.isoformat(),
        )
        writer.writerow([safe_cell(c) for c in cells])  # the question is a requester's
    return out.getvalue()


def _write_atomic(path: Path, text: str) -> None:
    """A web server serving the folder never sees a half-written file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # a public page: the web server's user must read it
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
