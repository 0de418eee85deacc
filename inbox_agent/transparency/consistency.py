"""Answer once, answer all: the same question must get the same answer for every candidate.

Two findings for the parity report, from the register:

* **The same question, different treatment.** Two candidates (their agents and
  representatives counted with them) asked the same question (``similar.SAME_QUESTION``)
  and were not told the same: the answers quote different figures, read differently
  (``SAME_ANSWER``), one is less than ``UNEQUAL_RATIO`` the length of the other, or only one
  of them has been answered yet.
* **Answered to one, not yet published for all.** An answer given to a candidate that is
  not on the disclosure log (published or approved) nor withheld with a reason, with the
  other candidates who asked the same question. The late ones are also the parity report's
  alerts; these are listed from the day of the answer, so staff can publish before anyone
  else asks.

Nothing here writes to the register. The question scores come from the register's index
(``precedents.register_index``), so the case page and this report agree on what "the same
question" is; cases older than its ``MAX_INDEXED`` texts are not compared.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from inbox_agent.register.models import Case, Publication
from inbox_agent.similar import SAME_QUESTION, similarity
from inbox_agent.transparency.precedents import RegisterIndex, answer_body
from inbox_agent.transparency.publish import PUBLISH, WITHHOLD, answer_text

SAME_ANSWER = 0.5
UNEQUAL_RATIO = 0.5
DIFFERENT_FIGURES = "different figures"
DIFFERENT_ANSWERS = "different answers"
UNEQUAL_ANSWERS = "unequal answers"
ONE_ANSWERED = "answered for one only"
_FIGURE = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?%?")


@dataclass(frozen=True)
class SameQuestion:
    """Two candidates' cases asking the same thing, and how their treatment differs."""

    first: str
    first_to: str
    second: str
    second_to: str
    score: float
    finding: str
    detail: str


@dataclass(frozen=True)
class Unpublished:
    """An answer to a candidate that is not yet on the disclosure log."""

    reference: str
    given_to: str
    answered: dt.date
    also_asked: tuple[tuple[str, str], ...]  # (reference, candidate) of the same question


def answer_words(case: Case) -> str:
    """The answer given in ``case``, without greeting or sign-off."""
    return answer_body(answer_text(case))


def figures(text: str) -> frozenset[str]:
    """The numbers an answer gives ("412", "3.5%", "1,200" as "1200")."""
    return frozenset(f.replace(",", "") for f in _FIGURE.findall(text))


def compare(first: str, second: str, background: Sequence[str]) -> tuple[str, str] | None:
    """How two answers to the same question differ, or None when they agree."""
    if not first or not second:
        return ONE_ANSWERED, "only one of them has been answered"
    a, b = figures(first), figures(second)
    if (a or b) and a != b:
        only_a, only_b = sorted(a - b), sorted(b - a)
        return DIFFERENT_FIGURES, (
            f"figures only in the first: {', '.join(only_a) or 'none'}; "
            f"only in the second: {', '.join(only_b) or 'none'}"
        )
    score = similarity(first, second, background)
    if score < SAME_ANSWER:
        return DIFFERENT_ANSWERS, f"the answers read differently (similarity {score:.2f})"
    shorter, longer = sorted((len(first.split()), len(second.split())))
    if shorter < UNEQUAL_RATIO * longer:
        return UNEQUAL_ANSWERS, f"one answer has {shorter} words, the other {longer}"
    return None


def _published(row: Publication | None) -> bool:
    return row is not None and (row.decision == WITHHOLD or row.decision == PUBLISH)


def compare_answers(
    groups: Mapping[str, Sequence[Case]],
    index: RegisterIndex,
    publications: Mapping[int, Publication],
    answered_on: Callable[[Case], dt.date | None],
) -> tuple[list[SameQuestion], list[Unpublished]]:
    """The two findings over ``groups`` (each candidate's name and cases)."""
    owner = {c.id: name for name, cases in groups.items() for c in cases}
    cases = {c.id: c for cs in groups.values() for c in cs}
    rows = [index.position[cid] for cid in cases if cid in index.position]
    answers = {cid: answer_words(c) for cid, c in cases.items()}
    background = [a for a in answers.values() if a]
    same: list[SameQuestion] = []
    asked_by: dict[int, list[int]] = {}
    for i, j, score in index.index.pairs(SAME_QUESTION, rows):
        a, b = sorted(
            (index.ids[i], index.ids[j]), key=lambda cid: (cases[cid].date_of_contact, cid)
        )
        if owner[a] == owner[b]:
            continue
        asked_by.setdefault(a, []).append(b)
        asked_by.setdefault(b, []).append(a)
        found = compare(answers[a], answers[b], background)
        if found is not None and (answers[a] or answers[b]):
            finding, detail = found
            first, second = cases[a], cases[b]
            same.append(
                SameQuestion(
                    first.reference,
                    owner[a],
                    second.reference,
                    owner[b],
                    round(score, 3),
                    finding,
                    detail,
                )
            )
    unpublished = []
    for cid, case in cases.items():
        day = answered_on(case)
        if day is None or _published(publications.get(cid)):
            continue
        others = tuple((cases[o].reference, owner[o]) for o in sorted(asked_by.get(cid, [])))
        unpublished.append(Unpublished(case.reference, owner[cid], day, others))
    same.sort(key=lambda s: (s.first, s.second))
    unpublished.sort(key=lambda u: (u.answered, u.reference))
    return same, unpublished
