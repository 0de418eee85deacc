"""Who is asking, in the protocol's terms: candidate, agent, representative or public.

The register's annex C column records it, and equal treatment is checked against it. Until the
roster of nominated candidates exists, the requester's own words are the evidence: a person who
says they are standing is recorded as a candidate. Anyone else is a member of the public,
which is also how the protocols say candidates must be treated.
"""

from __future__ import annotations

import re
from enum import StrEnum


class RequesterType(StrEnum):
    CANDIDATE = "candidate"
    AGENT = "agent"
    REPRESENTATIVE = "representative"
    PUBLIC = "public"


_NEG = r"(?<!not )(?<!n't )"
_PATTERNS: tuple[tuple[RequesterType, re.Pattern[str]], ...] = (
    (
        RequesterType.AGENT,
        re.compile(
            rf"\b{_NEG}(?:i am|i'm|as)\s+(?:the\s+|an?\s+)?(?:election|campaign|official)\s+agent\b"
            r"|\bagent (?:for|to) (?:the )?(?:candidate|[A-Z][a-z]+ [A-Z][a-z]+)",
            re.IGNORECASE,
        ),
    ),
    (
        RequesterType.CANDIDATE,
        re.compile(
            rf"\b{_NEG}(?:i am|i'm|as)\s+(?:a|an|the)\s+(?:\w+\s+){{0,3}}?candidate\b"
            rf"|\b{_NEG}(?:i am|i'm|i will be)\s+standing\s+(?:as|for|in)\b"
            r"|\bmy (?:candidacy|nomination|campaign)\b",
            re.IGNORECASE,
        ),
    ),
    (
        RequesterType.REPRESENTATIVE,
        re.compile(
            r"\b(?:on behalf of|writing for|representing)\s+(?:the\s+)?(?:candidate|campaign"
            r"|party|[A-Z][a-z]+ (?:Party|Campaign))\b"
            r"|\b(?:i am|i'm)\s+(?:a|the)\s+(?:campaign manager|party (?:organiser|official))",
            re.IGNORECASE,
        ),
    ),
)


def requester_type(text: str) -> RequesterType:
    """The first self-description found, agent before candidate (an agent mentions both)."""
    head = text[:4000]
    for kind, pattern in _PATTERNS:
        if pattern.search(head):
            return kind
    return RequesterType.PUBLIC
