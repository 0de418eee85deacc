"""``health.build_health`` and ``inbox-agent status`` on a register built row by row."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session
from support.builders import base_config, demo_office

from inbox_agent.cli import main, ops
from inbox_agent.clock import utc_now
from inbox_agent.deployment import Mailbox
from inbox_agent.ops.health import Health, build_health, build_info, format_age, render_health
from inbox_agent.register.db import Register
from inbox_agent.register.models import (
    AlertState,
    Case,
    Disposition,
    MailboxState,
    OutboxMessage,
    OutboxStatus,
    StoredMessage,
)
from inbox_agent.settings import Settings, settings_from_dict

NOW = dt.datetime(2027, 4, 20, 9, 0, tzinfo=dt.UTC)
ACCOUNT = "imap://spoc@mail.example.org:993"


def _settings(tmp_path: Path, interval: int = 3600, **alerts: Any) -> Settings:
    """The profile polls ACCOUNT's INBOX every ``interval`` seconds (stale after 3 x)."""
    data = base_config(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    data["imap"] = {"host": "mail.example.org", "username": "spoc"}
    data["alerts"] = alerts
    data["poll"] = {"interval_seconds": interval}
    return settings_from_dict(data, tmp_path / "inbox-agent.toml")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return _settings(tmp_path)


@pytest.fixture
def register(settings: Settings) -> Iterator[Register]:
    reg = Register(settings.database.url)
    try:
        yield reg
    finally:
        reg.dispose()


def _health(register: Register, settings: Settings, now: dt.datetime = NOW) -> Health:
    with register.transaction() as s:
        return build_health(s, now, settings)


def _source(
    s: Session, *, success: dt.datetime | None, error: str | None, account: str = ACCOUNT
) -> None:
    s.add(
        MailboxState(
            account=account,
            folder="INBOX",
            last_poll_at=NOW - dt.timedelta(minutes=1),
            last_success_at=success,
            first_success_at=success,
            last_error=error,
        )
    )


def _case(s: Session, n: int, category: str, due: dt.date | None, status: str = "new") -> Case:
    case = Case(
        reference=f"TST-2027-{n:04d}",
        status=status,
        category=category,
        confidence=0.9,
        classifier_version="test",
        date_of_contact=NOW,
        requester_email=f"person{n}@example.com",
        date_added_to_register=NOW,
        updated_at=NOW,
        due_date=due,
    )
    s.add(case)
    s.flush()
    return case


def _message(s: Session, n: int, disposition: str, **kw: Any) -> StoredMessage:
    row = StoredMessage(
        sha256=f"{n:064x}",
        body_sha256=f"{n:064x}",
        raw=b"Subject: x\r\n\r\nbody\r\n",
        size=20,
        received_at=NOW - dt.timedelta(hours=n),
        disposition=disposition,
        **kw,
    )
    s.add(row)
    return row


def _email(s: Session, status: str, created: dt.datetime, **kw: Any) -> OutboxMessage:
    row = OutboxMessage(
        kind=kw.pop("kind", "acknowledgement"),
        recipient=kw.pop("recipient", "jane.doe@example.com"),
        status=status,
        created_at=created,
        next_attempt_at=created,
        give_up_at=created + dt.timedelta(hours=48),
        **kw,
    )
    s.add(row)
    return row


def test_a_source_never_polled_is_critical(register: Register, settings: Settings) -> None:
    health = _health(register, settings)
    assert health.degraded and health.critical
    assert health.problems == (f"{ACCOUNT} INBOX never polled",)
    assert len(health.sources) == 1 and health.last_success_at is None
    assert health.pending_messages == health.queued_emails == health.quarantined == 0
    assert health.oldest_queued_age is None and health.overdue == ()
    assert f"source {ACCOUNT} INBOX: never succeeded" in render_health(health)


def test_an_up_to_date_source_with_nothing_waiting_is_healthy(
    register: Register, settings: Settings
) -> None:
    with register.transaction() as s:
        _source(s, success=NOW - dt.timedelta(minutes=2), error=None)
    health = _health(register, settings)
    assert not health.degraded and health.problems == () and not health.critical


@pytest.mark.parametrize(("age_seconds", "stale"), [(179, False), (181, True)])
def test_a_last_success_older_than_three_intervals_is_critical(
    tmp_path: Path, age_seconds: int, stale: bool
) -> None:
    settings = _settings(tmp_path, interval=60)
    reg = Register(settings.database.url)
    try:
        with reg.transaction() as s:  # no error recorded: a stopped or hung daemon
            _source(s, success=NOW - dt.timedelta(seconds=age_seconds), error=None)
        health = _health(reg, settings)
    finally:
        reg.dispose()
    assert health.degraded is stale and health.critical is stale
    if stale:
        assert health.problems == (
            "no successful poll for 3 min (more than 3 x poll.interval_seconds = 3 min)",
        )


def test_only_the_configured_source_is_judged(register: Register, settings: Settings) -> None:
    with register.transaction() as s:
        _source(s, success=NOW - dt.timedelta(minutes=1), error=None)
        old = "imap://spoc@old-mail.example.org:993"  # the server before a migration
        _source(s, success=NOW - dt.timedelta(days=30), error="connection refused", account=old)
    health = _health(register, settings)
    assert not health.degraded
    assert [src.account for src in health.sources] == [ACCOUNT]


def test_quarantine_and_failed_processing_degrade_as_warnings(
    register: Register, settings: Settings
) -> None:
    with register.transaction() as s:
        _source(s, success=NOW - dt.timedelta(minutes=1), error=None)
        _message(s, 1, Disposition.PENDING)  # not tried yet: just backlog
        _message(s, 2, Disposition.PENDING, attempts=2, error="RegisterUnavailable: locked")
        _message(s, 3, Disposition.QUARANTINED, error="unparseable")
    health = _health(register, settings)
    assert health.degraded and not health.critical
    assert health.problems == (
        "1 message(s) quarantined",
        "1 message(s) failed processing, waiting for a retry",
    )
    assert health.pending_messages == 2 and health.retrying == 1
    assert "2 message(s) pending (1 after a failure)" in "\n".join(render_health(health))


def test_backlog_failures_quarantine_and_overdue_statutory_cases(
    register: Register, settings: Settings
) -> None:
    with register.transaction() as s:
        _source(s, success=NOW - dt.timedelta(minutes=2), error=None)
        foi = _case(s, 1, "foi_request", dt.date(2027, 4, 19))  # due yesterday
        _case(s, 2, "subject_access_request", dt.date(2027, 4, 1), status="closed")
        _case(s, 3, "subject_access_request", dt.date(2027, 4, 10), status="in_progress")
        _case(s, 4, "foi_request", dt.date(2027, 4, 20))  # due today: not yet overdue
        _case(s, 5, "meeting_request", dt.date(2027, 4, 1))  # not statutory
        _message(s, 1, Disposition.PENDING)
        _message(s, 2, Disposition.PENDING)
        for n in range(3, 10):
            _message(s, n, Disposition.QUARANTINED, error=f"reason {n}", sender="a.b@example.net")
        _message(s, 10, Disposition.CASE, case_id=foi.id)
        _email(s, OutboxStatus.QUEUED, NOW - dt.timedelta(minutes=30))
        _email(s, OutboxStatus.QUEUED, NOW - dt.timedelta(minutes=5))
        _email(s, OutboxStatus.SENT, NOW - dt.timedelta(days=3))
        for n in range(6):
            _email(
                s,
                OutboxStatus.FAILED,
                NOW - dt.timedelta(hours=6 - n),
                case_id=foi.id if n == 5 else None,
                last_error=f"550 no such user {n}",
            )
    health = _health(register, settings)
    assert health.pending_messages == 2
    assert health.queued_emails == 2 and health.oldest_queued_age == dt.timedelta(minutes=30)
    assert health.failed_emails == 6
    assert [f.error for f in health.recent_failed_emails] == [
        f"550 no such user {n}" for n in (5, 4, 3, 2, 1)
    ]
    assert health.recent_failed_emails[0].case_reference == "TST-2027-0001"
    assert health.recent_failed_emails[1].case_reference is None
    assert health.recent_failed_emails[0].recipient == "j***@example.com"
    assert health.quarantined == 7
    assert [q.reason for q in health.recent_quarantined] == [f"reason {n}" for n in (9, 8, 7, 6, 5)]
    assert health.recent_quarantined[0].sender == "a***@example.net"
    assert [(o.reference, o.days_overdue) for o in health.overdue] == [
        ("TST-2027-0003", 10),
        ("TST-2027-0001", 1),
    ]
    assert health.messages_by_disposition["quarantined"] == 7
    assert health.degraded and health.problems == (
        "6 email(s) failed permanently",
        "7 message(s) quarantined",
    )
    text = "\n".join(render_health(health))
    assert "DEGRADED" in text and "oldest 30 min" in text
    assert "TST-2027-0003 subject_access_request due 2027-04-10 (10 day(s) overdue)" in text
    assert "jane.doe@example.com" not in text and "a.b@example.net" not in text


def test_overdue_uses_the_office_day_not_the_utc_day(
    register: Register, settings: Settings
) -> None:
    with register.transaction() as s:
        _case(s, 1, "foi_request", dt.date(2027, 6, 1))
    # 23:30 UTC on 1 June is 00:30 BST on 2 June: the office's due day has ended
    late = dt.datetime(2027, 6, 1, 23, 30, tzinfo=dt.UTC)
    assert [o.reference for o in _health(register, settings, late).overdue] == ["TST-2027-0001"]
    early = dt.datetime(2027, 6, 1, 22, 30, tzinfo=dt.UTC)
    assert _health(register, settings, early).overdue == ()


@pytest.mark.parametrize(
    ("failing_for", "degraded"),
    [(dt.timedelta(minutes=29), False), (dt.timedelta(minutes=31), True)],
)
def test_polling_failure_degrades_only_past_the_threshold(
    register: Register, settings: Settings, failing_for: dt.timedelta, degraded: bool
) -> None:
    with register.transaction() as s:
        _source(s, success=NOW - failing_for, error="MailboxUnavailable: connection refused")
    health = _health(register, settings)
    assert health.poll_failing_since == NOW - failing_for
    assert health.sources[0].success_age == failing_for
    assert health.degraded is degraded
    if degraded:
        assert health.problems == ("polling has failed for 31 minutes",)
    assert "last poll FAILED: MailboxUnavailable" in "\n".join(render_health(health))


def test_a_source_that_never_succeeded_counts_from_the_daemons_record(
    register: Register, settings: Settings
) -> None:
    with register.transaction() as s:
        _source(s, success=None, error="ConfigError: login refused")
        s.add(
            AlertState(
                name="poll_failed", failing_since=NOW - dt.timedelta(hours=2), updated_at=NOW
            )
        )
    health = _health(register, settings)
    assert health.poll_failing_since == NOW - dt.timedelta(hours=2)
    assert health.problems == ("polling has failed for 120 minutes",)


def test_a_stale_daemon_record_does_not_outlive_a_recovered_source(
    register: Register, settings: Settings
) -> None:
    with register.transaction() as s:
        _source(s, success=NOW - dt.timedelta(minutes=1), error=None)
        s.add(
            AlertState(name="poll_failed", failing_since=NOW - dt.timedelta(days=1), updated_at=NOW)
        )
    assert not _health(register, settings).degraded


def test_threshold_comes_from_the_alerts_section(tmp_path: Path) -> None:
    settings = _settings(tmp_path, poll_failure_minutes=5)
    reg = Register(settings.database.url)
    try:
        with reg.transaction() as s:
            _source(s, success=NOW - dt.timedelta(minutes=6), error="boom")
        assert _health(reg, settings).degraded
    finally:
        reg.dispose()


def test_an_outbox_that_stopped_draining_is_critical(
    register: Register, settings: Settings
) -> None:
    interval = dt.timedelta(seconds=settings.poll.interval_seconds)
    with register.transaction() as s:
        _source(s, success=NOW - dt.timedelta(minutes=1), error=None)
        _email(s, OutboxStatus.QUEUED, NOW - 3 * interval)  # due three intervals ago: fine
        _email(s, OutboxStatus.QUEUED, NOW + dt.timedelta(hours=1))  # backing off: fine
    assert _health(register, settings).problems == ()
    with register.transaction() as s:
        _email(s, OutboxStatus.QUEUED, NOW - 3 * interval - dt.timedelta(seconds=1))
    health = _health(register, settings)
    assert health.critical
    assert [p.split(":")[0] for p in health.problems] == ["the outbox is not draining"]


def test_json_has_every_section_and_ages_in_seconds(register: Register, settings: Settings) -> None:
    with register.transaction() as s:
        _source(s, success=NOW - dt.timedelta(minutes=2), error=None)
        _email(s, OutboxStatus.QUEUED, NOW - dt.timedelta(minutes=3))
    data = json.loads(json.dumps(_health(register, settings).as_dict()))
    assert data["healthy"] is True and data["problems"] == []
    assert data["sources"][0]["success_age_seconds"] == 120
    assert data["sources"][0]["last_success_at"] == "2027-04-20T08:58:00+00:00"
    assert data["backlog"] == {
        "pending_messages": 0,
        "retrying_messages": 0,
        "queued_emails": 1,
        "oldest_queued_age_seconds": 180,
        "oldest_due_age_seconds": 180,
    }
    for key in ("outbox_failed", "quarantined", "overdue_statutory", "poll_failing_since"):
        assert key in data


def test_status_command_text_json_and_nagios(register: Register, settings: Settings) -> None:
    with register.transaction() as s:
        _source(s, success=utc_now(), error=None)
    boxes = [Mailbox("default", settings)]
    out = io.StringIO()
    assert ops.status(boxes, out) == 0
    text = out.getvalue()
    assert text.startswith(f"inbox-agent {build_info()['version']} (Python ")
    assert "register revision 0" in text and ": healthy" in text
    out = io.StringIO()
    assert ops.status(boxes, out, fmt="nagios") == 0
    line = out.getvalue()
    assert line.startswith("INBOX-AGENT OK - polling, last success ")
    assert line.count("\n") == 1
    assert "| pending=0 retrying=0;0 queued=0 failed=0;0 quarantined=0;0 overdue=0 " in line
    assert ";;10800;0" in line  # last_success_age, critical at 3 x 3600 s
    with register.transaction() as s:
        _email(s, OutboxStatus.FAILED, NOW, last_error="550 5.1.1 unknown user")
    out = io.StringIO()
    assert ops.status(boxes, out, fmt="json") == 1
    data = json.loads(out.getvalue())
    assert data["ok"] is False and data["healthy"] is False
    assert data["build"]["version"] == build_info()["version"]
    assert data["register_revision"] is not None
    assert data["outbox_failed"]["recent"][0]["error"] == "550 5.1.1 unknown user"
    out = io.StringIO()
    assert ops.status(boxes, out, fmt="nagios") == 1
    assert out.getvalue().startswith("INBOX-AGENT WARNING - 1 email(s) failed permanently | ")


def test_status_is_critical_when_nobody_reads_the_inbox(
    register: Register, settings: Settings
) -> None:
    with register.transaction() as s:
        _source(s, success=utc_now() - dt.timedelta(hours=4), error="MailboxUnavailable: down")
    out = io.StringIO()
    assert ops.status([Mailbox("default", settings)], out, fmt="nagios") == 2
    line = out.getvalue()
    assert line.startswith("INBOX-AGENT CRITICAL - polling has failed for 240 minutes | ")
    assert line.rstrip().endswith(" last_success_age=14400s;;10800;0")


def _profile(tmp_path: Path, imap: str) -> Path:
    """A TOML profile on disk (the CLI reads files), its register in ``tmp_path``."""
    path = tmp_path / "office.toml"
    path.write_text(
        f"""[office]
name = "Office of the Police and Crime Commissioner for Testshire"
inbox_address = "elections@opcc.testshire.police.uk"
spoc_role = "Head of Governance"
website_url = "https://opcc.testshire.police.uk"
[imap]
{imap}
[database]
url = "sqlite:///{tmp_path / "r.sqlite3"}"
[paro]
name = "Chief Executive, Testshire Council"
email = "paro@testshire.gov.uk"
[election]
poll_date = 2027-05-06
pre_election_period_start = 2027-03-29
nominations_close = 2027-04-08
persons_nominated_published = 2027-04-09
""",
        encoding="utf-8",
    )
    return path


def test_status_works_outside_the_unit_and_its_errors_stay_machine_readable(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    config = _profile(
        tmp_path,
        'host = "mail.testshire.police.uk"\nusername = "spoc"\n'
        'password_credential = "imap-password"',
    )
    Register(f"sqlite:///{tmp_path / 'r.sqlite3'}").dispose()  # the daemon made it
    code = main(["status", "--json", "--config", str(config)])  # --config after the command
    data = json.loads(capsys.readouterr().out)
    assert code == 1 and data["ok"] is False
    assert data["problems"] == ["imap://spoc@mail.testshire.police.uk:993 INBOX never polled"]
    assert main(["run", "--once", "--config", str(config)]) == 2  # the daemon needs it
    assert "imap.password_credential" in capsys.readouterr().err

    missing = tmp_path / "nope.toml"
    assert main(["status", "--json", "--config", str(missing)]) == 2
    error = json.loads(capsys.readouterr().out)
    assert error["ok"] is False and str(missing) in error["error"]
    assert main(["--config", str(missing), "status", "--nagios"]) == 3
    assert capsys.readouterr().out.startswith(f"INBOX-AGENT UNKNOWN - {missing}: cannot read")
    invalid = _profile(tmp_path, "")  # an [imap] section without its host
    assert main(["status", "--json", "--config", str(invalid)]) == 2
    assert "imap.host: Field required" in json.loads(capsys.readouterr().out)["error"]


@pytest.mark.parametrize(
    ("argv", "argument"),
    [
        (["status", "--json", "--bogus"], "--bogus"),
        (["--config", "x.toml", "status", "--json", "--mailbox"], "--mailbox"),
        (["status", "--json", "--nagios"], "--nagios"),
        (["--bogus", "status", "--js"], "--bogus"),
    ],
)
def test_status_json_with_bad_arguments_answers_json_naming_the_argument(
    argv: list[str], argument: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    error = json.loads(out)
    assert (error["ok"], error["argument"], error["exit_code"]) == (False, argument, 2)
    assert argument in error["error"] and "version" in error["build"]
    assert err == "", "no usage text for a program to choke on"


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["status", "--nagios", "--since", "1"], "bad argument --since: unrecognized arguments"),
        (["status", "--nag", "--config"], "bad argument --config: argument --config: expected"),
    ],
)
def test_status_nagios_with_bad_arguments_is_unknown(
    argv: list[str], line: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 3 and err == ""
    assert out.startswith(f"INBOX-AGENT UNKNOWN - {line}") and out.count("\n") == 1


def test_other_bad_arguments_still_get_the_usage_on_stderr(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["status", "--bogus"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("usage: inbox-agent")
    assert err.endswith("inbox-agent: error: unrecognized arguments: --bogus\n")
    assert main(["register", "export", "--format", "xml", "--json"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "usage: inbox-agent register export" in err
    assert "inbox-agent register export: error: argument --format: invalid choice" in err
    assert main(["--mailbox", "--json"]) == 2  # no command given: not a probe
    out, err = capsys.readouterr()
    assert out == "" and "usage: inbox-agent" in err


def test_status_on_the_demo_through_the_cli(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = demo_office(tmp_path)
    assert main(["--config", str(config), "run", "--once"]) == 0
    capsys.readouterr()
    assert main(["--config", str(config), "status"]) == 0
    out = capsys.readouterr().out
    assert "healthy" in out and "source maildir:" in out
    assert main(["--config", str(config), "status", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["messages_by_disposition"]["case"] == 9
    assert data["sources"][0]["last_success_at"] is not None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "5 s"), (125, "2 min"), (3 * 3600 + 300, "3 h 5 min"), (2 * 86400 + 4 * 3600, "2 d 4 h")],
)
def test_format_age(seconds: int, text: str) -> None:
    assert format_age(dt.timedelta(seconds=seconds)) == text


def test_several_mailboxes_give_one_json_document_and_one_nagios_line(tmp_path: Path) -> None:
    north, south = (_settings(tmp_path / name) for name in ("north", "south"))
    for settings, success in ((north, utc_now()), (south, utc_now() - dt.timedelta(hours=4))):
        reg = Register(settings.database.url)
        with reg.transaction() as s:
            _source(s, success=success, error=None)
        reg.dispose()
    boxes = [Mailbox("north", north), Mailbox("south", south)]
    out = io.StringIO()
    assert ops.status(boxes, out, fmt="json") == 1
    doc = json.loads(out.getvalue())
    assert doc["ok"] is False and set(doc["mailboxes"]) == {"north", "south"}
    assert doc["mailboxes"]["north"]["ok"] is True and "version" in doc["build"]
    out = io.StringIO()
    assert ops.status(boxes, out, fmt="nagios") == 2
    line = out.getvalue()
    assert line.startswith("INBOX-AGENT CRITICAL - south: no successful poll for 4 h 0 min")
    assert " north_pending=0 " in line
    assert re.search(r" south_last_success_age=14[0-9]{3}s;;10800;0$", line.strip())
