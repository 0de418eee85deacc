"""One meaning of "Received": when the message arrived, never the sender's Date header."""

from __future__ import annotations

import datetime as dt
import email.utils
import mailbox
from pathlib import Path

import pytest
from sqlalchemy import select
from support.builders import base_config

from inbox_agent.arrival import delivery_time, mbox_from_line_time, received_header_time
from inbox_agent.casework.follow_up import FLAGGED, REOPENED, follow_up_effect
from inbox_agent.localbox import LocalFetcher
from inbox_agent.pipeline import Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.models import Case, CaseStatus, StoredMessage
from inbox_agent.settings import settings_from_dict

SENT = dt.datetime(2027, 3, 1, 9, 0, tzinfo=dt.UTC)  # what the sender's clock claimed
ARRIVED = dt.datetime(2027, 4, 6, 8, 15, 2, tzinfo=dt.UTC)  # when our server took it
NOW = dt.datetime(2027, 4, 20, 12, 0, tzinfo=dt.UTC)


def _raw(received: str | None) -> bytes:
    """A message dated SENT by its sender; ``received`` its delivery stamp (None: none)."""
    stamp = f"Received: {received}\n" if received is not None else ""
    return (
        f"{stamp}From: Ann <ann@example.com>\nTo: spoc@opcc.example\nSubject: Figures\n"
        f"Date: {email.utils.format_datetime(SENT)}\nMessage-ID: <{hash(received)}@example.com>\n"
        "\nHow many officers were there in 2026?\n"
    ).encode()


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        ("from a.example by mx.opcc.example; Tue, 06 Apr 2027 09:15:02 +0100", ARRIVED),
        ("from a.example by mx.opcc.example\n\tid 42; Tue, 6 Apr 2027 08:15:02 +0000", ARRIVED),
        ("from a.example by mx.opcc.example; yesterday", None),
        ("from a.example by mx.opcc.example (no date)", None),
    ],
)
def test_the_topmost_received_header_gives_the_arrival(
    received: str, expected: dt.datetime | None
) -> None:
    assert received_header_time(_raw(received)) == expected


def test_only_the_top_received_header_counts_and_never_the_date_header() -> None:
    raw = (
        b"Received: from relay by mx.opcc.example; Tue, 6 Apr 2027 08:15:02 +0000\r\n"
        b"Received: from laptop by relay; Mon, 1 Mar 2027 09:00:00 +0000\r\n"
        b"Date: Mon, 1 Mar 2027 09:00:00 +0000\r\n\r\nbody\r\nReceived: not a header\r\n"
    )
    assert received_header_time(raw) == ARRIVED
    no_received = b"Date: Mon, 1 Mar 2027 09:00:00 +0000\r\n\r\nbody"
    assert delivery_time(no_received) is None
    assert delivery_time(no_received, from_line="From ann@example.com Tue Apr  6 08:15:02 2027")
    assert delivery_time(no_received, file_time=NOW) == NOW


def test_an_mbox_from_line_is_read_as_utc() -> None:
    assert mbox_from_line_time("ann@example.com Tue Apr  6 08:15:02 2027") == ARRIVED
    assert mbox_from_line_time("MAILER-DAEMON Fri Jul  8 12:08:34 2011") == dt.datetime(
        2011, 7, 8, 12, 8, 34, tzinfo=dt.UTC
    )
    assert mbox_from_line_time("ann@example.com sometime") is None


def test_an_mbox_import_is_dated_by_its_delivery_not_the_file_or_the_date_header(
    tmp_path: Path,
) -> None:
    box = mailbox.mbox(tmp_path / "export.mbox")
    for raw, from_line in (
        (_raw(None), "ann@example.com Tue Apr  6 08:15:02 2027"),
        (_raw("from x by mx.opcc.example; Tue, 6 Apr 2027 08:15:02 +0000"), "ann@example.com"),
    ):
        entry = mailbox.mboxMessage(raw)
        entry.set_from(from_line)
        box.add(entry)
    box.flush()
    box.close()
    register = Register(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    try:
        fetcher = LocalFetcher(
            tmp_path / "export.mbox", register, max_bytes=10**6, clock=lambda: NOW
        )
        assert fetcher.fetch_new().stored == 2
        with register.transaction() as session:
            times = list(session.scalars(select(StoredMessage.received_at)))
        assert times == [ARRIVED, ARRIVED], "not the file's time, not the Date header"
    finally:
        register.dispose()


def test_a_case_is_dated_by_arrival(tmp_path: Path) -> None:
    data = base_config(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    data["maildir"] = {"path": str(tmp_path / "mail")}
    settings = settings_from_dict(data, tmp_path / "inbox-agent.toml")
    mailbox.Maildir(tmp_path / "mail", create=True).add(
        _raw("from x by mx.opcc.example; Tue, 6 Apr 2027 08:15:02 +0000")
    )
    register = Register(settings.database.url)
    try:
        Pipeline(settings, register, clock=lambda: NOW).run_once()
        with register.transaction() as session:
            case = session.scalars(select(Case)).one()
            assert case.date_of_contact == ARRIVED
    finally:
        register.dispose()


@pytest.mark.parametrize(
    ("status", "effect"),
    [
        (CaseStatus.ANSWERED, REOPENED),
        (CaseStatus.CLOSED, FLAGGED),
        (CaseStatus.NEW, FLAGGED),
        (CaseStatus.IN_PROGRESS, FLAGGED),
    ],
)
def test_what_a_follow_up_does_per_status(status: str, effect: str) -> None:
    assert follow_up_effect(status) == effect
