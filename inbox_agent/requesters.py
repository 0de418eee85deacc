"""Who wrote, as the roster knows them: a case's requester matched to a roster entry.

When a case is opened the requester is looked up: by exact email address first, then by name
(case, titles and "Surname, First" order ignored). A match records the person on the case and
sets the register's requester column (candidate, agent, representative); otherwise the
requester's own words decide (``classify/requester.py``), and anyone else is a member of the
public. The roster itself (import, entries, candidates) is ``transparency/roster.py``; this
module sits below the pipeline's stages so that opening a case can call it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox_agent.classify.requester import RequesterType
from inbox_agent.register.audit import AuditAction, record
from inbox_agent.register.models import Case, RosterAddress, RosterPerson, RosterRole

_REQUESTER = {
    RosterRole.CANDIDATE: RequesterType.CANDIDATE,
    RosterRole.PROSPECTIVE_CANDIDATE: RequesterType.CANDIDATE,
    RosterRole.AGENT: RequesterType.AGENT,
    RosterRole.REPRESENTATIVE: RequesterType.REPRESENTATIVE,
}
_TITLES = frozenset(
    {"mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "lord", "lady", "cllr"}
    | {"councillor", "rev", "revd", "hon"}
)


def normalise_name(name: str) -> str:
    """``"Dr Smith, Ann-Marie"`` -> ``"ann-marie smith"``: the key names are compared on."""
    text = unicodedata.normalize("NFKC", name).casefold()
    if text.count(",") == 1:
        last, first = text.split(",")
        text = f"{first} {last}"
    words = [w.strip(".'\"()") for w in re.split(r"[\s,]+", text)]
    return " ".join(w for w in words if w and w not in _TITLES)


def normalise_email(address: str) -> str:
    return address.strip().strip("<>").lower()


def requester_type_for(person: RosterPerson) -> RequesterType:
    return _REQUESTER.get(RosterRole(person.role), RequesterType.PUBLIC)


def find_by_name(session: Session, name: str) -> list[RosterPerson]:
    """Everyone on the roster whose name is this one, once normalised."""
    key = normalise_name(name)
    return [p for p in session.scalars(select(RosterPerson)) if normalise_name(p.name) == key]


def match_person(session: Session, email: str, name: str) -> tuple[RosterPerson, str] | None:
    """The roster entry for a sender: exact address first, then exact (normalised) name."""
    address = normalise_email(email)
    if address:
        people = list(
            session.scalars(
                select(RosterPerson)
                .join(RosterAddress, RosterAddress.person_id == RosterPerson.id)
                .where(RosterAddress.email == address)
                .order_by(RosterPerson.id)
            ).unique()
        )
        if len(people) > 1 and name:  # a shared campaign address: the name decides
            named = [p for p in people if normalise_name(p.name) == normalise_name(name)]
            people = named or people
        if people:
            return people[0], "address"
    if name and normalise_name(name):
        named = find_by_name(session, name)
        if len(named) == 1:
            return named[0], "name"
    return None


def match_case(session: Session, case: Case, now: dt.datetime) -> RosterPerson | None:
    """Record the roster person on a case; their role overrides the words-based requester type.

    Called by ``cases.open_case`` once the case is flushed, and again for unmatched cases when
    the roster changes. No match leaves the case as the classifier saw it.
    """
    found = match_person(session, case.requester_email, case.requester_name)
    if found is None:
        return None
    person, how = found
    old = case.requester_type
    case.person_id = person.id
    case.requester_type = requester_type_for(person)
    record(
        session,
        AuditAction.ROSTER_MATCHED,
        at=now,
        case=case,
        person_id=person.id,
        role=person.role,
        matched_on=how,
        requester_type=case.requester_type,
        old_requester_type=old,
    )
    return person


def rematch_cases(session: Session, now: dt.datetime) -> list[str]:
    """Match every case that has no roster person yet; the references of those matched."""
    matched = []
    for case in session.scalars(select(Case).where(Case.person_id.is_(None)).order_by(Case.id)):
        if match_case(session, case, now) is not None:
            matched.append(case.reference)
    return matched
