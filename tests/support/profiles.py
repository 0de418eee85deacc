"""The test office's profile as data, and its TOML on disk; standard library only.

Tests reach these through ``support.builders``; the benchmarks import this module directly,
because a benchmark's child process measures the CLI's own memory and must not load
``inbox_agent`` before the CLI does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

INBOX = "elections@opcc.testshire.example.org"
PARO = "paro@council.testshire.example.org"


def base_config(db_url: str) -> dict[str, Any]:
    """The fictional Testshire office with its register at ``db_url``: the sections every
    profile needs; a test or benchmark adds its mail source and outbox."""
    return {
        "office": {
            "name": "Office of the Police and Crime Commissioner for Testshire",
            "inbox_address": INBOX,
            "spoc_role": "Head of Governance",
            "website_url": "https://opcc.testshire.example.org/election",
            "reference_prefix": "TST",
        },
        "database": {"url": db_url},
        "paro": {"name": "Chief Executive, Testshire Council", "email": PARO},
        "election": {
            "poll_date": "2027-05-06",
            "pre_election_period_start": "2027-03-29",
            "nominations_close": "2027-04-08",
            "persons_nominated_published": "2027-04-09",
        },
    }


def profile_toml(data: dict[str, dict[str, Any]]) -> str:
    """The few value types a profile in the tests needs; strings as JSON is valid TOML."""

    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return str(v)
        return json.dumps(str(v))

    return "".join(
        f"[{name}]\n" + "".join(f"{key} = {value(v)}\n" for key, v in section.items()) + "\n"
        for name, section in data.items()
    )


def write_profile(path: Path, data: dict[str, dict[str, Any]]) -> Path:
    """A profile on disk, for tests that drive the command line as an operator does."""
    path.write_text(profile_toml(data), encoding="utf-8")
    return path


class ImapAccount(Protocol):
    """A mailbox on the tests' Dovecot (``tests/servers.py``'s ``DovecotServer``)."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def user(self) -> str: ...
    @property
    def password(self) -> str: ...


def imap_section(server: ImapAccount, **keys: object) -> dict[str, object]:
    """The ``[imap]`` section that reads ``server``'s mailbox in plain text on loopback."""
    return {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "username": server.user,
        "password": server.password,
        **keys,
    }
