from __future__ import annotations

import logging

import pytest

from inbox_agent.logs import RedactingFilter, redact


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
