"""Anonymisation for the disclosure log: find personal identifiers, replace them with labels.

The protocols publish what candidates were told "anonymised ... so that it is available to
everyone". No pretrained model may be downloaded, so there is no statistical NER here: spaCy's
blank English tokenizer with an ``EntityRuler`` (the names and parties we know, people behind
a title, "X Party") and a ``PhraseMatcher`` (names of this message's sender), plus regular
expressions for what has a shape. What is found:

=========== ==========================================================================
PERSON      names from the roster, the register's requesters, staff (settings
            ``transparency.staff_names`` and web accounts), the sender's own names from the
            headers, the address and the signature; each name in full and by its parts;
            anyone after a title ("Mr Barker", "Cllr J. Patel")
EMAIL       email addresses
PHONE       UK telephone numbers (+44 / 0 prefixed, any spacing, (0) and brackets)
POSTCODE    UK postcodes
ADDRESS     numbered street addresses with the town and postcode that follow them;
            address blocks above a postcode line; the roster's postal addresses
PARTY       party names (``transparency.party_names`` and the roster's), "<Name> Party",
            "independent" where it describes a candidate
REFERENCE   force crime and incident references, our own case references, other case
            references after a keyword, vehicle registrations, National Insurance numbers
URL         web addresses and domains, except ``transparency.public_domains`` and the office's
HANDLE      social media handles (@name)
=========== ==========================================================================

Names unknown to every list and written without a title are not found: staff see the redacted
text beside the original (``publish.preview``) and edit it before approving. The test corpus in
``tests/data/anonymise`` measures recall and over-redaction (``score_corpus``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import spacy
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.pipeline import EntityRuler

from inbox_agent.classify.text import SIGN_OFF, Zone, body_zones
from inbox_agent.parse import ParsedMail
from inbox_agent.spacy_memory import bounded_memory

PLACEHOLDERS = {
    "PERSON": "[name]",
    "EMAIL": "[email address]",
    "PHONE": "[phone number]",
    "POSTCODE": "[postcode]",
    "ADDRESS": "[address]",
    "PARTY": "[party]",
    "REFERENCE": "[reference]",
    "URL": "[web address]",
    "HANDLE": "[social media handle]",
}
TITLES = frozenset(
    [
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "dr",
        "prof",
        "professor",
        "sir",
        "dame",
        "lord",
        "lady",
        "cllr",
        "councillor",
        "rev",
        "revd",
        "reverend",
        "father",
        "canon",
        "baroness",
        "baron",
    ]
)
# words of organisations' display names: never redacted as a part of a person's name
INSTITUTIONAL = frozenset(
    [
        "the",
        "and",
        "of",
        "for",
        "to",
        "a",
        "an",
        "in",
        "on",
        "at",
        "by",
        "with",
        "from",
        "police",
        "crime",
        "commissioner",
        "commissioners",
        "office",
        "offices",
        "council",
        "county",
        "borough",
        "city",
        "town",
        "district",
        "parish",
        "team",
        "party",
        "election",
        "elections",
        "news",
        "press",
        "media",
        "ltd",
        "limited",
        "group",
        "association",
        "chief",
        "constable",
        "executive",
        "pcc",
        "opcc",
        "uk",
        "service",
        "services",
        "department",
        "unit",
        "panel",
        "committee",
        "campaign",
        "independent",
        "national",
        "union",
        "trust",
        "fund",
        "foundation",
        "society",
        "club",
        "centre",
        "center",
        "university",
        "college",
        "school",
        "community",
        "communities",
        "north",
        "south",
        "east",
        "west",
        "northern",
        "southern",
        "eastern",
        "western",
        "new",
        "info",
        "admin",
        "contact",
        "enquiries",
        "hello",
        "mail",
        "noreply",
        "no",
        "reply",
        "vote",
        "support",
        "help",
        "desk",
        "secretary",
        "manager",
        "officer",
        "agent",
        "candidate",
        "member",
        "mp",
    ]
)
_NAME_PART = re.compile(r"^[^\W\d_][^\W\d_'’.-]*(?:['’-][^\W\d_]+)*\.?$")
STREET_TYPES = (
    "Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Close|Cl|Drive|Dr|Way|Crescent|Cres|Place|Pl|Court|Ct"
    "|Gardens|Gdns|Grove|Gr|Terrace|Tce|Hill|Park|Walk|Square|Sq|Row|Mews|Green|Rise|View"
    "|Parade|Boulevard|Gate|End|Fields|Meadow|Meadows|Wharf|Yard|Vale|Chase|Approach|Croft"
    "|Wynd|Circus|Embankment|Passage|Hollow|Bank|Heights"
)
_CAP = r"[A-Z][A-Za-z'’-]+"
POSTCODE = r"(?:GIR ?0AA|[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]? ?\d[ABD-HJLNP-UW-Z]{2})"
_RE_POSTCODE = re.compile(rf"(?<![A-Za-z0-9]){POSTCODE}(?![A-Za-z0-9])", re.IGNORECASE)
_RE_STREET = re.compile(
    rf"(?:\b(?:Flat|Apartment|Apt|Unit|Suite)\s+\d+[A-Za-z]?,?\s+)?"
    rf"\b\d{{1,4}}[A-Za-z]?(?:-\d{{1,4}})?,?\s+(?:{_CAP}\s+){{1,3}}(?:{STREET_TYPES})\b\.?"
)
# after a street: ", Town" (at most three), then perhaps a postcode, on the same line
_RE_STREET_TAIL = re.compile(
    rf"(?:,?[ \t]+|,[ \t]*)(?!(?:and|or|but|which|who|where|when|the)\b)"
    rf"(?:{_CAP}(?:[ \t]+{_CAP}){{0,2}})"
)
_RE_TAIL_POSTCODE = re.compile(rf",?[ \t]*{POSTCODE}(?![A-Za-z0-9])", re.IGNORECASE)
_RE_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_RE_URL = re.compile(
    r"\b(?:https?://|www\.)[^\s<>\"']+"
    r"|\b(?:[a-z0-9-]+\.)+(?:co\.uk|org\.uk|com|org|net|uk|info|eu|io)\b(?:/[^\s<>\"']*)?"
)
_RE_HANDLE = re.compile(r"(?<![\w@.])@[A-Za-z0-9_]{2,30}\b")
_RE_PHONE = re.compile(
    r"(?<![\w+/])(?:(?:\+|00)44[\s-]?(?:\(0\)[\s-]?)?\(?|\(?0)\d{2,5}\)?(?:[\s-]?\d{2,4}){1,3}"
    r"(?![\w/])"
)
_RE_REFERENCES = (
    re.compile(r"\b[A-Z]{1,4}/\d{3,8}/\d{2,4}\b"),  # CR/012345/24, CO/123/24
    re.compile(r"\b\d{1,3}/\d{4,8}/\d{2}(?:\d{2})?\b"),  # 42/123456/24 (force/number/year)
    re.compile(r"\b[A-Z]{2,6}-20\d{2}-\d{4,}\b"),  # our own case references, any prefix
    re.compile(r"(?<=\s)\d{2,6}\s+of\s+\d{1,2}/\d{1,2}/\d{2,4}\b"),  # incident 123 of 1/4/27
    re.compile(r"\b[A-Z]{2}\d{2}\s?[A-Z]{3}\b"),  # vehicle registration (current format)
    re.compile(r"\b[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b"),  # National Insurance number
)
_RE_KEYWORD_REFERENCE = re.compile(
    r"(?i:\b(?:crime|incident|occurrence|log|complaint|urn|cad|case|our|your|my)"
    r"\s+(?:reference|ref\.?|number|no\.?|#)?\s*(?:is\s+|was\s+)?[:#]?\s*)"
    r"(?=[A-Za-z0-9/-]*\d)([A-Za-z0-9][A-Za-z0-9/-]{4,}[A-Za-z0-9])"
)
_RE_INDEPENDENT = re.compile(
    r"(?i:\b(independent)\b(?=\s+(?:candidate|pcc|police and crime commissioner)\b|\)))"
    r"|(?i:\bas\s+an?\s+(independent)\b(?!\s+(?:review|office|inquiry|investigation|panel"
    r"|custody|advisory|body|member|audit|person|assessment|evaluation|scrutiny|chair)))"
)
_RE_SELF_NAMED = re.compile(
    r"(?:\b[Mm]y name is|\bI am|\bI'm|\bThis is)\s+((?:[A-Z][a-z'’-]+[ \t]+){0,2}[A-Z][a-z'’-]+)"
    r"(?=\s*(?:[,.;:]|\band\b|$))",
    re.MULTILINE,
)
_RE_ADDRESS_LINE = re.compile(r"^[A-Za-z0-9][\w'’.,&/ -]{1,60}$")
_GENERIC_LOCAL_PARTS = INSTITUTIONAL


@dataclass(frozen=True)
class Redaction:
    """One identifier found: ``text[start:end]``, of kind ``label``."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Lexicon:
    """What the office knows: names, parties and postal addresses to redact everywhere."""

    names: tuple[str, ...] = ()
    parties: tuple[str, ...] = ()
    addresses: tuple[str, ...] = ()
    public_domains: tuple[str, ...] = ()
    # words never redacted as part of a name: the office's own (its area's name, say), which
    # would otherwise be taken from a display name such as "Testshire Gazette Newsdesk"
    keep_words: tuple[str, ...] = ()


# --------------------------------------------------------------------------- names


def name_parts(name: str, keep: frozenset[str] = frozenset()) -> list[str]:
    """``"Dr Ann-Marie O'Brien (Green)"`` -> ``["Ann-Marie", "Ann", "Marie", "O'Brien"]``.

    Titles, initials, brackets and institutional words are dropped, so an organisation's
    display name ("Testshire Police Press Office") does not make "Police" a name.
    """
    name = re.sub(r"\([^)]*\)|<[^>]*>|\S+@\S+", " ", name)
    name = name.split(",")[0] if name.count(",") == 1 and len(name.split(",")[1]) > 12 else name
    parts: list[str] = []
    for word in re.split(r"[\s,]+", name):
        word = word.strip(".\"'")
        if not _NAME_PART.match(word) or word.casefold() in TITLES:
            continue
        for piece in [word, *(word.split("-") if "-" in word else [])]:
            folded = piece.casefold()
            if len(piece) >= 2 and folded not in INSTITUTIONAL and folded not in keep:
                parts.append(piece)
    return list(dict.fromkeys(parts))


def _cased(value: str) -> list[str]:
    """The spellings a name is matched in: as written, Title Case, UPPER CASE, and lower case
    for a name of two words or more (one word in lower case is too often an ordinary word)."""
    variants = [value, value.title() if value.islower() or value.isupper() else value]
    variants.append(value.upper())
    if " " in value.strip():
        variants.append(value.lower())
    return list(dict.fromkeys(variants))


def full_names(names: Iterable[str]) -> list[str]:
    """Each name cleaned of brackets and addresses, without titles: the phrase to match."""
    found = []
    for name in names:
        cleaned = " ".join(re.sub(r"\([^)]*\)|<[^>]*>|\S+@\S+|\"", " ", name).split())
        words = [w for w in cleaned.split() if w.casefold().strip(".") not in TITLES]
        phrase = " ".join(words).strip(" ,")
        if len(phrase) >= 2 and not any(ch.isdigit() for ch in phrase):
            found.append(phrase)
    return found


def names_from_email(address: str) -> list[str]:
    """``ann.smith-jones@x`` -> ``["Ann", "Smith", "Jones"]``; generic boxes give nothing."""
    local = address.split("@", 1)[0]
    words = [w for w in re.split(r"[._+\-\d]+", local) if len(w) >= 3 and w.isalpha()]
    return [w.title() for w in words if w.casefold() not in _GENERIC_LOCAL_PARTS]


def signature_names(text: str) -> list[str]:
    """Names the sender signs with, and names they give themselves ("My name is ...")."""
    lines = text.replace("\r\n", "\n").split("\n")
    zones = body_zones(lines)
    found: list[str] = []
    after_sign_off = False
    taken = 0
    for line, zone in zip(lines, zones, strict=True):
        stripped = line.strip()
        if zone is Zone.SIGNATURE and SIGN_OFF.match(stripped):
            after_sign_off, taken = True, 0
            continue
        if not after_sign_off or not stripped or taken >= 1:
            continue
        taken += 1
        head = re.split(r"[,|(–—-]\s", stripped)[0].strip(" ,")
        words = head.split()
        if 1 <= len(words) <= 4 and all(_NAME_PART.match(w) and w[0].isupper() for w in words):
            found.append(head)
    found += [m.group(1) for m in _RE_SELF_NAMED.finditer(text)]
    return found


def sender_names(mail: ParsedMail) -> list[str]:
    """The requester's (and any forwarder's) names from headers, address and signature."""
    names: list[str] = []
    people = [mail.sender, mail.requester, *mail.reply_to]
    for person in people:
        if person is None:
            continue
        if person.name:
            names.append(person.name)
        names += names_from_email(person.email)
    names += signature_names(mail.request_text)
    return list(dict.fromkeys(n for n in names if n.strip()))


# --------------------------------------------------------------------------- pipeline


def _token_pattern(nlp: Language, phrase: str, attr: str) -> list[dict[str, Any]]:
    key = "LOWER" if attr == "LOWER" else "ORTH"
    return [{key: t.lower_ if key == "LOWER" else t.text} for t in nlp.make_doc(phrase)]


def name_variants(names: Iterable[str], keep: frozenset[str] = frozenset()) -> list[str]:
    """Every spelling to redact for these names: in full and by parts, in each casing."""
    phrases = full_names(names)
    wanted = phrases + [part for phrase in phrases for part in name_parts(phrase, keep)]
    return list(dict.fromkeys(v for phrase in wanted for v in _cased(phrase)))


def _name_patterns(lexicon: Lexicon) -> list[dict[str, Any]]:
    keep = frozenset(w.casefold() for w in lexicon.keep_words)
    return [{"label": "PERSON", "pattern": v} for v in name_variants(lexicon.names, keep)]


def _party_patterns(nlp: Language, parties: Iterable[str]) -> list[dict[str, Any]]:
    """Multi-word party names in any case; one-word names with their capital only."""
    patterns: list[dict[str, Any]] = []
    for party in dict.fromkeys(p.strip() for p in parties if p.strip()):
        if len(nlp.make_doc(party)) > 1:
            patterns.append({"label": "PARTY", "pattern": _token_pattern(nlp, party, "LOWER")})
        else:
            for variant in _cased(party):
                patterns.append({"label": "PARTY", "pattern": variant})
    return patterns


def _rule_patterns() -> list[dict[str, Any]]:
    cap = {"TEXT": {"REGEX": r"^[A-Z][A-Za-z'’-]*\.?$"}}
    not_article = {
        "TEXT": {"REGEX": r"^[A-Z][A-Za-z'’-]+$"},
        "LOWER": {"NOT_IN": ["the", "a", "an", "our", "your", "this", "that", "any", "every"]},
    }
    title = {"LOWER": {"IN": sorted(TITLES | {f"{t}." for t in TITLES})}}
    dot = {"ORTH": ".", "OP": "?"}
    return [
        {"label": "PERSON", "pattern": [title, dot, cap]},
        {"label": "PERSON", "pattern": [title, dot, cap, cap]},
        {"label": "PERSON", "pattern": [title, dot, cap, cap, cap]},
        {"label": "PARTY", "pattern": [not_article, {"ORTH": "Party"}]},
        {"label": "PARTY", "pattern": [not_article, not_article, {"ORTH": "Party"}]},
        {"label": "PARTY", "pattern": [not_article, not_article, not_article, {"ORTH": "Party"}]},
    ]


@lru_cache(maxsize=8)
def _pipeline(lexicon: Lexicon) -> Language:
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler", config={"phrase_matcher_attr": "ORTH"})
    assert isinstance(ruler, EntityRuler)
    patterns = _rule_patterns()
    patterns += _party_patterns(nlp, lexicon.parties)
    patterns += _name_patterns(lexicon)
    ruler.add_patterns(patterns)
    return nlp


class Anonymiser:
    """Finds identifiers in a text and replaces them; one instance per lexicon (cached)."""

    def __init__(self, lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.nlp = _pipeline(lexicon)
        self._addresses = _address_patterns(lexicon.addresses)

    def find(self, text: str, extra_names: Sequence[str] = ()) -> list[Redaction]:
        """Every identifier in ``text``, merged into non-overlapping spans in text order.

        ``extra_names`` are the sender's names from the headers; the names the text signs
        with, gives itself ("My name is ...") or spells in an email address are added.
        """
        found = _pattern_spans(text, self.lexicon.public_domains)
        found += [
            Redaction(m.start(), m.end(), "ADDRESS")
            for p in self._addresses
            for m in p.finditer(text)
        ]
        names = [*extra_names, *signature_names(text)]
        addresses = [m.group() for v in (text, *extra_names) for m in _RE_EMAIL.finditer(v)]
        names += [n for address in addresses for n in names_from_email(address)]
        keep = frozenset(w.casefold() for w in self.lexicon.keep_words)
        variants = name_variants(names, keep)
        with bounded_memory(self.nlp):  # once warm, the cached pipeline keeps no words of it
            doc = self.nlp(text)
            found += [Redaction(e.start_char, e.end_char, e.label_) for e in doc.ents]
            if variants:
                matcher = PhraseMatcher(self.nlp.vocab, attr="ORTH")
                matcher.add("PERSON", [self.nlp.make_doc(v) for v in variants])
                found += [
                    Redaction(doc[s:e].start_char, doc[s:e].end_char, "PERSON")
                    for _, s, e in matcher(doc)
                ]
        return merge(text, [_with_title(text, span) for span in found])

    def redact(self, text: str, extra_names: Sequence[str] = ()) -> str:
        return apply_redactions(text, self.find(text, extra_names))


def _address_patterns(addresses: Iterable[str]) -> list[re.Pattern[str]]:
    """Each postal address by its comma- or line-separated parts, in any spacing or case."""
    parts: set[str] = set()
    for address in addresses:
        for part in re.split(r"[,\n;]+", address):
            words = part.split()
            if words and len(" ".join(words)) >= 4:
                parts.add(r"[ \t]+".join(re.escape(w) for w in words))
    return [
        re.compile(rf"(?<!\w){p}(?!\w)", re.IGNORECASE)
        for p in sorted(parts, key=len, reverse=True)
    ]


def _pattern_spans(text: str, public_domains: Sequence[str]) -> list[Redaction]:
    found: list[Redaction] = []
    found += [Redaction(m.start(), m.end(), "EMAIL") for m in _RE_EMAIL.finditer(text)]
    found += _urls(text, public_domains)
    found += [Redaction(m.start(), m.end(), "HANDLE") for m in _RE_HANDLE.finditer(text)]
    found += [
        Redaction(m.start(), m.end(), "PHONE")
        for m in _RE_PHONE.finditer(text)
        if _is_phone(m.group())
    ]
    found += [Redaction(m.start(), m.end(), "POSTCODE") for m in _RE_POSTCODE.finditer(text)]
    found += _streets(text)
    found += _address_blocks(text)
    for pattern in _RE_REFERENCES:
        found += [Redaction(m.start(), m.end(), "REFERENCE") for m in pattern.finditer(text)]
    found += [
        Redaction(m.start(1), m.end(1), "REFERENCE") for m in _RE_KEYWORD_REFERENCE.finditer(text)
    ]
    for m in _RE_INDEPENDENT.finditer(text):
        group = 1 if m.group(1) else 2
        found.append(Redaction(m.start(group), m.end(group), "PARTY"))
    return found


def _is_phone(candidate: str) -> bool:
    """9 or 10 digits after the 0 or +44: UK numbers; anything else is not one."""
    digits = re.sub(r"\D", "", candidate)
    if digits.startswith("0044"):
        digits = digits[4:]
    elif digits.startswith("44") and candidate.lstrip().startswith("+"):
        digits = digits[2:]
    digits = digits.removeprefix("0")
    return 9 <= len(digits) <= 10


def _urls(text: str, public_domains: Sequence[str]) -> list[Redaction]:
    found = []
    for m in _RE_URL.finditer(text):
        value = m.group().rstrip(".,;:!?)]")
        if "@" in text[max(0, m.start() - 1) : m.start()]:
            continue  # the domain of an email address: the email span covers it
        host = urlsplit(value if "://" in value else f"//{value}").hostname or ""
        if any(host == d or host.endswith("." + d) for d in public_domains):
            continue
        found.append(Redaction(m.start(), m.start() + len(value), "URL"))
    return found


def _streets(text: str) -> list[Redaction]:
    """A numbered street, extended over the town(s) and postcode that follow on its line."""
    found = []
    for m in _RE_STREET.finditer(text):
        end = m.end()
        for _ in range(3):
            tail = _RE_STREET_TAIL.match(text, end)
            if tail is None or _RE_POSTCODE.fullmatch(tail.group().strip(" ,\t")):
                break
            end = tail.end()
        postcode = _RE_TAIL_POSTCODE.match(text, end)
        if postcode is not None:
            end = postcode.end()
        found.append(Redaction(m.start(), end, "ADDRESS"))
    return found


def _address_blocks(text: str) -> list[Redaction]:
    """The lines of a postal address above (and on) a line that holds a postcode."""
    found = []
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    for i, line in enumerate(lines):
        postcode = _RE_POSTCODE.search(line)
        if postcode is None or not _RE_ADDRESS_LINE.match(line.strip()):
            continue
        first = i
        while first > 0 and i - first < 4 and _is_address_line(lines[first - 1]):
            first -= 1
        before = line[: postcode.start()].strip(" ,")
        if first == i and not before:
            continue
        start = offsets[first] + len(lines[first]) - len(lines[first].lstrip())
        found.append(Redaction(start, offsets[i] + postcode.end(), "ADDRESS"))
    return found


def _is_address_line(line: str) -> bool:
    stripped = line.strip()
    if not stripped or not _RE_ADDRESS_LINE.match(stripped) or SIGN_OFF.match(stripped):
        return False
    words = stripped.replace(",", " ").split()
    if len(words) > 6 or stripped.endswith((".", ":", "?", "!")):
        return False
    return all(
        w[0].isupper() or w[0].isdigit() or w in ("and", "&", "of", "upon", "on") for w in words
    )


# --------------------------------------------------------------------------- output


_RE_TITLE_BEFORE = re.compile(rf"(?i:\b(?:{'|'.join(sorted(TITLES))})\.?[ \t]+)$")


def _with_title(text: str, span: Redaction) -> Redaction:
    """A name's span starts at its title: "Mr O'Rourke-Hale" is one name, not "Mr [name]"."""
    if span.label != "PERSON":
        return span
    title = _RE_TITLE_BEFORE.search(text, max(0, span.start - 16), span.start)
    return Redaction(title.start(), span.end, span.label) if title else span


def merge(text: str, spans: Iterable[Redaction]) -> list[Redaction]:
    """Overlapping spans become one (the longest one's label); an address swallows an
    adjacent postcode, and same-label spans separated only by spaces join up."""
    ordered = sorted((s for s in spans if s.end > s.start), key=lambda s: (s.start, -s.end))
    merged: list[Redaction] = []
    for span in ordered:
        if merged:
            last = merged[-1]
            gap = text[last.end : span.start]
            overlapping = span.start < last.end
            joinable = not overlapping and _joinable(last, span, gap)
            if overlapping or joinable:
                longer = last if (last.end - last.start) >= (span.end - span.start) else span
                label = "ADDRESS" if "ADDRESS" in (last.label, span.label) else longer.label
                merged[-1] = Redaction(last.start, max(last.end, span.end), label)
                continue
        merged.append(span)
    return merged


def _joinable(a: Redaction, b: Redaction, gap: str) -> bool:
    if a.label == b.label and gap.strip() == "" and "\n" not in gap:
        return True
    labels = {a.label, b.label}
    return labels <= {"ADDRESS", "POSTCODE"} and "ADDRESS" in labels and gap.strip(" ,\t") == ""


def apply_redactions(text: str, spans: Sequence[Redaction]) -> str:
    out, at = [], 0
    for span in sorted(spans, key=lambda s: s.start):
        out.append(text[at : span.start])
        out.append(PLACEHOLDERS.get(span.label, "[redacted]"))
        at = max(at, span.end)
    out.append(text[at:])
    return "".join(out)


# --------------------------------------------------------------------------- corpus


@dataclass(frozen=True)
class CorpusText:
    """A text of the test corpus with the exact strings that must be redacted."""

    id: str
    text: str
    redact: tuple[str, ...]
    sender_names: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()


@dataclass
class Score:
    """Recall over the expected spans; over-redaction over the characters redacted."""

    texts: int = 0
    expected: int = 0
    caught: int = 0
    redacted_chars: int = 0
    over_chars: int = 0
    spans: int = 0
    false_spans: int = 0
    missed: list[str] = field(default_factory=list)
    false_positives: list[str] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.caught / self.expected if self.expected else 1.0

    @property
    def over_redaction(self) -> float:
        """Share of redacted (non-space) characters that were not meant to be redacted."""
        return self.over_chars / self.redacted_chars if self.redacted_chars else 0.0


def load_corpus(folder: Path) -> tuple[Lexicon, list[CorpusText]]:
    """Every ``*.json`` in ``folder``: ``{"lexicon": {...}, "texts": [...]}``, merged."""
    names: list[str] = []
    parties: list[str] = []
    addresses: list[str] = []
    domains: list[str] = []
    texts: list[CorpusText] = []
    for path in sorted(folder.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        lex = data.get("lexicon", {})
        names += lex.get("names", [])
        parties += lex.get("parties", [])
        addresses += lex.get("addresses", [])
        domains += lex.get("public_domains", [])
        for item in data["texts"]:
            texts.append(
                CorpusText(
                    id=f"{path.stem}/{item['id']}",
                    text=item["text"],
                    redact=tuple(item["redact"]),
                    sender_names=tuple(item.get("sender_names", [])),
                    kinds=tuple(item.get("kinds", [])),
                )
            )
    lexicon = Lexicon(
        names=tuple(dict.fromkeys(names)),
        parties=tuple(dict.fromkeys(parties)),
        addresses=tuple(dict.fromkeys(addresses)),
        public_domains=tuple(dict.fromkeys(domains)),
    )
    return lexicon, texts


def expected_spans(item: CorpusText) -> list[tuple[int, int]]:
    """Every occurrence of every string listed in ``redact``."""
    spans = []
    for value in item.redact:
        start = item.text.find(value)
        if start < 0:
            raise ValueError(f"{item.id}: {value!r} is not in the text")
        while start >= 0:
            spans.append((start, start + len(value)))
            start = item.text.find(value, start + 1)
    return spans


def score_corpus(anonymiser: Anonymiser, texts: Iterable[CorpusText]) -> Score:
    score = Score()
    for item in texts:
        score.texts += 1
        found = anonymiser.find(item.text, item.sender_names)
        covered: set[int] = set()
        for span in found:
            covered.update(range(span.start, span.end))
        wanted: set[int] = set()
        for start, end in expected_spans(item):
            wanted.update(range(start, end))
            score.expected += 1
            if all(i in covered or item.text[i].isspace() for i in range(start, end)):
                score.caught += 1
            else:
                score.missed.append(f"{item.id}: {item.text[start:end]!r}")
        for span in found:
            score.spans += 1
            chars = [i for i in range(span.start, span.end) if not item.text[i].isspace()]
            outside = [i for i in chars if i not in wanted]
            score.redacted_chars += len(chars)
            score.over_chars += len(outside)
            if len(outside) == len(chars):
                score.false_spans += 1
                score.false_positives.append(
                    f"{item.id}: {span.label} {item.text[span.start : span.end]!r}"
                )
    return score
