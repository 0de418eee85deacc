"""Small builders shared by tests: settings for a given source, and messages to send."""

from __future__ import annotations

import datetime as dt
import mailbox
import shutil
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

from inbox_agent.settings import Settings, settings_from_dict
from support.profiles import INBOX as INBOX
from support.profiles import PARO as PARO
from support.profiles import base_config as base_config
from support.profiles import profile_toml as profile_toml
from support.profiles import write_profile as write_profile

REAL_INBOX = "elections@opcc.testshire.police.uk"


def real_office(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the office's own addresses instead of example.org placeholders, which
    check-config refuses (``preflight``); nothing is ever sent to them."""
    data["office"] |= {
        "inbox_address": REAL_INBOX,
        "website_url": "https://opcc.testshire.police.uk",
    }
    data["paro"] = {**data["paro"], "email": "paro@testshire.gov.uk"}
    if "smtp" in data:
        data["smtp"] = {**data["smtp"], "from_address": REAL_INBOX}
    return data


def dovecot_profile(
    db_url: str, imap: tuple[str, int, str], smtp: tuple[str, int], **secret: str
) -> dict[str, Any]:
    """A whole profile, for writing to disk: ``imap`` (host, port, user) read into Processed,
    ``smtp`` (host, port) the sink, every message acknowledged; ``secret`` the password key."""
    data = base_config(db_url)
    host, port, user = imap
    data["imap"] = {
        "host": host,
        "port": port,
        "security": "none",
        "username": user,
        "processed_folder": "Processed",
        "timeout_seconds": 5.0,
        **secret,
    }
    data["smtp"] = {"host": smtp[0], "port": smtp[1], "security": "none", "from_address": INBOX}
    data["actions"] = {"acknowledge_since": "2020-01-01T00:00:00Z"}
    return data


def smtp_config(host: str, port: int, **smtp: Any) -> dict[str, Any]:
    """An ``[smtp]`` section for a plain-text server on loopback (the test sink)."""
    return {
        "host": host,
        "port": port,
        "security": "none",
        "from_address": INBOX,
        "timeout_seconds": 5.0,
        **smtp,
    }


def imap_settings(
    db_url: str,
    host: str,
    port: int,
    user: str,
    password: str,
    *,
    smtp: dict[str, Any] | None = None,
    actions: dict[str, Any] | None = None,
    **imap: Any,
) -> Settings:
    """Settings reading ``user``'s mailbox; ``smtp`` and ``actions`` are whole sections."""
    data = base_config(db_url)
    data["imap"] = {
        "host": host,
        "port": port,
        "security": "none",
        "username": user,
        "password": password,
        "batch_size": 7,
        **imap,
    }
    if smtp is not None:
        data["smtp"] = smtp
    if actions is not None:
        data["actions"] = actions
    return settings_from_dict(data, Path("/tmp/test-inbox-agent.toml"))


def maildir_settings(db_url: str, path: Path) -> Settings:
    data = base_config(db_url)
    data["maildir"] = {"path": str(path)}
    return settings_from_dict(data, Path("/tmp/test-inbox-agent.toml"))


def local_settings(db_url: str, tmp_path: Path, **poll: int) -> Settings:
    """Mail read from the Maildir ``tmp_path/box``, sent to the Maildir ``tmp_path/outbox``."""
    data = base_config(db_url)
    data["maildir"] = {"path": str(tmp_path / "box")}
    data["smtp"] = {
        "from_address": INBOX,
        "deliver": "maildir",
        "maildir_path": str(tmp_path / "outbox"),
    }
    data["poll"] = poll
    return settings_from_dict(data, tmp_path / "inbox-agent.toml")


def fill_maildir(path: Path, *raws: bytes) -> None:
    box = mailbox.Maildir(path, create=True)
    for raw in raws:
        box.add(raw)
    box.close()


def message(
    sender: str,
    subject: str,
    body: str,
    *,
    to: str = INBOX,
    message_id: str | None = None,
    headers: dict[str, str] | None = None,
    date: dt.datetime | None = None,
) -> bytes:
    """A person's message; stamped on delivery at ``date`` by the receiving server (Received),
    as real mail is, so a Maildir or mbox import reads its arrival from it."""
    msg = EmailMessage()
    sent = format_datetime(date or dt.datetime(2027, 4, 1, 10, 0, tzinfo=dt.UTC))
    if "Received" not in (headers or {}):
        msg["Received"] = f"from mail.example.net by mx.opcc.example; {sent}"
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = sent
    if message_id:
        msg["Message-ID"] = message_id
    for key, value in (headers or {}).items():
        msg[key] = value
    msg.set_content(body)
    return bytes(msg)


HUMAN = [
    (
        "Ann Candidate <ann@example.com>",
        "Neighbourhood policing figures",
        "I am a candidate. How many neighbourhood officers were there in each of the last two "
        "years, and what is the budget for them this year?",
    ),
    (
        "Bob Voter <bob@example.net>",
        "FOI request",
        "Under the Freedom of Information Act 2000, please send me the total cost of the "
        "commissioner's office for 2025/26.",
    ),
    (
        "Cat Agent <cat@example.org>",
        "Deposit and nomination form",
        "How do I pay the deposit for the nomination and where is the nomination form handed in?",
    ),
]

MACHINE = [
    (
        "Auto Responder <away@example.com>",
        "Automatic reply: your message",
        "I am away until Monday.",
        {"Auto-Submitted": "auto-replied"},
    ),
    (
        "News <news@lists.example.org>",
        "Weekly digest",
        "Our news this week.",
        {"List-Id": "<news.lists.example.org>", "Precedence": "list"},
    ),
]


REPO = Path(__file__).resolve().parents[2]


def demo_office(tmp_path: Path) -> Path:
    """A copy of the demo profile and its Maildir in ``tmp_path``; returns the config file.

    The profile's relative paths (the Maildir, the register, the outbox) then land in
    ``tmp_path``, so a test runs the real demo without touching the checkout's ``demo/``.
    """
    shutil.copytree(REPO / "demo" / "maildir", tmp_path / "demo" / "maildir")
    (tmp_path / "config").mkdir()
    config = tmp_path / "config" / "example.toml"
    shutil.copy(REPO / "config" / "example.toml", config)
    return config
