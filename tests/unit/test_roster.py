"""The roster: CSV import (all or nothing, errors by row and column), matching senders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from support.transparency_office import B_AGENT, MONDAY, ROSTER_CSV, A, B, C, Office, opened_office

from inbox_agent.cli import main
from inbox_agent.register.models import AuditEvent, RosterAddress, RosterPerson
from inbox_agent.requesters import match_person, normalise_name
from inbox_agent.transparency.roster import RosterError, list_people, parse_roster_csv


@pytest.fixture
def office(tmp_path: Path) -> Iterator[Office]:
    with opened_office(tmp_path, roster=False) as o:
        yield o


def _count(office: Office) -> int:
    with office.register.transaction() as s:
        return int(s.scalar(select(func.count()).select_from(RosterPerson)) or 0)


def test_import_records_people_roles_parties_flags_and_source(office: Office) -> None:
    office.import_roster()
    with office.register.transaction() as s:
        people = {p.name: p for p in list_people(s)}
        assert set(people) == {A["name"], B["name"], B_AGENT["name"], C["name"]}
        b = people[B["name"]]
        assert (b.role, b.party, b.incumbent, b.deputy) == (
            "candidate",
            "Conservative Party",
            True,
            False,
        )
        assert b.postal_address == B["address"] and b.phone == B["phone"]
        agent = people[B_AGENT["name"]]
        assert agent.role == "agent" and agent.acts_for_id == b.id
        assert agent.party == "Conservative Party"  # blank party: their candidate's
        c = people[C["name"]]
        assert c.role == "prospective_candidate" and c.independent and c.party == ""
        assert all(
            p.source == "roster.csv" and p.source_date == MONDAY.date() for p in people.values()
        )
        assert [a.email for a in people[A["name"]].addresses] == [A["email"]]


def test_a_bad_file_names_row_and_column_and_imports_nothing(office: Office) -> None:
    bad = ROSTER_CSV + "Zed Bad,wizard,Labour,not-an-address,,maybe,,,\n"
    with pytest.raises(RosterError) as raised:
        office.import_roster(bad)
    text = str(raised.value)
    assert "nothing imported" in text
    assert "row 6, column 'role': 'wizard' is not a role" in text
    assert "row 6, column 'email': 'not-an-address' is not an email address" in text
    assert "row 6, column 'incumbent': 'maybe' is not yes or no" in text
    assert _count(office) == 0


def test_header_and_reference_errors(office: Office) -> None:
    with pytest.raises(RosterError, match=r"row 1 \(header\): unknown column 'rol'"):
        parse_roster_csv("name,rol\nX,candidate\n", file="f.csv", source="f", source_date=None)
    with pytest.raises(
        RosterError, match=r"row 2, column 'acts_for': no candidate called 'Nobody'"
    ):
        parse_roster_csv(
            "name,role,acts_for\nAl Agent,agent,Nobody\n",
            file="f.csv",
            source="f",
            source_date=None,
        )
    with pytest.raises(RosterError, match=r"row 3, column 'name': 'ann smith' is also row 2"):
        parse_roster_csv(
            "name,role\nAnn Smith,candidate\nann smith,candidate\n",
            file="f.csv",
            source="f",
            source_date=None,
        )


def test_a_failed_import_leaves_the_existing_roster_as_it_was(office: Office) -> None:
    office.import_roster()
    changed = ROSTER_CSV.replace("Green Party", "Labour Party") + "X,agent,,,Nobody,,,,\n"
    with pytest.raises(RosterError):
        office.import_roster(changed)
    with office.register.transaction() as s:
        a = s.scalars(select(RosterPerson).where(RosterPerson.name == A["name"])).one()
        assert a.party == "Green Party"


def test_reimport_updates_by_name_and_keeps_addresses(office: Office) -> None:
    office.import_roster()
    office.import_roster(
        "name,role,party,email\nHarriet OGUNLEYE,candidate,Green Party,h.o@example.org\n"
    )
    with office.register.transaction() as s:
        a = s.scalars(select(RosterPerson).where(RosterPerson.name == "Harriet OGUNLEYE")).one()
        emails = s.scalars(select(RosterAddress.email).where(RosterAddress.person_id == a.id))
        assert sorted(emails) == sorted([A["email"], "h.o@example.org"])
    assert _count(office) == 4


def test_names_compare_without_case_titles_or_order() -> None:
    assert normalise_name("Dr Ogunleye, Harriet") == normalise_name("harriet  ogunleye")
    assert normalise_name("Cllr. J. Patel") == "j patel"


def test_case_opening_uses_the_roster_before_the_words(office: Office) -> None:
    office.import_roster()
    # no self-description at all: the roster's address alone makes this a candidate
    case = office.receive(f"Harriet O <{A['email']}>", "Figures", "How many officers are there?")
    assert case.requester_type == "candidate" and case.person_id is not None
    # the agent, matched by address: an agent, whatever the words say
    case = office.receive(
        f"Yusuf Demir <{B_AGENT['email']}>", "Briefing", "I am a member of the public."
    )
    assert case.requester_type == "agent"
    # an unknown address but the roster's name: matched on the name
    case = office.receive(f"{C['name']} <other@example.com>", "Custody", "Custody numbers?")
    assert case.requester_type == "candidate"
    # nobody on the roster: the words decide (classify/requester.py), else public
    case = office.receive("Mo Public <mo@example.com>", "Precept", "What is the precept?")
    assert case.requester_type == "public" and case.person_id is None
    case = office.receive("Ivy Stand <ivy@example.com>", "Plan", "I am a candidate. The plan?")
    assert case.requester_type == "candidate" and case.person_id is None
    with office.register.transaction() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "roster_matched")).all()
        assert [e.detail["matched_on"] for e in events] == ["address", "address", "name"]


def test_importing_the_roster_matches_cases_opened_before_it(office: Office) -> None:
    case = office.receive(f"Thomas F <{B['email']}>", "Budget", "The force budget please.")
    assert case.requester_type == "public"
    assert office.import_roster(now=MONDAY + dt.timedelta(days=1)) == [case.reference]
    with office.register.transaction() as s:
        assert Office.case(s, case.reference).requester_type == "candidate"


def test_shared_address_is_decided_by_the_name(office: Office) -> None:
    office.import_roster(
        "name,role,party,email,acts_for\n"
        "Ann Able,candidate,Labour,team@campaign.example.org,\n"
        "Bo Bright,agent,,team@campaign.example.org,Ann Able\n"
    )
    with office.register.transaction() as s:
        found = match_person(s, "TEAM@campaign.example.org", "Bo Bright")
        assert found is not None and found[0].name == "Bo Bright" and found[1] == "address"


def test_cli_roster_import_add_and_list(
    office: Office, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = office.write_config()
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER_CSV)
    assert (
        main(["--config", str(config), "roster", "import", str(roster), "--date", "2027-04-09"])
        == 0
    )
    assert "4 added, 0 updated" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("name,role\nSomeone,emperor\n")
    assert main(["--config", str(config), "roster", "import", str(bad)]) == 2
    assert "row 2, column 'role'" in capsys.readouterr().err
    argv = ["--config", str(config), "roster", "add", "Pat Quinn", "--role", "representative"]
    assert main([*argv, "--email", "pat@example.org", "--acts-for", A["name"]]) == 0
    assert main(["--config", str(config), "roster", "list"]) == 0
    out = capsys.readouterr().out
    assert "Pat Quinn" in out and "[incumbent PCC]" in out
