from __future__ import annotations

import io
import logging
import os
import sys
from pathlib import Path

import pytest

from inbox_agent.logs import FORMAT, RedactingFilter, redact, setup_logging, under_journald


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("from jane.doe@example.org", "from j***@example.org"),
        ("a@b.co and x.y+z@mail.example.co.uk", "a***@b.co and x***@mail.example.co.uk"),
        ("no address here", "no address here"),
    ],
)
def test_redact(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_filter_redacts_arguments_and_keeps_one_line(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("inbox_agent.test_logs")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="inbox_agent.test_logs"):
        logger.info("event=x sender=%s subject=%s", "bob@example.net", "two\nlines")
    assert caplog.messages == ["event=x sender=b***@example.net subject=two\\nlines"]


def _capture(stream: io.StringIO) -> logging.Logger:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("inbox_agent.test_logs.tb")
    logger.handlers[:] = [handler]
    logger.propagate = False
    return logger


def test_a_traceback_is_redacted_and_folded_into_the_line() -> None:
    stream = io.StringIO()
    logger = _capture(stream)
    try:
        raise ValueError("cannot parse From: jane.doe@example.org\r\nnext")
    except ValueError:
        logger.exception("event=poll_crashed case=TST-2027-0001")
    text = stream.getvalue()
    assert text.count("\n") == 1, text  # one journal entry
    assert "event=poll_crashed case=TST-2027-0001 traceback=Traceback (most recent" in text
    assert "ValueError: cannot parse From: j***@example.org\\nnext" in text
    assert "jane.doe" not in text


def test_journald_priorities_only_when_stderr_is_the_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (tmp_path / "journal").open("w+", encoding="utf-8") as journal:
        info = os.fstat(journal.fileno())
        monkeypatch.setattr(sys, "stderr", journal)
        monkeypatch.setenv("JOURNAL_STREAM", f"{info.st_dev}:{info.st_ino}")
        assert under_journald()
        setup_logging("INFO")
        log = logging.getLogger("inbox_agent.test_logs.journal")
        log.error("event=poll_failed error=down")
        log.warning("event=lease_lost")
        log.info("event=fetched seen=1")
        monkeypatch.setenv("JOURNAL_STREAM", f"{info.st_dev}:{info.st_ino + 1}")  # inherited
        assert not under_journald()
        setup_logging("INFO")
        log.info("event=stopped")
        journal.seek(0)
        lines = journal.read().splitlines()
    assert lines[:3] == [
        "<3>inbox_agent.test_logs.journal event=poll_failed error=down",
        "<4>inbox_agent.test_logs.journal event=lease_lost",
        "<6>inbox_agent.test_logs.journal event=fetched seen=1",
    ]
    assert lines[3].endswith(" INFO inbox_agent.test_logs.journal event=stopped")
    assert not lines[3].startswith("<")
