"""What a message asks for beyond its category: photographs, hustings, visits, ride-alongs.

The protocols treat these differently from an ordinary meeting request (Bedfordshire refuses
visits and ride-alongs outright, Norfolk refuses hustings, three offices refuse photographs
once the pre-election period begins), so the acknowledgement must know which one was asked
for. The trained classifier keeps its eight categories; these topics are read from the
sender's own words (no quoted history, signature or disclaimer) by plain patterns, because a
wrong topic only changes which paragraph of the protocol is quoted, never whether a case opens
or a statutory clock runs.
"""

from __future__ import annotations

import re

from inbox_agent.classify.text import mail_text
from inbox_agent.parse import ParsedMail
from inbox_agent.protocol.rules import Topic

_PATTERNS: dict[Topic, re.Pattern[str]] = {
    Topic.PHOTO: re.compile(
        r"\b(?:photo(?:graph)?s?|photo[- ]?(?:op|opportunity|call)|pictures?|selfies?"
        r"|film(?:ed|ing)?|video(?:ed)?|camera crew|photographed)\b",
        re.IGNORECASE,
    ),
    Topic.HUSTINGS: re.compile(r"\bhustings?\b", re.IGNORECASE),
    Topic.VISIT: re.compile(
        r"\b(?:visit(?:ing|s)?|tour(?:ing)?|look round|look around|come (?:in|to|and see))\b"
        r"[^.?!\n]{0,80}\b(?:station|headquarters|hq|premises|offices?|custody|control room"
        r"|base|depot|suite|site)\b"
        r"|\b(?:station|headquarters|premises|custody suite|control room)\b[^.?!\n]{0,40}"
        r"\bvisit",
        re.IGNORECASE,
    ),
    Topic.RIDE_ALONG: re.compile(
        r"\bride[- ]?alongs?\b|\bshadow(?:ing)?\b[^.?!\n]{0,40}\b(?:officers?|patrols?|shift)"
        r"|\b(?:observe|accompany|join)\b[^.?!\n]{0,40}\b(?:officers?|patrols?|shift)\b"
        r"|\bout on patrol\b",
        re.IGNORECASE,
    ),
    Topic.IMAGE_MISUSE: re.compile(
        r"\b(?:police|force|constabulary|opcc|officers?'?)\s+(?:images?|photos?|photographs?"
        r"|livery|logos?|badges?|crest|uniforms?)\b[^.?!\n]{0,120}\b(?:leaflets?|campaign"
        r"|election material|literature|posts?|poster|flyers?|manifesto|social media|website)"
        r"|\b(?:leaflets?|campaign material|literature|flyers?|posters?)\b[^.?!\n]{0,120}"
        r"\b(?:police|force|constabulary)\s+(?:images?|photos?|photographs?|livery|logos?"
        r"|badges?|crest|uniforms?)\b",
        re.IGNORECASE,
    ),
    Topic.MEETING: re.compile(
        r"\b(?:meet(?:ing|ings)?|sit down with|one[- ]to[- ]one|briefing with)\b",
        re.IGNORECASE,
    ),
}


def detect_topics(mail: ParsedMail) -> frozenset[Topic]:
    """The topics of the sender's own words (the forwarded original's when staff forwarded it)."""
    return topics_of(mail_text(mail))


def topics_of(text: str) -> frozenset[Topic]:
    """The topics whose pattern occurs in ``text``.

    A complaint that police photographs are in a leaflet mentions photographs without asking
    to be photographed, so image misuse drops the photo topic.
    """
    found = {topic for topic, pattern in _PATTERNS.items() if pattern.search(text)}
    if Topic.IMAGE_MISUSE in found:
        found.discard(Topic.PHOTO)
    return frozenset(found)
