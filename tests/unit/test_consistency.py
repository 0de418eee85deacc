"""Answer once, answer all: the same question from two candidates, and how each was answered.

Cases come from mail through the real pipeline (``tests/transparency_office.py``); the answers
are recorded as the web UI records them. The command's text and JSON show the same findings.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.transparency_office import B_AGENT, MONDAY, A, B, C, Office, opened_office

from inbox_agent.cli import main
from inbox_agent.deadlines import UkCalendar
from inbox_agent.transparency.consistency import (
    DIFFERENT_FIGURES,
    ONE_ANSWERED,
    UNEQUAL_ANSWERS,
    compare,
    figures,
)
from inbox_agent.transparency.parity import ParityReport, build_parity
from inbox_agent.transparency.publish import approve_publication

ASK_A = """Dear Election Team,

Could you tell me how many police community support officers are employed in the Lowtown
district this year?

Kind regards,
Harriet Ogunleye
"""
ASK_B = """Hello,

Please tell me the number of PCSOs employed in the Lowtown district this year.

Thanks,
Yusuf Demir
"""
ASK_C = "Where and when will the votes be counted for the PCC election? I would like to attend."
LATER = MONDAY + dt.timedelta(hours=5)


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    with opened_office(tmp_path, publish_after_working_days=5) as o:
        yield o


def _asked(office: Office) -> tuple[str, str, str]:
    a = office.receive(f"{A['name']} <{A['email']}>", "PCSOs in Lowtown", ASK_A)
    b = office.receive(f"{B_AGENT['name']} <{B_AGENT['email']}>", "A question", ASK_B)
    c = office.receive(f"{C['name']} <{C['email']}>", "The count", ASK_C)
    return a.reference, b.reference, c.reference


def _report(office: Office, *, compare: bool = True) -> ParityReport:
    with office.register.transaction() as s:
        return build_parity(s, office.settings, LATER, UkCalendar(), compare=compare)


def test_two_candidates_told_different_figures_are_flagged(office: Office) -> None:
    to_a, to_b, to_c = _asked(office)
    office.answer(to_a, "Dear Ms Ogunleye,\n\nThere are 38 PCSOs in Lowtown.", now=LATER)
    office.answer(to_b, "Dear Mr Demir,\n\nThere are 36 PCSOs in Lowtown.", now=LATER)
    report = _report(office)
    [pair] = report.same_questions
    assert (pair.first, pair.first_to, pair.second, pair.second_to) == (
        to_a,
        A["name"],
        to_b,
        B["name"],  # the agent's case counts with the candidate's
    )
    assert pair.finding == DIFFERENT_FIGURES and "38" in pair.detail and "36" in pair.detail
    unpublished = {u.reference: u for u in report.unpublished}
    assert set(unpublished) == {to_a, to_b}
    assert unpublished[to_a].also_asked == ((to_b, B["name"]),)
    assert to_c not in unpublished  # not answered
    assert _report(office, compare=False).same_questions == []  # the weekly report's path


def test_one_answered_and_the_other_waiting_is_flagged_until_answered_alike(
    office: Office,
) -> None:
    to_a, to_b, _ = _asked(office)
    office.answer(to_a, "Dear Ms Ogunleye,\n\nThere are 38 PCSOs in Lowtown.", now=LATER)
    [pair] = _report(office).same_questions
    assert pair.finding == ONE_ANSWERED
    office.answer(to_b, "Dear Mr Demir,\n\nThere are 38 PCSOs in Lowtown.", now=LATER)
    assert _report(office).same_questions == []


def test_an_approved_answer_is_no_longer_unpublished(office: Office) -> None:
    to_a, _, _ = _asked(office)
    office.answer(to_a, "Dear Ms Ogunleye,\n\nThere are 38 PCSOs in Lowtown.", now=LATER)
    with office.register.transaction() as s:
        case = Office.case(s, to_a)
        approve_publication(s, office.settings, case, actor="test", now=LATER)
    assert _report(office).unpublished == []


def test_the_command_prints_the_findings_as_text_and_json(
    office: Office, capsys: pytest.CaptureFixture[str]
) -> None:
    to_a, to_b, _ = _asked(office)
    office.answer(to_a, "Dear Ms Ogunleye,\n\nThere are 38 PCSOs in Lowtown.", now=LATER)
    config = ["--config", str(office.write_config())]
    assert main([*config, "parity"]) == 0
    out = capsys.readouterr().out
    assert "same question, different treatment: 1" in out
    assert f"{to_a} ({A['name']}) and {to_b} ({B['name']})" in out
    assert f"also asked by {B['name']} ({to_b})" in out
    assert main([*config, "parity", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [s["finding"] for s in data["same_questions"]] == [ONE_ANSWERED]
    assert data["unpublished"][0]["also_asked"] == [[to_b, B["name"]]]


def test_compare_names_figures_length_and_agreement() -> None:
    assert figures("412 officers, 3.5% more, 1,200 calls in 2025/26") == {
        "412",
        "3.5%",
        "1200",
        "2025",
        "26",
    }
    same = "There are 412 officers in neighbourhood teams across the county."
    assert compare(same, same, []) is None
    finding = compare("There are 412 officers.", "There are 398 officers.", [])
    assert finding is not None and finding[0] == DIFFERENT_FIGURES
    long = same + " Each team has a sergeant, and the teams cover every ward in the county."
    finding = compare(same, long, [])
    assert finding is not None and finding[0] == UNEQUAL_ANSWERS
    assert compare("", same, []) == (ONE_ANSWERED, "only one of them has been answered")
