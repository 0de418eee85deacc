"""Non-email contacts: the same clocks, routes and register as mail, and the protocol's extras."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from support.builders import base_config

from inbox_agent.casework.contacts import (
    FORCE_LOG,
    ContactError,
    ContactRecord,
    read_contact_log,
    record_contact,
)
from inbox_agent.classify import Category
from inbox_agent.cli import main
from inbox_agent.deadlines import UkCalendar
from inbox_agent.register.db import Register
from inbox_agent.register.models import Case, OutboxMessage
from inbox_agent.settings import Settings, settings_from_dict

CAL = UkCalendar()
AT = dt.datetime(2027, 4, 1, 11, 30, tzinfo=dt.UTC)  # Thursday, in the pre-election period
NOW = AT + dt.timedelta(minutes=5)
CE = {"title": "the Chief Executive", "email": "ce@opcc.testshire.example.org"}
MEETINGS = {
    "cite": "T 19: meetings managed by the SPOC, logged",
    "categories": ["meeting_request"],
    "route": ["chief_executive"],
    "blocks": ["meetings_limited_and_logged"],
}


def _settings(tmp_path: Path, **protocol: Any) -> Settings:
    data = base_config(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    data["maildir"] = {"path": str(tmp_path / "box")}
    data["smtp"] = {
        "from_address": "elections@opcc.testshire.example.org",
        "deliver": "maildir",
        "maildir_path": str(tmp_path / "out"),
    }
    data["protocol"] = {"recipients": {"chief_executive": CE}, "rules": [MEETINGS], **protocol}
    path = tmp_path / "office.toml"
    return settings_from_dict(data, path)


def _record(**values: Any) -> ContactRecord:
    base: dict[str, Any] = {
        "method": "telephone",
        "category": Category.INFORMATION_REQUEST,
        "name": "Jo Caller",
        "text": "How many officers work in the rural team?",
        "at": AT,
        "email": "jo@example.com",
    }
    return ContactRecord(**(base | values))


def _file(settings: Settings, record: ContactRecord) -> tuple[Case, list[OutboxMessage]]:
    register = Register(settings.database.url)
    try:
        register.ensure_schema()
        with register.transaction() as s:
            case = record_contact(s, settings, CAL, record, actor="sam", now=NOW)
            s.flush()
            rows = list(s.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id)))
            s.expunge_all()
        return case, rows
    finally:
        register.dispose()


def _text(row: OutboxMessage) -> str:
    msg = email.message_from_bytes(row.raw, policy=email.policy.default)
    body = msg.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
    return " ".join(str(body.get_content()).split())


def test_telephone_request_is_confirmed_in_writing_with_the_same_clock(tmp_path: Path) -> None:
    """Nottinghamshire 6.2: confirmed back in writing before a reply is issued."""
    settings = _settings(tmp_path, confirm_telephone_requests=True)
    foi = _record(
        category=Category.FOI_REQUEST,
        text="Under the Freedom of Information Act, what did the office spend on travel?",
    )
    case, rows = _file(settings, foi)
    assert case.method_of_contact == "telephone"
    assert case.due_date == dt.date(2027, 4, 29)  # the FOI clock from the call (Easter 28 March)
    [ack] = rows
    text = _text(ack)
    assert "confirming your request in writing" in text
    assert "> Under the Freedom of Information Act, what did the office spend on travel?" in text
    assert "Thursday 1 April 2027" in text


def test_without_the_rule_a_telephone_request_gets_the_ordinary_acknowledgement(
    tmp_path: Path,
) -> None:
    _, rows = _file(_settings(tmp_path), _record())
    assert [r.kind for r in rows] == ["acknowledgement"]
    assert "confirming your request in writing" not in _text(rows[0])


def test_no_address_no_email_but_the_case_is_registered(tmp_path: Path) -> None:
    case, rows = _file(_settings(tmp_path), _record(email="", method="letter"))
    assert rows == [] and case.reference.startswith("TST-2027-")
    assert case.method_of_contact == "letter" and case.requester_name == "Jo Caller"


def test_a_meeting_log_is_recorded_never_routed_or_answered(tmp_path: Path) -> None:
    """Norfolk 19: a log of the meeting, not a new request to route to the Chief Executive."""
    log = _record(
        method="meeting",
        category=Category.MEETING_REQUEST,
        text="Briefing on rural crime figures; no papers handed over.",
        attendees="Chief Executive, Chief Constable, the candidate",
    )
    case, rows = _file(_settings(tmp_path), log)
    assert rows == []
    assert case.method_of_contact == "meeting"
    assert "Present: Chief Executive, Chief Constable" in case.information_sought


def test_a_telephone_meeting_request_is_routed_like_an_email(tmp_path: Path) -> None:
    request = _record(category=Category.MEETING_REQUEST, text="Could I meet the Chief Constable?")
    _, rows = _file(_settings(tmp_path), request)
    assert sorted(r.kind for r in rows) == ["acknowledgement", "chief_executive_forward"]


def test_undeclared_caller_is_a_member_of_the_public(tmp_path: Path) -> None:
    settings = _settings(tmp_path, undeclared_are_public=True)
    case, _ = _file(settings, _record(text="I am standing as a candidate. What is the budget?"))
    assert case.requester_type == "public"


def test_force_spoc_log_feeds_the_central_register(tmp_path: Path) -> None:
    """Norfolk 10: both SPOCs keep a log; the OPCC's register is the central one."""
    csv_text = (
        "date,method,name,category,text,email\n"
        "2027-04-01T09:00,telephone,Al Caller,information_request,Station opening hours?,\n"
        "2027-04-02,in_person,Bea Visitor,meeting_request,Asked to meet the Chief Constable,"
        "bea@example.com\n"
    )
    records = read_contact_log(io.StringIO(csv_text), "force", dt.UTC)
    assert [r.log for r in records] == ["force", "force"]
    settings = _settings(tmp_path)
    case, _ = _file(settings, records[0])
    assert case.forwarded_by == FORCE_LOG


def test_a_bad_log_row_names_the_row_and_files_nothing() -> None:
    bad = "date,method,name,category,text\n2027-04-01,fax,Al,information_request,Hi\n"
    with pytest.raises(ContactError, match="row 2: method"):
        read_contact_log(io.StringIO(bad), "opcc", dt.UTC)
    with pytest.raises(ContactError, match="header: missing column"):
        read_contact_log(io.StringIO("date,name\n"), "opcc", dt.UTC)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"text": " "}, "text"),
        ({"email": "not an address"}, "email"),
        ({"method": "fax"}, "method"),
    ],
)
def test_bad_records_are_refused(tmp_path: Path, values: dict[str, Any], field: str) -> None:
    with pytest.raises(ContactError, match=f"^{field}:"):
        _file(_settings(tmp_path), _record(**values))


def test_cli_records_a_contact_and_prints_its_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(tmp_path, confirm_telephone_requests=True)
    config = tmp_path / "office.toml"
    config.write_text(_toml(settings), encoding="utf-8")
    code = main(
        [
            "--config", str(config), "contact", "record", "--method", "telephone",
            "--category", "information_request", "--name", "Cy Caller",
            "--email", "cy@example.com", "--text", "What is the custody budget?",
            "--at", "2026-11-02T12:00",
        ]
    )  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    reference = out.strip()
    assert reference.startswith("TST-2026-")  # the year of the call
    assert main(["--config", str(config), "register", "show", reference]) == 0
    shown = capsys.readouterr().out
    assert "method_of_contact: telephone" in shown
    assert "acknowledgement to cy@example.com" in shown
    code = main(
        ["--config", str(config), "contact", "record", "--method", "telephone",
         "--category", "information_request", "--name", "X", "--text", " "]
    )  # fmt: skip
    assert code == 2 and "text:" in capsys.readouterr().err


def _toml(settings: Settings) -> str:
    """The test settings as a profile file (only what ``_settings`` sets)."""
    return f"""
[office]
name = "{settings.office.name}"
inbox_address = "{settings.office.inbox_address}"
spoc_role = "{settings.office.spoc_role}"
website_url = "{settings.office.website_url}"
reference_prefix = "{settings.office.reference_prefix}"
[maildir]
path = "box"
[smtp]
from_address = "{settings.from_address}"
deliver = "maildir"
maildir_path = "out"
[database]
url = "{settings.database.url}"
[paro]
name = "{settings.paro.name}"
email = "{settings.paro.email}"
[election]
poll_date = 2027-05-06
pre_election_period_start = 2027-03-29
nominations_close = 2027-04-08
persons_nominated_published = 2027-04-09
[protocol]
confirm_telephone_requests = true
"""
