"""An operator's error never counts against a message, and the quarantine can be emptied.

Real Dovecot, real SMTP sink, real SQLite. A broken or missing office template and an unknown
time zone stop the pass before the mailbox is touched (``run --once`` exits 2); a template
that only fails on real mail stops the pass with the message stored, uncounted, and the next
pass does not fetch until it is fixed. The daemon alerts at once. ``quarantine release``
puts a shunted message back, audited.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from pathlib import Path
from typing import Any

import pytest
from servers import DovecotServer, SmtpSink
from sqlalchemy import select
from support.builders import HUMAN, dovecot_profile, message, write_profile
from support.clock import FakeClock

from inbox_agent.cli import main
from inbox_agent.errors import ConfigError
from inbox_agent.pipeline import Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.models import (
    AlertState,
    AuditEvent,
    Case,
    Disposition,
    OutboxMessage,
    StoredMessage,
)
from inbox_agent.scheduler import PollJob
from inbox_agent.settings import load_settings

pytestmark = pytest.mark.integration

IT = "it-service-desk@opcc.testshire.example.org"
GREETING = "acknowledgement/_greeting.txt.j2"
# fails for these requesters only: the made-up facts the pass checks first render fine
REAL_NAMES = '("Ann Candidate", "Bob Voter", "Cat Agent", "Dee Resident")'
FAILS_ON_REAL_MAIL = (
    f"{{% if requester_name in {REAL_NAMES} %}}{{{{ no_such_fact }}}}{{% endif %}}\n"
)


def _profile(tmp_path: Path, dovecot: DovecotServer, sink: SmtpSink, **sections: Any) -> Path:
    data = dovecot_profile(
        f"sqlite:///{tmp_path / 'register.sqlite3'}",
        (dovecot.host, dovecot.port, dovecot.user),
        (sink.host, sink.port),
        password=dovecot.password,
    )
    data["policy"] = {"template_dir": str(tmp_path / "office-templates")}
    data["alerts"] = {"email": IT}
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    (tmp_path / "office-templates" / "acknowledgement").mkdir(parents=True, exist_ok=True)
    return write_profile(tmp_path / "office.toml", data)


def _override(tmp_path: Path, name: str, text: str | None) -> None:
    path = tmp_path / "office-templates" / name
    if text is None:
        path.unlink()
    else:
        path.write_text(text, encoding="utf-8")


def _fill_inbox(dovecot: DovecotServer) -> list[int]:
    dovecot.create_folder("Processed")
    return [dovecot.append("INBOX", message(*human)) for human in HUMAN]


def _stored(tmp_path: Path) -> list[tuple[str, int, str | None]]:
    reg = Register(f"sqlite:///{tmp_path / 'register.sqlite3'}")
    try:
        with reg.transaction() as s:
            rows = s.execute(
                select(StoredMessage.disposition, StoredMessage.attempts, StoredMessage.error)
            )
            return [(d, a, e) for d, a, e in rows]
    finally:
        reg.dispose()


def _count(tmp_path: Path, model: type[Case] | type[OutboxMessage]) -> int:
    reg = Register(f"sqlite:///{tmp_path / 'register.sqlite3'}")
    try:
        with reg.transaction() as s:
            return len(list(s.scalars(select(model))))
    finally:
        reg.dispose()


def _run_once(capsys: pytest.CaptureFixture[str], config: Path) -> tuple[int, str]:
    code = main(["--config", str(config), "run", "--once"])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "text", "named"),
    [
        ("acknowledgement/foi_request.txt.j2", "{{ no_such_fact }}\n", "no_such_fact"),
        (
            "acknowledgement/foi_request.txt.j2",
            '{% include "acknowledgement/_office_footer.txt.j2" %}\n',
            "_office_footer.txt.j2 (included by acknowledgement/foi_request.txt.j2) not found",
        ),
    ],
    ids=["broken", "missing"],
)
def test_a_bad_template_stops_the_pass_before_the_mailbox_is_touched(
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    capsys: pytest.CaptureFixture[str],
    name: str,
    text: str,
    named: str,
) -> None:
    config = _profile(tmp_path, dovecot, smtp_sink)
    uids = _fill_inbox(dovecot)
    flags = dovecot.flags("INBOX")
    _override(tmp_path, name, text)
    code, err = _run_once(capsys, config)
    assert code == 2, err
    assert named in err
    assert dovecot.uids("INBOX") == uids and dovecot.flags("INBOX") == flags
    assert dovecot.uids("Processed") == []
    assert _stored(tmp_path) == [], "nothing fetched, so nothing can be counted"
    assert smtp_sink.messages == []

    _override(tmp_path, name, None)  # the operator fixes it
    code, err = _run_once(capsys, config)
    assert code == 0, err
    assert _count(tmp_path, Case) == len(HUMAN)
    assert [a for _, a, _ in _stored(tmp_path)] == [0] * len(HUMAN)
    assert dovecot.uids("INBOX") == []


def test_an_unknown_time_zone_stops_the_pass_and_names_the_key(
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = _profile(tmp_path, dovecot, smtp_sink, office={"timezone": "Europe/Londres"})
    uids = _fill_inbox(dovecot)
    code, err = _run_once(capsys, config)
    assert code == 2, err
    assert "office.timezone" in err and "Europe/Londres" in err
    assert dovecot.uids("INBOX") == uids
    assert _stored(tmp_path) == []


def test_a_template_that_fails_on_real_mail_counts_no_attempt_and_holds_the_mailbox(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    config = _profile(tmp_path, dovecot, smtp_sink)
    _fill_inbox(dovecot)
    _override(tmp_path, GREETING, FAILS_ON_REAL_MAIL)
    settings = load_settings(config)
    reg = Register(settings.database.url)
    try:
        pipeline = Pipeline(settings, reg)
        with pytest.raises(ConfigError, match="no_such_fact"):
            pipeline.run_once()
        stored = _stored(tmp_path)
        assert [(d, a) for d, a, _ in stored] == [(Disposition.PENDING, 0)] * len(HUMAN)
        assert _count(tmp_path, Case) == 0 and _count(tmp_path, OutboxMessage) == 0
        # while it stays broken, new mail stays on the server
        late = dovecot.append("INBOX", message("Dee Resident <dee@example.com>", "Hi", "Hello."))
        with pytest.raises(ConfigError):
            pipeline.run_once()
        assert dovecot.uids("INBOX") == [late]
        assert [a for _, a, _ in _stored(tmp_path)] == [0] * len(HUMAN)

        _override(tmp_path, GREETING, None)
        pipeline.run_once()
    finally:
        reg.dispose()
    assert _count(tmp_path, Case) == len(HUMAN) + 1
    assert {d for d, _, _ in _stored(tmp_path)} == {Disposition.CASE}
    assert dovecot.uids("INBOX") == []


def test_the_daemon_alerts_at_once_on_an_operator_error_and_again_when_fixed(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    config = _profile(tmp_path, dovecot, smtp_sink)
    _fill_inbox(dovecot)
    _override(tmp_path, "acknowledgement/foi_request.txt.j2", "{{ no_such_fact }}\n")
    settings = load_settings(config)
    reg = Register(settings.database.url)
    clock = FakeClock(dt.datetime.now(dt.UTC))
    try:
        job = PollJob(Pipeline(settings, reg, clock=clock), settings.poll.interval_seconds)
        job()
        alerts = [m for m in smtp_sink.messages if IT in m.rcpt_tos]
        assert len(alerts) == 1, "alerted on the first failure, not after the threshold"
        alert = email.message_from_bytes(alerts[0].data, policy=email.policy.default)
        assert "configuration error" in str(alert["Subject"])
        assert "no_such_fact" in alert.get_body().get_content()  # type: ignore[union-attr]
        with reg.transaction() as s:
            state = s.scalars(select(AlertState)).one()
            assert state.raised_at is not None
        assert _stored(tmp_path) == []

        _override(tmp_path, "acknowledgement/foi_request.txt.j2", None)
        clock.now += dt.timedelta(minutes=30)  # past the backoff
        job()
    finally:
        reg.dispose()
    alerts = [m for m in smtp_sink.messages if IT in m.rcpt_tos]
    assert len(alerts) == 2, "and once more when it recovers"
    assert _count(tmp_path, Case) == len(HUMAN)


def test_the_alert_still_goes_out_when_its_own_template_is_broken(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    config = _profile(tmp_path, dovecot, smtp_sink)
    (tmp_path / "office-templates" / "alert").mkdir()
    for name in ("acknowledgement/foi_request.txt.j2", "alert/operator_error.txt.j2"):
        _override(tmp_path, name, "{{ no_such_fact }}\n")
    settings = load_settings(config)
    reg = Register(settings.database.url)
    try:
        PollJob(Pipeline(settings, reg), settings.poll.interval_seconds)()
    finally:
        reg.dispose()
    (alert,) = [m for m in smtp_sink.messages if IT in m.rcpt_tos]
    body = email.message_from_bytes(alert.data, policy=email.policy.default).get_body()
    text = body.get_content()  # type: ignore[union-attr]
    assert "could not use its usual wording" in text and "no_such_fact" in text


def test_quarantine_list_and_release_put_a_message_back_audited(
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = _profile(tmp_path, dovecot, smtp_sink, poll={"max_attempts": 1})
    dovecot.create_folder("Processed")
    dovecot.append("INBOX", message(*HUMAN[1]))

    def bug(*_args: object) -> None:  # a defect of ours, fixed by the next release
        raise RuntimeError("classifier bug")

    monkeypatch.setattr("inbox_agent.analysis.classify_message", bug)
    assert _run_once(capsys, config)[0] == 0
    monkeypatch.undo()
    assert [d for d, _, _ in _stored(tmp_path)] == [Disposition.QUARANTINED]

    assert main(["--config", str(config), "quarantine", "list"]) == 0
    listing = capsys.readouterr().out
    assert "classifier bug" in listing and "1 quarantined" in listing
    message_id = listing.split()[0]
    assert main(["--config", str(config), "quarantine", "release", "999"]) == 1
    capsys.readouterr()
    argv = ["--config", str(config), "quarantine", "release", message_id, "--user", "sam"]
    assert main(argv) == 0
    assert f"released {message_id}" in capsys.readouterr().out
    assert _stored(tmp_path) == [(Disposition.PENDING, 0, None)]

    code, err = _run_once(capsys, config)
    assert code == 0, err
    assert _count(tmp_path, Case) == 1
    reg = Register(f"sqlite:///{tmp_path / 'register.sqlite3'}")
    try:
        with reg.transaction() as s:
            event = s.scalars(
                select(AuditEvent).where(AuditEvent.action == "message_released")
            ).one()
            assert event.actor == "sam" and "classifier bug" in event.detail["reason"]
    finally:
        reg.dispose()
