"""The roster: candidates, prospective candidates, agents and representatives, and who wrote.

Staff import the PARO's statement of persons nominated (or any list) as CSV, or add people one
by one; each entry has a name, a role, a party (or independent), email addresses, and flags for
the serving PCC and Deputy PCC. Those flags exist so that equal treatment can be checked: the
incumbent is a candidate like any other and nothing here treats them differently.

When a case is opened the requester is looked up in it (``requesters.py``, which the pipeline
calls); importing or adding people here re-matches the cases that had no match yet.

CSV columns (header row required, any order, case-insensitive)::

    name            required  the person's name as they write it
    role            required  candidate | prospective candidate | agent | representative
    party           optional  the party's name, or "Independent"; blank for an agent or
                              representative means their candidate's party
    email           optional  one or more addresses separated by ";"
    acts_for        optional  for an agent or representative: their candidate's name
    incumbent       optional  yes/no: the serving Police and Crime Commissioner
    deputy          optional  yes/no: the serving Deputy PCC
    postal_address  optional  redacted from anything published
    phone           optional  redacted from anything published
    source          optional  where the entry comes from (default: the file's name)
    source_date     optional  YYYY-MM-DD (default: ``--date``)

Rows are numbered as a spreadsheet shows them (the header is row 1). Every row is checked
before anything is written, and the import is one transaction: a bad file changes nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox_agent.errors import OperatorError
from inbox_agent.register.audit import AuditAction, record
from inbox_agent.register.models import RosterAddress, RosterPerson, RosterRole
from inbox_agent.requesters import find_by_name, normalise_email, normalise_name, rematch_cases

COLUMNS = (
    "name",
    "role",
    "party",
    "email",
    "acts_for",
    "incumbent",
    "deputy",
    "postal_address",
    "phone",
    "source",
    "source_date",
)
REQUIRED = ("name", "role")
MAX_ERRORS = 20
NAME_MAX = 200
TEXT_MAX = 500

_ROLES = {
    "candidate": RosterRole.CANDIDATE,
    "nominated_candidate": RosterRole.CANDIDATE,
    "prospective_candidate": RosterRole.PROSPECTIVE_CANDIDATE,
    "prospective": RosterRole.PROSPECTIVE_CANDIDATE,
    "agent": RosterRole.AGENT,
    "election_agent": RosterRole.AGENT,
    "representative": RosterRole.REPRESENTATIVE,
}
CANDIDATE_ROLES = frozenset({RosterRole.CANDIDATE, RosterRole.PROSPECTIVE_CANDIDATE})
_YES = frozenset({"yes", "y", "true", "1", "x"})
_NO = frozenset({"", "no", "n", "false", "0"})


class RosterError(OperatorError):
    """A roster file or entry that cannot be accepted; the message names the row and column."""


@dataclass(frozen=True)
class RosterEntry:
    """One validated person, ready to be written."""

    name: str
    role: RosterRole
    party: str = ""
    independent: bool = False
    emails: tuple[str, ...] = ()
    acts_for: str = ""
    incumbent: bool = False
    deputy: bool = False
    postal_address: str = ""
    phone: str = ""
    source: str = ""
    source_date: dt.date | None = None


@dataclass
class ImportReport:
    added: int = 0
    updated: int = 0
    cases_matched: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- validation


def _role(value: str) -> RosterRole:
    key = re.sub(r"[\s-]+", "_", value.strip().lower())
    if key not in _ROLES:
        raise ValueError(
            f"{value!r} is not a role; use candidate, prospective candidate, agent or "
            "representative"
        )
    return _ROLES[key]


def _flag(value: str) -> bool:
    key = value.strip().lower()
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise ValueError(f"{value!r} is not yes or no")


def _emails(value: str) -> tuple[str, ...]:
    found: list[str] = []
    for part in re.split(r"[;\s]+", value):
        if not part.strip():
            continue
        try:
            checked = validate_email(
                normalise_email(part), check_deliverability=False, test_environment=True
            )
        except EmailNotValidError as exc:
            raise ValueError(f"{part!r} is not an email address ({exc})") from None
        if checked.normalized.lower() not in found:
            found.append(checked.normalized.lower())
    return tuple(found)


def _date(value: str) -> dt.date | None:
    if not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _text(value: str, limit: int) -> str:
    cleaned = " ".join(value.split())
    if len(cleaned) > limit:
        raise ValueError(f"longer than {limit} characters")
    return cleaned


class RowError(ValueError):
    """What is wrong with one row: ``(column, message)`` pairs, every column checked."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{c}: {m}" for c, m in problems))
        self.problems = problems


def make_entry(values: dict[str, str], *, source: str, source_date: dt.date | None) -> RosterEntry:
    """Validate one row; ``RowError`` lists every column that is wrong."""
    checks: dict[str, object] = {}
    problems: list[tuple[str, str]] = []
    for column, check in (
        ("name", lambda v: _text(v, NAME_MAX)),
        ("role", _role),
        ("party", lambda v: _text(v, TEXT_MAX)),
        ("email", _emails),
        ("acts_for", lambda v: _text(v, NAME_MAX)),
        ("incumbent", _flag),
        ("deputy", _flag),
        ("postal_address", lambda v: _text(v, TEXT_MAX)),
        ("phone", lambda v: _text(v, 40)),
        ("source", lambda v: _text(v, TEXT_MAX)),
        ("source_date", _date),
    ):
        try:
            checks[column] = check(values.get(column) or "")
        except ValueError as exc:
            problems.append((column, str(exc)))
    if not problems and not checks["name"]:
        problems.append(("name", "the name is empty"))
    if not problems and checks["role"] in CANDIDATE_ROLES and checks["acts_for"]:
        problems.append(("acts_for", "only an agent or representative acts for a candidate"))
    if problems:
        raise RowError(problems)
    role = checks["role"]
    assert isinstance(role, RosterRole)
    party = str(checks["party"])
    independent = party.casefold() == "independent"
    return RosterEntry(
        name=str(checks["name"]),
        role=role,
        party="" if independent else party,
        independent=independent,
        emails=checks["email"],  # type: ignore[arg-type]
        acts_for=str(checks["acts_for"]),
        incumbent=bool(checks["incumbent"]),
        deputy=bool(checks["deputy"]),
        postal_address=str(checks["postal_address"]),
        phone=str(checks["phone"]),
        source=str(checks["source"]) or source,
        source_date=checks["source_date"] or source_date,  # type: ignore[arg-type]
    )


def parse_roster_csv(
    text: str,
    *,
    file: str,
    source: str,
    source_date: dt.date | None,
    known_candidates: Iterable[str] = (),
) -> list[RosterEntry]:
    """Every row checked; one ``RosterError`` lists the problems by row and column.

    ``acts_for`` must name a candidate in the file or in ``known_candidates`` (the roster).
    """
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None:
        raise RosterError(f"{file}: the file is empty (a header row is required)")
    names = [h.strip().lower().replace(" ", "_") for h in header]
    unknown = [h for h in names if h not in COLUMNS]
    missing = [c for c in REQUIRED if c not in names]
    if unknown or missing:
        problems = [f"unknown column {h!r}" for h in unknown]
        problems += [f"missing column {c!r}" for c in missing]
        raise RosterError(
            f"{file}: row 1 (header): {'; '.join(problems)}; the columns are {', '.join(COLUMNS)}"
        )
    rows: list[tuple[int, RosterEntry]] = []
    errors: list[str] = []
    for row in reader:
        number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(names):
            errors.append(f"row {number}: {len(row)} cells but {len(names)} columns")
            continue
        values = dict(zip(names, row, strict=False))
        try:
            rows.append((number, make_entry(values, source=source, source_date=source_date)))
        except RowError as exc:
            errors += [f"row {number}, column {c!r}: {m}" for c, m in exc.problems]
    errors += _check_references(rows, known_candidates)
    if errors:
        shown = errors[:MAX_ERRORS]
        more = f"\n  ... and {len(errors) - MAX_ERRORS} more" if len(errors) > MAX_ERRORS else ""
        lines = "\n  ".join(shown)
        raise RosterError(f"{file}: nothing imported:\n  {lines}{more}")
    return [entry for _, entry in rows]


def _check_references(rows: Sequence[tuple[int, RosterEntry]], known: Iterable[str]) -> list[str]:
    """No name twice; every ``acts_for`` names a candidate of the file or of the roster."""
    seen: dict[str, int] = {}
    errors = []
    for number, entry in rows:
        key = normalise_name(entry.name)
        if key in seen:
            errors.append(f"row {number}, column 'name': {entry.name!r} is also row {seen[key]}")
        seen[key] = number
    candidates = {normalise_name(n) for n in known}
    candidates |= {normalise_name(e.name) for _, e in rows if e.role in CANDIDATE_ROLES}
    for number, entry in rows:
        if entry.acts_for and normalise_name(entry.acts_for) not in candidates:
            errors.append(
                f"row {number}, column 'acts_for': no candidate called {entry.acts_for!r} "
                "in the file or the roster"
            )
    return errors


# --------------------------------------------------------------------------- writing


def _upsert(session: Session, entry: RosterEntry, now: dt.datetime) -> tuple[RosterPerson, bool]:
    existing = find_by_name(session, entry.name)
    person = existing[0] if existing else RosterPerson(name=entry.name, created_at=now)
    person.name = entry.name
    person.role = entry.role
    person.party = entry.party
    person.independent = entry.independent
    person.incumbent = entry.incumbent
    person.deputy = entry.deputy
    person.postal_address = entry.postal_address or (person.postal_address or "")
    person.phone = entry.phone or (person.phone or "")
    person.source = entry.source
    person.source_date = entry.source_date
    person.updated_at = now
    if not existing:
        session.add(person)
    have = {a.email for a in person.addresses}
    for email in entry.emails:
        if email not in have:
            person.addresses.append(RosterAddress(email=email))
    return person, not existing


def _link_acts_for(session: Session, person: RosterPerson, entry: RosterEntry) -> None:
    if not entry.acts_for:
        return
    found = [p for p in find_by_name(session, entry.acts_for) if p.role in CANDIDATE_ROLES]
    if len(found) != 1:
        what = "no candidate" if not found else "more than one candidate"
        raise RosterError(f"{entry.name}: acts_for {entry.acts_for!r}: {what} of that name")
    person.acts_for_id = found[0].id
    if not entry.party and not entry.independent:
        person.party, person.independent = found[0].party, found[0].independent


def save_entries(
    session: Session,
    entries: Iterable[RosterEntry],
    *,
    actor: str,
    now: dt.datetime,
    what: str,
) -> ImportReport:
    """Add or update (by name) every entry, link agents to candidates, then re-match cases."""
    report = ImportReport()
    entries = list(entries)
    people = []
    for entry in entries:
        person, added = _upsert(session, entry, now)
        people.append(person)
        report.added += added
        report.updated += not added
    session.flush()
    for person, entry in zip(people, entries, strict=True):
        _link_acts_for(session, person, entry)
    session.flush()
    record(
        session,
        AuditAction.ROSTER_UPDATED,
        at=now,
        actor=actor,
        source=what,
        added=report.added,
        updated=report.updated,
    )
    report.cases_matched = rematch_cases(session, now)
    return report


def import_roster_csv(
    session: Session,
    text: str,
    *,
    file: str,
    source_date: dt.date | None,
    actor: str,
    now: dt.datetime,
) -> ImportReport:
    """``roster import``: validate the whole file, then write it in the caller's transaction."""
    known = [p.name for p in candidates(session)]
    entries = parse_roster_csv(
        text, file=file, source=file, source_date=source_date, known_candidates=known
    )
    return save_entries(session, entries, actor=actor, now=now, what=file)


def list_people(session: Session) -> list[RosterPerson]:
    return list(session.scalars(select(RosterPerson).order_by(RosterPerson.name)))


def candidates(session: Session) -> list[RosterPerson]:
    return [p for p in list_people(session) if p.role in CANDIDATE_ROLES]


def candidate_of(session: Session, person: RosterPerson) -> RosterPerson:
    """The candidate a person stands for: themselves, or the one an agent acts for."""
    if person.role in CANDIDATE_ROLES or person.acts_for_id is None:
        return person
    return session.get(RosterPerson, person.acts_for_id) or person


def describe(person: RosterPerson) -> str:
    """One line for ``roster list``."""
    party = "Independent" if person.independent else (person.party or "(no description)")
    flags = [
        flag
        for flag, on in (("incumbent PCC", person.incumbent), ("deputy PCC", person.deputy))
        if on
    ]
    emails = ", ".join(a.email for a in person.addresses) or "-"
    source = person.source or "-"
    when = person.source_date.isoformat() if person.source_date else "-"
    extra = f" [{'; '.join(flags)}]" if flags else ""
    return f"{person.name:<28} {person.role:<22} {party:<24} {emails}  ({source}, {when}){extra}"
