from __future__ import annotations

from inbox_agent.fetch import PROCESSED_KEYWORD, _processed_flag


def test_keyword_when_server_accepts_new_keywords() -> None:
    info: dict[bytes, object] = {b"PERMANENTFLAGS": (b"\\Seen", b"\\Flagged", b"\\*")}
    assert _processed_flag(info) == PROCESSED_KEYWORD


def test_flagged_when_server_keeps_no_keywords() -> None:
    assert _processed_flag({b"PERMANENTFLAGS": (b"\\Seen", b"\\Flagged")}) == "\\Flagged"
    assert _processed_flag({}) == "\\Flagged"
