"""The CLI end to end on the bundled demo mailbox, in a temp dir (real SQLite, real Maildir)."""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from support.builders import demo_office

from inbox_agent.casework.statutory import record_clock_event
from inbox_agent.cli import main
from inbox_agent.deadlines import UkCalendar
from inbox_agent.register.db import Register
from inbox_agent.register.models import Case
from inbox_agent.settings import load_settings


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    """A copy of the demo profile whose relative paths point into tmp_path."""
    return demo_office(tmp_path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_demo_run_once_builds_the_register_and_rerun_changes_nothing(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(capsys, "--config", str(demo), "run", "--once")
    assert code == 0, err
    assert "cases opened 9" in err and "machine mail 3" in err
    outbox = demo.parent.parent / "demo" / "outbox" / "new"
    sent = sorted(outbox.iterdir())
    kinds = sorted(
        re.search(rb"^Message-ID: <([a-z_]+)\.", path.read_bytes(), re.M | re.I)[1]  # type: ignore[index]
        for path in sent
    )
    # nine acknowledgements; the demo protocol routes the electoral question to the PARO,
    # the subject access request to the DPO and the media enquiry to the media team
    forwards = [b"dpo_forward", b"media_team_forward", b"paro_forward"]
    assert kinds == [b"acknowledgement"] * 9 + forwards
    code, out, _ = run(capsys, "--config", str(demo), "register", "list")
    assert code == 0
    assert len([line for line in out.splitlines() if line.startswith("DEMO-")]) == 9

    code, _, err = run(capsys, "--config", str(demo), "run", "--once")
    assert code == 0 and "fetched 0" in err and "cases opened 0" in err
    assert len(list(outbox.iterdir())) == 12


def test_export_csv_has_the_protocol_columns(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "--config", str(demo), "run", "--once")
    code, out, _ = run(capsys, "--config", str(demo), "register", "export", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 9
    for column in (
        "Date of contact",
        "Candidate / agent / representative",
        "Officer",
        "Method of contact",
        "Information sought",
        "Information provided",
        "Date added to register",
        "Date added to website",
        "Decisions and risk mitigations",
        "Reference",
        "Category",
        "Status",
        "Due date",
        "Statutory date",
        "Statutory clock",
        "Clock stopped since",
        "Clock stopped awaiting",
        "Outcome",
        "Exemptions cited",
        "Date of response",
        "Internal review",
        "Review of",
    ):
        assert column in rows[0]
    foi = [r for r in rows if r["Category"] == "foi_request"]
    assert foi and all(r["Statutory clock"] == "running" and r["Statutory date"] for r in foi)
    assert all(r["Statutory clock"] == "" for r in rows if r["Category"] == "media_enquiry")
    forwarded = [
        r for r in rows if "lee.marsh@example.com" in r["Candidate / agent / representative"]
    ]
    assert len(forwarded) == 1
    assert forwarded[0]["Requester type"] == "candidate"


def test_export_jsonl_to_file(
    demo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run(capsys, "--config", str(demo), "run", "--once")
    target = tmp_path / "register.jsonl"
    code, _, err = run(
        capsys,
        "--config",
        str(demo),
        "register",
        "export",
        "--format",
        "jsonl",
        "--output",
        str(target),
    )
    assert code == 0 and "wrote 9 cases" in err
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert {r["category"] for r in rows} >= {"foi_request", "electoral_process"}


def test_show_prints_the_audit_trail_and_unknown_reference_fails(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run(capsys, "--config", str(demo), "run", "--once")
    _, out, _ = run(
        capsys, "--config", str(demo), "register", "list", "--category", "electoral_process"
    )
    reference = next(line.split()[0] for line in out.splitlines() if line.startswith("DEMO-"))
    code, out, _ = run(capsys, "--config", str(demo), "register", "show", reference)
    assert code == 0
    assert "case_opened" in out and "paro_forward_queued" in out and "email_sent" in out
    code, _, err = run(capsys, "--config", str(demo), "register", "show", "DEMO-1999-0001")
    assert code == 1 and "no case" in err


def test_classify_json_writes_nothing(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    files = sorted((demo.parent.parent / "demo" / "maildir" / "new").iterdir())
    code, out, _ = run(capsys, "--config", str(demo), "classify", "--json", *map(str, files))
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert len(rows) == len(files)
    for row in rows:
        for key in (
            "file",
            "category",
            "confidence",
            "acknowledge",
            "forward_paro",
            "requester",
            "reasons",
        ):
            assert key in row
    machine = [r for r in rows if r["category"] == "automated"]
    assert len(machine) == 3 and not any(r["acknowledge"] for r in machine)
    assert not (demo.parent.parent / "demo" / "register.sqlite3").exists()


def test_classify_reports_an_unreadable_file(
    demo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    code, out, _ = run(
        capsys,
        "--config",
        str(demo),
        "classify",
        "--json",
        str(empty),
        str(tmp_path / "missing.eml"),
    )
    rows = [json.loads(line) for line in out.splitlines()]
    assert rows[0]["quarantine"] is True and rows[0]["category"] is None
    assert "cannot read" in rows[1]["error"]
    assert code == 1


def test_check_config_on_the_demo(demo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--config", str(demo), "check-config")
    assert code == 0, out
    assert "database: ok" in out and "mail source: ok" in out


def test_bad_config_exits_2_and_names_the_key(
    tmp_path: Path, demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    text = re.sub(r"(?m)^interval_seconds = .*$", 'interval_seconds = "often"', demo.read_text())
    bad.write_text(text)
    code, _, err = run(capsys, "--config", str(bad), "run", "--once")
    assert code == 2
    assert str(bad) in err and "poll.interval_seconds" in err


def test_import_mbox_registers_without_emailing(
    demo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import mailbox

    box_path = tmp_path / "export.mbox"
    box = mailbox.mbox(box_path)
    for path in sorted((demo.parent.parent / "demo" / "maildir" / "new").iterdir())[:4]:
        box.add(path.read_bytes())
    box.flush()
    box.close()
    code, _, err = run(capsys, "--config", str(demo), "import", str(box_path))
    assert code == 0 and "cases opened 4" in err and "emails sent 0" in err
    assert "import: read 4, stored 4" in err and "import: processed 4/4" in err
    code, _, err = run(capsys, "--config", str(demo), "import", str(box_path))
    assert code == 0 and "fetched 0" in err


def test_every_command_of_every_family_is_bound_to_one_handler() -> None:
    """A command a family declares but forgets to bind would fail only when an operator ran it."""
    from inbox_agent.cli.dispatch import _parser

    parser = _parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    kinds = ("one_mailbox", "every_mailbox", "without_config")
    for name, sub in commands.choices.items():
        bound = [kind for kind in kinds if sub.get_default(kind) is not None]
        assert len(bound) == 1, (name, bound)
    assert {"run", "status", "check-config", "register", "model", "quarantine", "contact"} <= set(
        commands.choices
    )
    every = {n for n, s in commands.choices.items() if s.get_default("every_mailbox")}
    assert every == {"run", "status", "check-config"}


def test_list_and_export_show_a_stopped_clock(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The terminal's queue and the register say "stopped", never a bare "-" for a FOI clock."""
    run(capsys, "--config", str(demo), "run", "--once")
    settings = load_settings(demo, secrets=False)
    register = Register(settings.database.url)
    try:
        with register.transaction() as s:
            foi = s.scalars(select(Case).where(Case.category == "foi_request")).first()
            assert foi is not None
            reference, received = foi.reference, foi.date_of_contact.date()
            record_clock_event(
                s,
                UkCalendar(),
                settings.office.timezone,
                foi,
                kind="clarification_sought",
                on=received,
                until=None,
                reason="Which year?",
                actor="sam",
                now=foi.date_of_contact,
                today=received,
            )
    finally:
        register.dispose()
    _, out, _ = run(capsys, "--config", str(demo), "register", "list")
    line = next(line for line in out.splitlines() if line.startswith(reference))
    assert line.split()[5] == "stopped"
    _, out, _ = run(capsys, "--config", str(demo), "register", "export", "--format", "jsonl")
    row = next(r for r in map(json.loads, out.splitlines()) if r["reference"] == reference)
    assert (row["clock"], row["due_date"], row["clock_stopped_since"]) == (
        "stopped",
        "",
        received.isoformat(),
    )
    assert row["clock_stopped_awaiting"] == "clarification from the requester (Which year?)"
