"""Earlier requests like this one, from the register, and reusing an answer staff approved.

The protocols promise every candidate the same information, so before answering, staff should
see what the office has already said to anyone who asked the same thing. This module builds
the ``similar.SimilarityIndex`` of the register's requests (the subject and the requester's
own words of the ``MAX_INDEXED`` most recent cases), keeps it while the texts are unchanged,
and answers from it:

* ``find_precedents``: the cases most like one case, each with the answer given and, when
  staff approved it for the disclosure log, that anonymised answer;
* ``approved_answer`` and ``record_reuse``: a reply started from an approved answer, and the
  audit event that says which answer it was and whether staff changed it.

The index is rebuilt when a digest of the indexed texts changes (a new case, retention
anonymising one); its matrices are bounded by ``MAX_INDEXED`` texts of ``similar.TEXT_MAX``
characters. Answers, statuses and publications are read fresh, never cached.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox_agent.classify.text import own_words
from inbox_agent.register.models import AuditEvent, Case, Publication
from inbox_agent.settings import Settings
from inbox_agent.similar import RELATED, SimilarityIndex
from inbox_agent.transparency.publish import PUBLISH, answer_text, local_date

MAX_INDEXED = 3000
LISTED = 8
EXCERPT = 400
MIN_WORDS = 3  # of the requester's own: "Thanks!", or a row retention anonymised, match nothing
_WORD = re.compile(r"[^\W\d_]{2,}")
_GREETING = re.compile(r"(?i)^\s*(?:dear|hello|hi|good (?:morning|afternoon))\b[^\n]*\n")
REUSED = "answer_reused"


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

    def __init__(self, ids: Sequence[int], requesters: Sequence[str], texts: Sequence[str]):
        self.ids = tuple(ids)
        self.requesters = tuple(requesters)
        self.texts = tuple(texts)
        self.position = {case_id: i for i, case_id in enumerate(self.ids)}
        self.index = SimilarityIndex(self.texts)
        self.lock = threading.Lock()
        self.cached: dict[str, object] = {}  # what is derived from the texts (campaign groups)

    def scores_for(self, case_id: int, text: str) -> dict[int, float]:
        """Every indexed case's score against this request (itself left out)."""
        if not text:
            return {}
        scores = self.index.scores(text)
        return {cid: float(scores[i]) for i, cid in enumerate(self.ids) if cid != case_id}


_CACHE: dict[str, tuple[str, RegisterIndex]] = {}
_CACHE_LOCK = threading.Lock()


def requester_key(person_id: int | None, email: str) -> str:
    """One person: their roster entry if matched, else their address."""
    return f"person:{person_id}" if person_id is not None else email.strip().lower()


def register_index(session: Session) -> RegisterIndex:
    """The index of the register's recent requests: the cached one while its texts hold."""
    rows = session.execute(
        select(Case.id, Case.subject, Case.information_sought, Case.person_id, Case.requester_email)
        .order_by(Case.id.desc())
        .limit(MAX_INDEXED)
    ).all()
    texts = [request_text(subject or "", sought or "") for _, subject, sought, _, _ in rows]
    requesters = [requester_key(person, email or "") for _, _, _, person, email in rows]
    digest = hashlib.blake2b(digest_size=16)
    for (case_id, *_), requester, text in zip(rows, requesters, texts, strict=True):
        digest.update(f"{case_id}\x00{requester}\x00{text}\x01".encode())
    key, stamp = str(session.get_bind().engine.url), digest.hexdigest()
    with _CACHE_LOCK:
        held = _CACHE.get(key)
        if held is not None and held[0] == stamp:
            return held[1]
    built = RegisterIndex([r[0] for r in rows], requesters, texts)
    with _CACHE_LOCK:
        _CACHE[key] = (stamp, built)
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


def find_precedents(
    session: Session, settings: Settings, case: Case, index: RegisterIndex | None = None
) -> list[Precedent]:
    """The ``LISTED`` cases most like ``case`` scoring at least ``similar.RELATED``."""
    index = index or register_index(session)
    scores = index.scores_for(case.id, request_text(case.subject, case.information_sought))
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
    session.add(
        AuditEvent(
            at=now,
            actor=actor,
            action=REUSED,
            case_id=case.id,
            detail={
                "from_case": origin.reference,
                "publication": publication.id,
                "answer_edited": edited,
            },
        )
    )
