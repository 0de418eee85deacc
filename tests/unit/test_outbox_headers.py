"""Outgoing header values cannot be turned into line breaks by what a sender wrote."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP

import pytest

from inbox_agent.outbox import _clean


@pytest.mark.parametrize(
    "value",
    [
        "Re: =?utf-8?Q?=0A",  # a partial encoded word the email package would decode
        "Re: =?utf-8?Q?=0D=0ABcc:_x@example.com?=",
        "Re: \udc0a\udc0dBcc: x@example.com",  # surrogate escapes of CR and LF
        "Re: a\r\nBcc: x@example.com",
        "Re: a\x85b\u2028c\x1fd",
    ],
)
def test_header_value_stays_one_line(value: str) -> None:
    msg = EmailMessage(policy=SMTP)
    msg["Subject"] = _clean(value)
    head = bytes(msg).split(b"\r\n\r\n", 1)[0]
    assert head.count(b"\r\n") == head.count(b"\r\n ")  # only folded continuation lines
    assert b"\n" not in head.replace(b"\r\n", b"")
    assert "Bcc" not in str(msg.keys())
    assert all(ch not in str(msg["Subject"]) for ch in "\r\n\x1f\x85\u2028")
