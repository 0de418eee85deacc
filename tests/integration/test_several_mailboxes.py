"""One daemon, several offices: each mailbox its own profile and register; one failing alone.

The daemon runs as a real process (``inbox-agent run``) against one Dovecot with two users,
one SMTP sink, and a third mailbox whose IMAP server is not there at all.
"""

from __future__ import annotations

import email
import os
import signal
import sqlite3
import subprocess
import sys
from email.message import Message
from pathlib import Path

from servers import DovecotServer, SmtpSink, free_port, wait_until
from support.builders import HUMAN, message

ROOT = Path(__file__).resolve().parents[2]
OFFICES = {"north": "NTH", "south": "STH", "broken": "BRK"}
WAIT_S = 60.0


def _office(name: str, prefix: str, imap_port: int, user: str, password: str) -> str:
    return f"""
[mailboxes.{name}.office]
name = "Office of the Police and Crime Commissioner for {name.title()}shire"
inbox_address = "elections@opcc.{name}.example.org"
spoc_role = "Head of Governance"
website_url = "https://opcc.{name}.example.org/election"
reference_prefix = "{prefix}"

[mailboxes.{name}.paro]
name = "Chief Executive, {name.title()}shire Council"
email = "paro@council.{name}.example.org"

[mailboxes.{name}.imap]
port = {imap_port}
username = "{user}"
password = "{password}"

[mailboxes.{name}.smtp]
from_address = "elections@opcc.{name}.example.org"

[mailboxes.{name}.database]
url = "sqlite:///{name}.db"
"""


def _config(tmp_path: Path, dovecot: DovecotServer, sink: SmtpSink) -> Path:
    shared = f"""
[election]
poll_date = "2027-05-06"
pre_election_period_start = "2027-03-29"
nominations_close = "2027-04-08"
persons_nominated_published = "2027-04-09"

[imap]
host = "{dovecot.host}"
security = "none"
timeout_seconds = 5

[smtp]
host = "{sink.host}"
port = {sink.port}
security = "none"
timeout_seconds = 5

[poll]
interval_seconds = 5
"""
    text = shared
    text += _office("north", "NTH", dovecot.port, dovecot.user, dovecot.password)
    text += _office("south", "STH", dovecot.port, "south", "south-secret")
    text += _office("broken", "BRK", free_port(), "nobody", "unused")  # nothing listens
    path = tmp_path / "offices.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _cases(db: Path) -> list[tuple[str, str]]:
    if not db.exists():
        return []
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute("SELECT reference, category FROM cases ORDER BY id").fetchall()
    except sqlite3.OperationalError:
        return []  # not migrated yet
    finally:
        conn.close()


def _received(sink: SmtpSink) -> list[tuple[tuple[str, ...], Message]]:
    return [(m.rcpt_tos, email.message_from_bytes(m.data)) for m in sink.messages]


def test_one_daemon_serves_several_offices_and_a_dead_one_stops_none(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink
) -> None:
    dovecot.add_user("south", "south-secret")
    for sender, subject, body in HUMAN:
        dovecot.append("INBOX", message(sender, subject, body))
    south_mail = message("Dee Voter <dee@example.com>", "Police numbers", HUMAN[0][2])
    dovecot.append("INBOX", south_mail, user="south")
    config = _config(tmp_path, dovecot, smtp_sink)
    log = tmp_path / "daemon.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "inbox_agent.cli", "--config", str(config), "run"]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=out, stdin=subprocess.DEVNULL, env=env)
    try:
        wait_until(
            lambda: (
                len(_cases(tmp_path / "north.db")) == len(HUMAN)
                and len(_cases(tmp_path / "south.db")) == 1
            ),
            timeout=WAIT_S,
            what="both live mailboxes registered while the third is down",
        )
        wait_until(
            lambda: len(smtp_sink.messages) >= len(HUMAN) + 1 + 1,
            timeout=WAIT_S,
            what="acknowledgements and the PARO forward",
        )
        # mail arriving later is still picked up: the dead mailbox's backoff holds up nobody
        dovecot.append(
            "INBOX", message("Eve <eve@example.org>", "Budget", HUMAN[0][2]), user="south"
        )
        wait_until(
            lambda: len(_cases(tmp_path / "south.db")) == 2,
            timeout=WAIT_S,
            what="a later message for south",
        )
        wait_until(
            lambda: any(r == ("eve@example.org",) for r, _ in _received(smtp_sink)),
            timeout=WAIT_S,
            what="the later message's acknowledgement",
        )
        assert proc.poll() is None, "one dead mailbox must not stop the daemon"
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
    text = log.read_text(encoding="utf-8")
    assert code == 0, text[-3000:]

    north, south = _cases(tmp_path / "north.db"), _cases(tmp_path / "south.db")
    assert all(ref.startswith("NTH-") for ref, _ in north)
    assert all(ref.startswith("STH-") for ref, _ in south)
    assert not (tmp_path / "broken.db").exists() or _cases(tmp_path / "broken.db") == []

    received = _received(smtp_sink)
    for rcpt, mail in received:
        # each office answers from its own address, and forwards to its own PARO only
        if rcpt == ("paro@council.north.example.org",):
            assert mail["From"].endswith("<elections@opcc.north.example.org>") or (
                "elections@opcc.north.example.org" in mail["From"]
            )
        assert rcpt != ("paro@council.south.example.org",), "south had no electoral question"
    acks_south = [m for r, m in received if r in (("dee@example.com",), ("eve@example.org",))]
    assert len(acks_south) == 2
    for mail in acks_south:
        assert "elections@opcc.south.example.org" in mail["From"]
        body = mail.get_payload(decode=True) if not mail.is_multipart() else None
        text_part = body or mail.get_payload(0).get_payload(decode=True)
        assert b"Southshire" in text_part and b"Northshire" not in text_part
    assert [r for r, _ in received].count(("paro@council.north.example.org",)) == 1

    lines = text.splitlines()
    assert any("mailbox=broken" in line and "event=poll_failed" in line for line in lines)
    assert any("mailbox=north" in line and "event=case_opened" in line for line in lines)
    assert any("mailbox=south" in line and "event=case_opened" in line for line in lines)
    assert not any("mailbox=broken" in line and "case_opened" in line for line in lines)
    assert "south-secret" not in text
