"""The disclosure log: a case answered to candidate A is published with nothing of A left."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from support.transparency_office import B_AGENT, MONDAY, STAFF, A, B, C, Office, opened_office

from inbox_agent.cli import main
from inbox_agent.register.models import AuditEvent, Publication
from inbox_agent.transparency.publish import (
    CSV_COLUMNS,
    PublicationError,
    approve_publication,
    draft_publication,
    publish_log,
    withhold_publication,
)

QUESTION = f"""Dear Election Team,

As the Green Party candidate I would like to know how many police officers worked in
neighbourhood teams in 2025/26. Thomas Fairbrother of the Conservative Party said on
the radio that the number had gone up; his agent {B_AGENT["name"]} repeated it.

Please write to me at {A["address"]} or call {A["phone"]}; email {A["email"]} also works.
My crime reference from last year is CR/012345/26, if it matters.

Kind regards,
Harriet Ogunleye
Green Party candidate for Testshire
"""
ANSWER = f"""Dear Ms Ogunleye,

In 2025/26 there were 412 police officers in neighbourhood teams, compared with 398 in
2023/24. The figures are in the force's annual workforce report.

If you have any questions, {STAFF} can be reached on 01632 960555.
"""
ANSWERED = MONDAY + dt.timedelta(days=1)


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    with opened_office(tmp_path) as o:
        yield o


def _identifiers() -> list[str]:
    """Everything of A, of B and of the others that must not reach the page."""
    values = [
        *A["name"].split(),
        A["email"],
        A["phone"],
        "900123",
        "14 Acacia Avenue",
        "Acacia",
        "Lowtown",
        "LT1 2AB",
        "Green Party",
        *B["name"].split(),
        B["email"],
        "Conservative",
        "Old Forge",
        *B_AGENT["name"].split(),
        *C["name"].split(),
        *STAFF.split(),
        "960555",
        "CR/012345/26",
        "incumbent",
    ]
    return values


def _publish(office: Office, out: Path, now: dt.datetime) -> tuple[str, list[dict[str, str]]]:
    with office.register.transaction() as s:
        publish_log(s, office.settings, out, actor="test", now=now)
    html = (out / "index.html").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO((out / "disclosure-log.csv").read_text("utf-8"))))
    return html, rows


def test_answer_to_candidate_a_is_published_with_nothing_of_anyone_left(
    office: Office, tmp_path: Path
) -> None:
    case = office.receive(f"{A['name']} <{A['email']}>", "Neighbourhood officers", QUESTION)
    assert case.requester_type == "candidate"
    office.answer(case.reference, ANSWER, now=ANSWERED)
    with office.register.transaction() as s:
        approve_publication(
            s, office.settings, Office.case(s, case.reference), actor="rachel", now=ANSWERED
        )
    published_at = MONDAY + dt.timedelta(days=2)
    html, rows = _publish(office, tmp_path / "site", published_at)

    page = html + "\n" + (tmp_path / "site" / "disclosure-log.csv").read_text("utf-8")
    left = [v for v in _identifiers() if v.lower() in page.lower()]
    assert left == []
    assert case.reference not in page
    # the answer is there, and the question's substance with it
    assert "412 police officers in neighbourhood teams" in html
    assert "how many police officers worked" in html
    assert "[name]" in html and "[party]" in html and "[address]" in html
    assert "[phone number]" in html and "[email address]" in html
    assert "[reference]" in html

    assert list(rows[0]) == list(CSV_COLUMNS)
    assert len(rows) == 1
    row = rows[0]
    assert row["Date received"] == "2027-04-12"
    assert row["Type of request"] in ("Request for information", "Freedom of Information request")
    assert "412 police officers" in row["Answer given"]
    assert row["Date published"] == "2027-04-14"
    with office.register.transaction() as s:
        stored = Office.case(s, case.reference)
        assert stored.date_added_to_website == dt.date(2027, 4, 14)
        actions = [e.action for e in stored.events]
        assert "publication_approved" in actions and "added_to_website" in actions


def test_publishing_again_keeps_the_first_date(office: Office, tmp_path: Path) -> None:
    case = office.receive(f"{A['name']} <{A['email']}>", "Officers", "How many officers?")
    office.answer(case.reference, "There are 412.", now=ANSWERED)
    with office.register.transaction() as s:
        approve_publication(
            s, office.settings, Office.case(s, case.reference), actor="r", now=ANSWERED
        )
    _publish(office, tmp_path / "site", MONDAY + dt.timedelta(days=2))
    _, rows = _publish(office, tmp_path / "site", MONDAY + dt.timedelta(days=9))
    assert [r["Date published"] for r in rows] == ["2027-04-14"]
    with office.register.transaction() as s:
        added = s.scalars(select(AuditEvent).where(AuditEvent.action == "added_to_website")).all()
        assert len(added) == 1


def test_staff_texts_are_checked_before_approval(office: Office) -> None:
    case = office.receive(f"{A['name']} <{A['email']}>", "Officers", "How many officers?")
    office.answer(case.reference, "There are 412.", now=ANSWERED)
    with office.register.transaction() as s:
        c = Office.case(s, case.reference)
        with pytest.raises(PublicationError, match=r"PERSON 'Ms Ogunleye'; PHONE '07700 900123'"):
            approve_publication(
                s,
                office.settings,
                c,
                actor="r",
                now=ANSWERED,
                answer="Ms Ogunleye, ring 07700 900123. There are 412.",
            )
        row = approve_publication(
            s, office.settings, c, actor="r", now=ANSWERED, question="How many officers are there?"
        )
        assert row.question == "How many officers are there?" and row.answer == "There are 412."


def test_draft_shows_original_beside_redacted(office: Office) -> None:
    case = office.receive(f"{A['name']} <{A['email']}>", "Officers", QUESTION)
    office.answer(case.reference, ANSWER, now=ANSWERED)
    with office.register.transaction() as s:
        draft = draft_publication(s, office.settings, Office.case(s, case.reference))
    assert "Harriet Ogunleye" not in draft.question_original  # the signature is not the question
    assert A["phone"] in draft.question_original and A["phone"] not in draft.question
    assert "Dear Ms Ogunleye" in draft.answer_original and "Dear [name]" in draft.answer
    assert not re.search(r"\[\d{4}-\d{2}-\d{2}, reply by", draft.answer_original)
    assert {r.label for r in draft.question_redactions} >= {"PERSON", "PARTY", "PHONE", "EMAIL"}


def test_an_unanswered_case_cannot_be_approved_and_withholding_needs_a_reason(
    office: Office,
) -> None:
    case = office.receive(f"{A['name']} <{A['email']}>", "Officers", "How many officers?")
    with office.register.transaction() as s:
        c = Office.case(s, case.reference)
        with pytest.raises(PublicationError, match="no answer is recorded"):
            approve_publication(s, office.settings, c, actor="r", now=ANSWERED)
        with pytest.raises(PublicationError, match="reason"):
            withhold_publication(s, c, "  ", actor="r", now=ANSWERED)
        row = withhold_publication(s, c, "personal data only", actor="r", now=ANSWERED)
        assert row.decision == "withhold"
        assert s.scalars(select(Publication)).one().reason == "personal data only"


def test_the_page_has_no_script_and_no_incumbent(office: Office, tmp_path: Path) -> None:
    html, rows = _publish(office, tmp_path / "empty", MONDAY)
    assert rows == []
    assert "No answers have been published yet." in html
    assert "<script" not in html.lower()
    assert "commissioner for testshire" in html.lower()  # the office, by its name only
    assert B["name"] not in html and "incumbent" not in html.lower()


def test_cli_preview_approve_publish_parity_and_report(
    office: Office, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = office.receive(f"{A['name']} <{A['email']}>", "Officers", QUESTION)
    office.answer(case.reference, ANSWER, now=ANSWERED)
    config = ["--config", str(office.write_config())]
    assert main([*config, "publication", "preview", case.reference]) == 0
    out = capsys.readouterr().out
    assert "--- question as asked ---" in out and A["phone"] in out
    assert "--- answer, anonymised ---\nDear [name]," in out
    answer = tmp_path / "answer.txt"
    answer.write_text("Ring Ms Ogunleye on 07700 900123.", encoding="utf-8")
    argv = [*config, "publication", "approve", case.reference, "--answer-file", str(answer)]
    assert main(argv) == 2
    assert "PHONE '07700 900123'" in capsys.readouterr().err
    assert main([*config, "publication", "approve", case.reference]) == 0
    assert main([*config, "publish"]) == 2  # no publish_dir and no --output
    assert "transparency.publish_dir" in capsys.readouterr().err
    assert main([*config, "publish", "--output", str(tmp_path / "site")]) == 0
    assert f"new on the page: {case.reference}" in capsys.readouterr().out
    assert main([*config, "publication", "list"]) == 0
    assert case.reference in capsys.readouterr().out
    assert main([*config, "parity", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {c["name"] for c in data["candidates"]} >= {A["name"], B["name"]}
    assert main([*config, "report", "weekly"]) == 0
    assert "Weekly summary of the election inbox" in capsys.readouterr().out
    assert main([*config, "report", "weekly", "--send"]) == 2  # no weekly_report_to
