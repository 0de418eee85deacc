"""Earlier requests like this one, from the register, and reusing an answer staff approved.

The protocols promise every candidate the same information, so before answering, staff should
see what the office has already said to anyone who asked the same thing. This module builds
the ``similar.SimilarityIndex`` of the register's requests (the subject and the requester's
own words of the ``MAX_INDEXED`` most recent cases, and of every older one on the disclosure
log), keeps it while the texts are unchanged, and answers from it:

* ``find_precedents``: the cases most like one case, each with the answer given and, when
  staff approved it for the disclosure log, that anonymised answer;
* ``approved_answer`` and ``record_reuse``: a reply started from an approved answer, and the
  audit event that says which answer it was and whether staff changed it.

The index is rebuilt when a digest of the indexed texts changes (a new case, retention
anonymising one), counting only the texts it has not seen; its matrices are bounded by
``MAX_INDEXED`` texts (plus the disclosure log's, a few hundred at most) of
``similar.TEXT_MAX`` characters. Answers, statuses and publications are read fresh, never
cached.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from scipy.sparse import csr_matrix, vstack
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox_agent.classify.text import own_words
from inbox_agent.register.audit import AuditAction, record
from inbox_agent.register.models import Case, Publication
from inbox_agent.settings import Settings
from inbox_agent.similar import RELATED, SimilarityIndex, count_texts
from inbox_agent.transparency.publish import PUBLISH, answer_text, local_date

MAX_INDEXED = 3000
LISTED = 8
EXCERPT = 400
MIN_WORDS = 3  # of the requester's own: "Thanks!", or a row retention anonymised, match nothing
_WORD = re.compile(r"[^\W\d_]{2,}")
_GREETING = re.compile(r"(?i)^\s*(?:dear|hello|hi|good (?:morning|afternoon))\b[^\n]*\n")
REUSED = AuditAction.ANSWER_REUSED


class ReuseError(ValueError):
    """The answer asked for cannot be reused; the message is shown to staff."""


def request_text(subject: str, information_sought: str) -> str:
    """What a request asks: its subject and the requester's own words (no quote, signature).

    A request of fewer than ``MIN_WORDS`` words gives "", which matches nothing."""
    words = own_words(information_sought) or information_sought.strip()
    if len(_WORD.findall(words)) < MIN_WORDS:
        return ""
    return f"{subject}\n{words}"


def answer_body(text: str) -> str:
    """An answer without its greeting or sign-off, which name the requester: what another
    requester can be told too."""
    text = _GREETING.sub("", text.strip(), count=1)
    return own_words(text) or text.strip()


class RegisterIndex:
    """The register's recent requests, indexed; ``ids[i]`` is the case of text ``i``."""

    def __init__(
        self,
        ids: Sequence[int],
        requesters: Sequence[str],
        texts: Sequence[str],
        previous: RegisterIndex | None = None,
        *,
        keys: Sequence[str] | None = None,
    ):
        """``previous``: the index this one replaces, whose texts need not be counted again;
        ``keys``: a hash of each case's raw subject and words (``register_index``)."""
        self.ids = tuple(ids)
        self.requesters = tuple(requesters)
        self.texts = tuple(texts)
        self.keys = tuple(keys) if keys is not None else self.texts
        self.position = {case_id: i for i, case_id in enumerate(self.ids)}
        self.index = SimilarityIndex(self.texts, counts=_counts(self.texts, previous))
        self.lock = threading.Lock()
        self.cached: dict[str, object] = {}  # what is derived from the texts (campaign groups)

    def scores_for(self, case_id: int, text: str) -> dict[int, float]:
        """Every indexed case's score against this request (itself left out)."""
        if not text:
            return {}
        scores = self.index.scores(text)
        return {cid: float(scores[i]) for i, cid in enumerate(self.ids) if cid != case_id}


def _counts(texts: Sequence[str], previous: RegisterIndex | None) -> list[csr_matrix]:
    """The n-gram counts of ``texts``, reusing the rows ``previous`` counted already."""
    if previous is None:
        return count_texts(texts)
    known = {t: i for i, t in enumerate(previous.texts)}
    fresh = [t for t in dict.fromkeys(texts) if t not in known]
    at = {t: len(known) + i for i, t in enumerate(fresh)}
    rows = [known[t] if t in known else at[t] for t in texts]
    pools = zip(previous.index.counts, count_texts(fresh), strict=True)
    return [csr_matrix(vstack([old, new], format="csr")[rows]) for old, new in pools]


_CACHE: dict[str, tuple[str, RegisterIndex]] = {}
_CACHE_LOCK = threading.Lock()


def requester_key(person_id: int | None, email: str) -> str:
    """One person: their roster entry if matched, else their address."""
    return f"person:{person_id}" if person_id is not None else email.strip().lower()


def _indexed_rows(session: Session) -> list[Any]:
    """The ``MAX_INDEXED`` newest cases, and every older one on the disclosure log."""
    columns = (Case.id, Case.subject, Case.information_sought, Case.person_id, Case.requester_email)
    rows = list(session.execute(select(*columns).order_by(Case.id.desc()).limit(MAX_INDEXED)))
    if len(rows) == MAX_INDEXED:
        published = (
            select(*columns)
            .join(Publication, Publication.case_id == Case.id)
            .where(Publication.decision == PUBLISH, Case.id < rows[-1][0])
            .order_by(Case.id.desc())
        )
        rows += list(session.execute(published))
    return rows


def register_index(session: Session) -> RegisterIndex:
    """The index of the register's recent requests: the cached one while its texts hold.

    Each page asks, so this costs a read of the indexed columns and a hash of them; only
    requests whose words changed (new ones, mostly) are read again and counted."""
    rows = _indexed_rows(session)
    keys = [
        hashlib.blake2b(f"{subject}\x00{sought}".encode(), digest_size=16).hexdigest()
        for _, subject, sought, _, _ in rows
    ]
    requesters = [requester_key(person, email or "") for _, _, _, person, email in rows]
    digest = hashlib.blake2b(digest_size=16)
    for (case_id, *_), requester, raw in zip(rows, requesters, keys, strict=True):
        digest.update(f"{case_id}\x00{requester}\x00{raw}\x01".encode())
    url, stamp = str(session.get_bind().engine.url), digest.hexdigest()
    with _CACHE_LOCK:
        held = _CACHE.get(url)
    if held is not None and held[0] == stamp:
        return held[1]
    previous = held[1] if held else None
    known = dict(zip(previous.keys, previous.texts, strict=True)) if previous else {}
    texts = [
        known[raw] if raw in known else request_text(subject or "", sought or "")
        for (_, subject, sought, _, _), raw in zip(rows, keys, strict=True)
    ]
    built = RegisterIndex([r[0] for r in rows], requesters, texts, previous, keys=keys)
    with _CACHE_LOCK:
        _CACHE[url] = (stamp, built)
    return built


@dataclass(frozen=True)
class Precedent:
    """An earlier (or later) case like this one, and what the office told its requester."""

    reference: str
    score: float
    received: dt.date
    requester: str
    requester_type: str
    same_requester: bool
    category: str
    status: str
    question: str
    answer: str  # the answer given, "" while unanswered
    approved_answer: str  # the anonymised answer approved for the disclosure log, else ""
    published_on: dt.date | None


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1].rstrip() + "…"


def case_scores(index: RegisterIndex, case: Case) -> dict[int, float]:
    """Every other indexed case's score against ``case``'s request."""
    return index.scores_for(case.id, request_text(case.subject, case.information_sought))


def find_precedents(
    session: Session, settings: Settings, case: Case, scores: dict[int, float] | None = None
) -> list[Precedent]:
    """The ``LISTED`` cases most like ``case`` scoring at least ``similar.RELATED``;
    ``scores`` are ``case_scores`` when the caller has them already."""
    if scores is None:
        scores = case_scores(register_index(session), case)
    best = sorted(
        ((s, cid) for cid, s in scores.items() if s >= RELATED), key=lambda x: (-x[0], x[1])
    )[:LISTED]
    if not best:
        return []
    ids = [cid for _, cid in best]
    cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(ids)))}
    published = {
        p.case_id: p
        for p in session.scalars(select(Publication).where(Publication.case_id.in_(ids)))
    }
    mine = requester_key(case.person_id, case.requester_email)
    found = []
    for score, cid in best:
        other = cases[cid]
        row = published.get(cid)
        approved = row is not None and row.decision == PUBLISH
        found.append(
            Precedent(
                reference=other.reference,
                score=round(score, 3),
                received=local_date(other.date_of_contact, settings),
                requester=other.requester_name or other.requester_email,
                requester_type=other.requester_type,
                same_requester=requester_key(other.person_id, other.requester_email) == mine,
                category=other.category,
                status=other.status,
                question=_excerpt(own_words(other.information_sought)),
                answer=_excerpt(answer_text(other)),
                approved_answer=row.answer if row is not None and approved else "",
                published_on=row.published_on if row is not None and approved else None,
            )
        )
    return found


def approved_answer(session: Session, reference: str) -> tuple[Case, Publication]:
    """The case ``reference`` and its answer as approved for the disclosure log."""
    found = session.execute(
        select(Case, Publication)
        .join(Publication, Publication.case_id == Case.id)
        .where(Case.reference == reference, Publication.decision == PUBLISH)
    ).first()
    if found is None:
        raise ReuseError(f"{reference} has no answer approved for the disclosure log.")
    return found[0], found[1]


def record_reuse(
    session: Session, case: Case, source: str, sent: str, *, actor: str, now: dt.datetime
) -> None:
    """Audit that the reply to ``case`` started from ``source``'s approved answer, and
    whether staff changed that answer's words before sending."""
    origin, publication = approved_answer(session, source)
    edited = " ".join(answer_body(publication.answer).split()) not in " ".join(sent.split())
    record(
        session,
        REUSED,
        at=now,
        actor=actor,
        case=case,
        from_case=origin.reference,
        publication=publication.id,
        answer_edited=edited,
    )
