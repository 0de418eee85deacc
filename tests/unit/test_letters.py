"""Every statutory letter renders from a case, and an office's own wording replaces ours."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from support.builders import base_config

from inbox_agent.casework.letters import LETTERS, Letter, letter, letters_for, render_letter
from inbox_agent.casework.statutory_clock import Regime, start_clock
from inbox_agent.deadlines import UkCalendar
from inbox_agent.register.models import Case
from inbox_agent.settings import Settings, settings_from_dict

TODAY = dt.date(2026, 3, 4)


def _settings(tmp_path: Path, **policy: object) -> Settings:
    data = base_config("sqlite://")
    data["maildir"] = {"path": str(tmp_path)}
    data["policy"] = policy
    data["casework"] = {"disclosure_log_url": "https://opcc.testshire.example.org/log/"}
    return settings_from_dict(data, tmp_path / "inbox-agent.toml")


def _case(category: str, exemptions: list[str]) -> Case:
    return Case(
        reference="TST-2026-0007",
        category=category,
        requester_name="Rita Requester",
        requester_email="rita@example.org",
        subject="Overtime hours",
        exemptions=exemptions,
    )


@pytest.mark.parametrize("chosen", LETTERS, ids=lambda chosen: chosen.code)
def test_every_letter_renders_for_its_cases(tmp_path: Path, chosen: Letter) -> None:
    settings = _settings(tmp_path)
    cal = UkCalendar()
    for regime in chosen.regimes:
        category = "subject_access_request" if regime is Regime.SAR else "foi_request"
        codes = ["sch2.16"] if regime is Regime.SAR else ["s.21", "s.43", "s.36"]
        clock = start_clock(regime, dt.date(2026, 3, 2), cal)
        text = render_letter(
            settings, chosen, _case(category, codes), clock, signer="Fiona Officer", today=TODAY
        )
        assert text.startswith("Dear Rita Requester,\n")
        assert "TST-2026-0007" in text and text.rstrip().endswith(settings.office.name)
        assert "{{" not in text and "\n\n\n" not in text


def test_refusal_names_each_exemption_and_tests_the_qualified_ones(tmp_path: Path) -> None:
    refusal = letter("refusal_notice")
    assert refusal is not None
    clock = start_clock(Regime.FOI, dt.date(2026, 3, 2), UkCalendar())
    text = render_letter(
        _settings(tmp_path),
        refusal,
        _case("foi_request", ["s.21", "s.43", "s.36"]),
        clock,
        signer="Fiona Officer",
        today=TODAY,
    )
    assert "https://opcc.testshire.example.org/log/" in text  # s.21: the disclosure log
    assert "Section 43 of the Freedom of Information Act 2000 (commercial interests)" in text
    assert "Section 36 of the Freedom of Information Act 2000 (prejudice to the effective" in text
    assert text.count("Public interest test") == 2  # s.43 and s.36; s.21 is absolute
    assert "internal review" in text and "ico.org.uk/make-a-complaint" in text


def test_an_office_template_replaces_the_bundled_one(tmp_path: Path) -> None:
    own = tmp_path / "office-templates"
    (own / "letters" / "exemptions").mkdir(parents=True)
    (own / "letters" / "not_held.txt.j2").write_text(
        "Dear {{ requester_name }},\nWe hold nothing on {{ subject }} ({{ reference }}).\n",
        encoding="utf-8",
    )
    (own / "letters" / "exemptions" / "s.43.txt.j2").write_text(
        "Our own words on commercial interests.\n", encoding="utf-8"
    )
    settings = _settings(tmp_path, template_dir=str(own))
    clock = start_clock(Regime.FOI, dt.date(2026, 3, 2), UkCalendar())
    case = _case("foi_request", ["s.43"])
    not_held, refusal = letter("not_held"), letter("refusal_notice")
    assert not_held is not None and refusal is not None
    text = render_letter(settings, not_held, case, clock, signer="F", today=TODAY)
    assert text == "Dear Rita Requester,\nWe hold nothing on Overtime hours (TST-2026-0007).\n"
    text = render_letter(settings, refusal, case, clock, signer="F", today=TODAY)
    assert "Our own words on commercial interests." in text
    assert "Section 43 of the" not in text


def test_letters_offered_follow_the_regime() -> None:
    assert {x.code for x in letters_for(Regime.SAR)} == {
        "clarification_request",
        "id_request",
        "sar_extension_notice",
        "refusal_notice",
    }
    assert [x.code for x in letters_for(Regime.REVIEW)] == ["review_outcome"]
    assert letters_for(None) == ()
