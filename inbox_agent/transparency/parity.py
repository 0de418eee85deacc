"""Equal treatment of candidates: who asked for what, what they were told, what is published.

The protocols say candidates "must be treated even-handedly and have equal access to
information", that the incumbent is treated as any other candidate, and that what one is told
is published for all. This report makes that checkable from the register:

* for each candidate on the roster (their agents' and representatives' cases counted with
  theirs): every case, when it was answered, and whether the answer is on the disclosure log;
* cases from people who said they were candidates, agents or representatives but are not on
  the roster, so staff can add them;
* an **alert** for every answer given to a candidate (or their agent or representative) that
  is neither published nor withheld with a reason after
  ``transparency.publish_after_working_days`` working days (FOIA working days, ``UkCalendar``):
  counted from the day after the answer, as the FOI clock is;
* every meeting or briefing offered to one candidate, listed against the others: a meeting
  request answered, or an answer that offers a meeting, briefing or visit;
* with ``compare=True`` (the parity page and ``inbox-agent parity``), the same question asked
  by two candidates and answered differently or to one only, and every answer to a candidate
  not yet on the disclosure log (``consistency.py``).

Nothing here writes to the register; ``now`` is passed in.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inbox_agent.classify.requester import RequesterType
from inbox_agent.deadlines import UkCalendar
from inbox_agent.register.audit import AuditAction
from inbox_agent.register.models import Case, CaseStatus, Publication, RosterPerson
from inbox_agent.settings import Settings
from inbox_agent.transparency.publish import WITHHOLD, answer_text, local_date
from inbox_agent.transparency.roster import CANDIDATE_ROLES

if TYPE_CHECKING:  # the answer comparison loads scikit-learn: only `compare=True` pays for it
    from inbox_agent.transparency.consistency import SameQuestion, Unpublished

MEETING_CATEGORY = "meeting_request"
_OFFER = re.compile(r"(?i)\b(?:meet(?:ing)?s?|briefings?|visits?|familiarisation)\b")
_ANSWERED = frozenset({CaseStatus.ANSWERED, CaseStatus.CLOSED})
SUMMARY_MAX = 120
_REQUESTER_TYPES = frozenset(
    {RequesterType.CANDIDATE, RequesterType.AGENT, RequesterType.REPRESENTATIVE}
)


@dataclass(frozen=True)
class CaseLine:
    reference: str
    received: dt.date
    category: str
    subject: str
    requester: str
    requester_type: str
    answered: dt.date | None
    publication: str  # published YYYY-MM-DD | approved | withheld: reason | not published


@dataclass(frozen=True)
class CandidateParity:
    name: str
    party: str
    incumbent: bool
    deputy: bool
    cases: tuple[CaseLine, ...]

    @property
    def asked(self) -> int:
        return len(self.cases)

    @property
    def answered(self) -> int:
        return sum(1 for c in self.cases if c.answered)

    @property
    def published(self) -> int:
        return sum(1 for c in self.cases if c.publication.startswith("published"))


@dataclass(frozen=True)
class ParityAlert:
    reference: str
    candidate: str
    answered: dt.date
    publish_by: dt.date
    working_days: int

    @property
    def message(self) -> str:
        return (
            f"{self.reference}: the answer given to {self.candidate} on "
            f"{self.answered.isoformat()} is not published after {self.working_days} working "
            f"days (due by {self.publish_by.isoformat()})"
        )


@dataclass(frozen=True)
class Offer:
    reference: str
    offered_to: str
    answered: dt.date
    summary: str
    others: dict[str, list[str]]  # every other candidate -> their own offers' references


@dataclass
class ParityReport:
    today: dt.date
    publish_after_working_days: int
    candidates: list[CandidateParity] = field(default_factory=list)
    unmatched: list[CaseLine] = field(default_factory=list)
    alerts: list[ParityAlert] = field(default_factory=list)
    offers: list[Offer] = field(default_factory=list)
    compared: bool = False  # whether same_questions and unpublished were worked out
    same_questions: list[SameQuestion] = field(default_factory=list)
    unpublished: list[Unpublished] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for item, candidate in zip(data["candidates"], self.candidates, strict=True):
            item |= {
                "asked": candidate.asked,
                "answered": candidate.answered,
                "published": candidate.published,
            }
        for item, alert in zip(data["alerts"], self.alerts, strict=True):
            item["message"] = alert.message
        jsonable: dict[str, Any] = _jsonable(data)
        return jsonable


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def answered_on(case: Case, settings: Settings) -> dt.date | None:
    """The day the answer was given: the first reply queued, else (an answer recorded by
    hand) the day the case was last updated; None while it is unanswered."""
    for event in case.events:
        if event.action == AuditAction.REPLY_QUEUED:
            return local_date(event.at, settings)
    if case.status in _ANSWERED and answer_text(case):
        return local_date(case.updated_at, settings)
    return None


def _publication(row: Publication | None) -> str:
    if row is None:
        return "not published"
    if row.decision == WITHHOLD:
        return f"withheld: {row.reason}"
    if row.published_on is not None:
        return f"published {row.published_on.isoformat()}"
    return "approved, not yet on the page"


def _line(case: Case, row: Publication | None, settings: Settings) -> CaseLine:
    return CaseLine(
        reference=case.reference,
        received=local_date(case.date_of_contact, settings),
        category=case.category,
        subject=case.subject[:SUMMARY_MAX],
        requester=case.requester_name or case.requester_email,
        requester_type=case.requester_type,
        answered=answered_on(case, settings),
        publication=_publication(row),
    )


def build_parity(
    session: Session,
    settings: Settings,
    now: dt.datetime,
    calendar: UkCalendar,
    *,
    compare: bool = False,
) -> ParityReport:
    """The whole report for the office's day ``now``; ``compare`` adds the answer checks."""
    today = local_date(now, settings)
    limit = settings.transparency.publish_after_working_days
    report = ParityReport(today=today, publish_after_working_days=limit)
    people = {p.id: p for p in session.scalars(select(RosterPerson).order_by(RosterPerson.name))}
    owner = {pid: _candidate_id(p, people) for pid, p in people.items()}
    publications = {p.case_id: p for p in session.scalars(select(Publication))}
    by_candidate: dict[int, list[Case]] = {p.id: [] for p in people.values() if _is_candidate(p)}
    for case in session.scalars(select(Case).order_by(Case.date_of_contact, Case.id)):
        if case.person_id is not None and owner.get(case.person_id) in by_candidate:
            by_candidate[owner[case.person_id]].append(case)
        elif case.requester_type in _REQUESTER_TYPES:
            report.unmatched.append(_line(case, publications.get(case.id), settings))
            _alert(
                report,
                case,
                case.requester_name or case.requester_email,
                publications,
                settings,
                calendar,
            )
    for pid, cases in by_candidate.items():
        person = people[pid]
        lines = tuple(_line(c, publications.get(c.id), settings) for c in cases)
        report.candidates.append(
            CandidateParity(
                name=person.name,
                party="Independent" if person.independent else person.party,
                incumbent=person.incumbent,
                deputy=person.deputy,
                cases=lines,
            )
        )
        for case in cases:
            _alert(report, case, person.name, publications, settings, calendar)
    report.offers = _offers(by_candidate, people, settings)
    report.alerts.sort(key=lambda a: (a.publish_by, a.reference))
    if compare:
        _compare(session, settings, report, by_candidate, people, publications)
    return report


def _compare(
    session: Session,
    settings: Settings,
    report: ParityReport,
    by_candidate: dict[int, list[Case]],
    people: dict[int, RosterPerson],
    publications: dict[int, Publication],
) -> None:
    """The same question across candidates (those not on the roster by their own name)."""
    from inbox_agent.transparency.consistency import compare_answers
    from inbox_agent.transparency.precedents import register_index

    groups: dict[str, list[Case]] = {people[pid].name: cases for pid, cases in by_candidate.items()}
    unmatched = {line.reference for line in report.unmatched}
    for case in session.scalars(select(Case).where(Case.reference.in_(unmatched))):
        groups.setdefault(case.requester_name or case.requester_email, []).append(case)
    report.same_questions, report.unpublished = compare_answers(
        groups, register_index(session), publications, lambda c: answered_on(c, settings)
    )
    report.compared = True


def _is_candidate(person: RosterPerson) -> bool:
    return person.role in CANDIDATE_ROLES


def _candidate_id(person: RosterPerson, people: dict[int, RosterPerson]) -> int:
    """Agents and representatives count with the candidate they act for."""
    if _is_candidate(person) or person.acts_for_id not in people:
        return person.id
    return person.acts_for_id if person.acts_for_id is not None else person.id


def _alert(
    report: ParityReport,
    case: Case,
    candidate: str,
    publications: dict[int, Publication],
    settings: Settings,
    calendar: UkCalendar,
) -> None:
    answered = answered_on(case, settings)
    row = publications.get(case.id)
    if answered is None or (row is not None and (row.decision == WITHHOLD or row.published_on)):
        return  # not answered yet, withheld with a reason, or on the page
    days = calendar.working_days_between(answered, report.today)
    if days > report.publish_after_working_days:
        publish_by = calendar.add_working_days(answered, report.publish_after_working_days)
        report.alerts.append(ParityAlert(case.reference, candidate, answered, publish_by, days))


def is_offer(case: Case) -> bool:
    """A meeting request that was answered, or an answer offering a meeting or briefing."""
    answer = answer_text(case)
    return bool(answer) and (case.category == MEETING_CATEGORY or bool(_OFFER.search(answer)))


def _offers(
    by_candidate: dict[int, list[Case]], people: dict[int, RosterPerson], settings: Settings
) -> list[Offer]:
    offered = {pid: [c for c in cases if is_offer(c)] for pid, cases in by_candidate.items()}
    result = []
    for pid, cases in offered.items():
        for case in cases:
            answered = answered_on(case, settings)
            if answered is None:
                continue
            others = {
                people[other].name: [c.reference for c in offered[other]]
                for other in offered
                if other != pid
            }
            summary = " ".join(answer_text(case).split())[:SUMMARY_MAX]
            result.append(Offer(case.reference, people[pid].name, answered, summary, others))
    return sorted(result, key=lambda o: (o.answered, o.reference))


def render_parity(report: ParityReport) -> list[str]:
    """The text report of ``inbox-agent parity``."""
    lines = [
        f"parity report for {report.today.isoformat()} (answers due on the log within "
        f"{report.publish_after_working_days} working days)",
        f"alerts: {len(report.alerts)}",
    ]
    lines += [f"  ALERT {a.message}" for a in report.alerts]
    for c in report.candidates:
        flags = "".join(
            f" [{f}]" for f, on in (("incumbent PCC", c.incumbent), ("deputy PCC", c.deputy)) if on
        )
        lines.append(
            f"{c.name} ({c.party or 'no description'}){flags}: asked {c.asked}, "
            f"answered {c.answered}, published {c.published}"
        )
        lines += [_render_line(line) for line in c.cases]
    if report.unmatched:
        lines.append("candidates, agents or representatives not on the roster:")
        lines += [_render_line(line) for line in report.unmatched]
    if report.compared:
        lines += _render_compared(report)
    lines.append(f"meetings and briefings offered: {len(report.offers)}")
    for offer in report.offers:
        lines.append(
            f"  {offer.reference} offered to {offer.offered_to} on {offer.answered.isoformat()}: "
            f"{offer.summary}"
        )
        for name, refs in offer.others.items():
            lines.append(f"    {name}: {', '.join(refs) if refs else 'nothing offered'}")
    return lines


def _render_compared(report: ParityReport) -> list[str]:
    lines = [f"same question, different treatment: {len(report.same_questions)}"]
    lines += [
        f"  {s.first} ({s.first_to}) and {s.second} ({s.second_to}), similarity {s.score:.2f}: "
        f"{s.finding}; {s.detail}"
        for s in report.same_questions
    ]
    lines.append(
        f"answered to a candidate, not yet on the disclosure log: {len(report.unpublished)}"
    )
    for u in report.unpublished:
        also = "; also asked by " + ", ".join(f"{n} ({r})" for r, n in u.also_asked)
        lines.append(
            f"  {u.reference} answered to {u.given_to} on {u.answered.isoformat()}"
            f"{also if u.also_asked else ''}"
        )
    return lines


def _render_line(line: CaseLine) -> str:
    answered = line.answered.isoformat() if line.answered else "not answered"
    return (
        f"  {line.reference} received {line.received.isoformat()} {line.category} "
        f"from {line.requester} ({line.requester_type}); answered {answered}; "
        f"{line.publication}; {line.subject}"
    )
