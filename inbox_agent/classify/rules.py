"""Rule-based text classification: which human category a message belongs to, and why.

The rules are a table (``vocabulary.py``); this module applies them honestly:

1. The subject and body become one spaCy doc (``spacy.blank("en")``: a tokeniser only, built
   once). Each line gets a *zone*: subject, body, quoted thread, signature or disclaimer.
   Zones weigh evidence: the subject counts most, a disclaimer not at all, so "this email may
   be disclosed under the Freedom of Information Act" in a footer makes nothing an FOI request.
2. A PhraseMatcher finds every term; a token that is a one-letter slip of a vocabulary word
   ("nominaton") matches as that word. Regexes add amounts and reference numbers. Sentences
   are split on punctuation, paragraphs and zone changes.
3. Each rule scores its best sentence holding all its terms (plus a little for the next best).
   Negation cues ("this is not an FOI request") cancel a hit; incidental cues ("now that
   nominations have closed", "figures obtained under FOI") discount it; ``unless`` terms veto.
4. The first category in precedence order whose score reaches ``THRESHOLD`` wins; electoral
   process also needs a hit in the subject or in a sentence that asks, because a wrong PARO
   forward sends personal data to a third party. With no winner: a question is an information
   request, anything else is out of scope, both with low confidence so staff review them.

``rule_evidence`` also returns each category's summed evidence, which ``fusion.py`` weighs
against the trained textcat's scores.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import cache
from itertools import islice

import spacy
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from inbox_agent.classify import Category, Classification
from inbox_agent.classify.text import Zone, body_zones, separate_clitics
from inbox_agent.classify.vocabulary import CUE_TERMS, EXACT_WORDS, REGEXES, RULES, TERMS, Rule
from inbox_agent.spacy_memory import bounded_memory

VERSION = "rules-2"  # 2: Welsh clitics apart, mutated Welsh phrases, job phrases
THRESHOLD = 2.0
# What is asked comes first; beyond this a body is a long thread or a converted attachment.
MAX_CHARS = 20_000
# How many tokens may stand between a cue and the hit it qualifies (before, after); "as the
# Labour candidate's election agent" puts the identity cue further off than "now that" does.
CUE_WINDOW = {
    "cue_negation": (2, -1),
    "cue_incidental": (2, -1),
    "cue_identity": (4, -1),
    "cue_company": (-1, 1),
}
# A question word asks when it starts within this many words of its sentence.
QUESTION_OPENING = {"cue_question": 3, "cue_aux": 1}
INCIDENTAL_FACTOR = 0.25
UNGUARDED_FACTOR = 0.75
SECOND_SENTENCE = 0.25  # share of a rule's second-best sentence added to its best
PRECEDENCE: tuple[Category, ...] = tuple(c for c in Category if c is not Category.AUTOMATED)
ASK_GUARDED = frozenset({Category.ELECTORAL_PROCESS})
# Information-request topics (budgets, figures) run through FOI and subject access requests
# and press questions alike, so they are no rival to those; they are to the rest.
ASKS_FOR_INFORMATION = frozenset(
    {Category.SUBJECT_ACCESS_REQUEST, Category.FOI_REQUEST, Category.MEDIA_ENQUIRY}
)
SHORT = {
    Category.SUBJECT_ACCESS_REQUEST: "sar",
    Category.FOI_REQUEST: "foi",
    Category.ELECTORAL_PROCESS: "electoral",
    Category.MEETING_REQUEST: "meeting",
    Category.CONDUCT_CONCERN: "conduct",
    Category.MEDIA_ENQUIRY: "media",
    Category.INFORMATION_REQUEST: "information",
    Category.OUT_OF_SCOPE: "out_of_scope",
}


# Quoted history and signatures never decide the category: the new text does (a reply's
# subject is quoted too, ``text.classify_subject``). They are still read, so that a quoted
# phrase can no longer borrow the weight of the sender's own words.
ZONE_WEIGHT = {
    Zone.SUBJECT: 1.5,
    Zone.BODY: 1.0,
    Zone.QUOTED: 0.0,
    Zone.SIGNATURE: 0.0,
    Zone.DISCLAIMER: 0.0,
}


@dataclass(frozen=True)
class Hit:
    term: str
    start: int  # token index
    end: int


@dataclass(frozen=True)
class Sentence:
    zone: Zone
    asks: bool
    hits: tuple[Hit, ...]
    cues: tuple[Hit, ...]
    context: tuple[Hit, ...] = ()  # terms seen by ``unless`` only: the body, for a subject
    terms: frozenset[str] = frozenset()  # the terms of ``hits``, to skip rules at once


@dataclass(frozen=True)
class Evidence:
    """One rule that fired: how much it adds to its category, and how to explain it."""

    category: Category
    weight: float
    label: str
    asked: bool  # found in the subject or in a sentence that asks: passes the ask guard


def classify_text(subject: str, text: str) -> Classification:
    """Classify a message's subject and request text into one of the human categories."""
    return rule_evidence(subject, text)[0]


def rule_evidence(subject: str, text: str) -> tuple[Classification, dict[Category, float]]:
    """The rules' classification and each category's summed evidence (``THRESHOLD`` = fired)."""
    with bounded_memory(_pipeline().nlp):  # built before the zone; the doc never leaves it
        doc, zones = read_message(subject, text)
        sentences = split_sentences(doc, zones, find_hits(doc, zones))
        present = frozenset().union(*(s.terms for s in sentences))
        evidence = [
            e
            for rule in RULES
            if present.issuperset(rule.terms)
            and (e := score_rule(rule, sentences, doc)) is not None
        ]
    scores: dict[Category, float] = defaultdict(float)
    for e in evidence:
        scores[e.category] += e.weight
    return choose_category(evidence, asks_anything(sentences)), dict(scores)


# --- reading: one doc, a zone per token -----------------------------------------------------


def read_message(subject: str, text: str) -> tuple[Doc, list[Zone]]:
    """Tokenise subject and body together and give each token the zone of its line."""
    subject = " ".join(subject.split())[:1000]
    body = text[:MAX_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    combined = separate_clitics(subject + "\n\n" + body)
    lines = combined.split("\n")
    line_zones = [Zone.SUBJECT, *body_zones(lines[1:])]
    starts = [0]
    for line in lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    pipeline = _pipeline()
    doc = pipeline.nlp.make_doc(combined)
    zones: list[Zone] = []
    for token in doc:  # one pass: spaCy builds a Token object per step
        token.norm_ = pipeline.typos.get(token.lower_, token.lower_)  # as _normalise does
        zones.append(line_zones[bisect.bisect_right(starts, token.idx) - 1])
    return doc, zones


# --- matching -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pipeline:
    nlp: spacy.language.Language
    matcher: PhraseMatcher
    typos: dict[str, str]  # a slip of a vocabulary word -> that word


@cache
def _pipeline() -> _Pipeline:
    """Build the tokeniser, the typo table and the matcher once, on first use.

    A PhraseMatcher on NORM is a hash lookup per token, so it stays fast with a large
    vocabulary; typos are handled by setting a misspelt token's NORM to the word it slips from.
    """
    nlp = spacy.blank("en")
    matcher = PhraseMatcher(nlp.vocab, attr="NORM")
    for term, phrases in TERMS.items():
        docs = [doc for phrase in phrases for doc in _spellings(nlp, phrase)]
        matcher.add(term, [_normalise(doc, {}) for doc in docs])
    return _Pipeline(nlp, matcher, _typo_table(nlp))


def _spellings(nlp: spacy.language.Language, phrase: str) -> list[Doc]:
    """The phrase tokenised as it may be typed: the tokeniser's exceptions depend on case
    ("id" splits like "I'd", "ID" does not), so each casing that splits differently counts."""
    seen: dict[tuple[str, ...], Doc] = {}
    for spelling in (phrase, phrase.upper(), phrase.title()):
        doc = nlp.make_doc(separate_clitics(spelling))
        seen.setdefault(tuple(t.lower_ for t in doc), doc)
    return list(seen.values())


def _normalise(doc: Doc, typos: dict[str, str]) -> Doc:
    """NORM is the lower-case word, or the vocabulary word it is a slip of."""
    for token in doc:
        token.norm_ = typos.get(token.lower_, token.lower_)
    return doc


def _typo_table(nlp: spacy.language.Language) -> dict[str, str]:
    """Slips of the signal words (six letters or more, not in EXACT_WORDS). A slip that is
    itself a vocabulary word, or could be a slip of two words, is left alone."""
    known = {t.lower_ for phrases in TERMS.values() for p in phrases for t in nlp.make_doc(p)}
    signal_words = {
        t.lower_
        for term, phrases in TERMS.items()
        if term not in CUE_TERMS
        for p in phrases
        for t in nlp.make_doc(p)
        if t.is_alpha and len(t.lower_) >= 6 and t.lower_ not in EXACT_WORDS
    }
    sources: dict[str, set[str]] = defaultdict(set)
    for word in signal_words:
        for slip in typo_variants(word) - {word}:
            sources[slip].add(word)
    return {
        slip: words.pop()
        for slip, words in sources.items()
        if len(words) == 1 and slip not in known
    }


def typo_variants(word: str) -> set[str]:
    """The word with one letter dropped, doubled or swapped with its neighbour.

    These are the slips of fast typing ("nominaton", "journalsit", "stollen"). spaCy's FUZZY
    operators also allow substitutions, which turn "spending" into "speeding" and
    "campaigned" into "campaign"; this narrower set keeps the rest of the vocabulary apart.
    """
    dropped = {word[:i] + word[i + 1 :] for i in range(len(word))}
    doubled = {word[:i] + word[i] + word[i:] for i in range(len(word))}
    swapped = {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(len(word) - 1)}
    return {word} | dropped | doubled | swapped


@cache
def _regexes() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((term, re.compile(rx)) for term, rxs in REGEXES.items() for rx in rxs)


def find_hits(doc: Doc, zones: list[Zone]) -> list[Hit]:
    """Every term occurrence outside disclaimers; a phrase inside a longer one yields to it."""
    vocab = doc.vocab.strings
    matches = _pipeline().matcher(doc)
    hits = {Hit(vocab[match_id], start, end) for match_id, start, end in matches}
    text = doc.text  # built afresh on each access: once per message, not once per regex
    for term, regex in _regexes():
        for m in regex.finditer(text):
            span = doc.char_span(m.start(), m.end(), alignment_mode="expand")
            if span is not None:
                hits.add(Hit(term, span.start, span.end))
    hits = {h for h in hits if zones[h.start] is not Zone.DISCLAIMER}
    return _drop_contained(hits)


def _drop_contained(hits: set[Hit]) -> list[Hit]:
    """A phrase inside a longer one of another category yields to it ("briefing pack" is an
    information request, not a briefing); within a category both count ("facebook page" is
    campaign material and "facebook" social media). Cues only yield to a longer cue of the
    same kind: "how many" is a statistics cue and still opens a question."""
    by_start: dict[int, list[Hit]] = defaultdict(list)
    for hit in hits:
        by_start[hit.start].append(hit)
    longest = max((h.end - h.start for h in hits), default=0)
    kept = [
        hit
        for hit in hits
        if not any(
            _swallows(other, hit)
            for start in range(hit.start - longest, hit.start + 1)
            for other in by_start.get(start, ())
        )
    ]
    return sorted(kept, key=lambda h: (h.start, h.end, h.term))


def _swallows(longer: Hit, hit: Hit) -> bool:
    inside = longer.start <= hit.start and hit.end <= longer.end
    if not inside or longer.end - longer.start == hit.end - hit.start:
        return False
    if longer.term in CUE_TERMS or hit.term in CUE_TERMS:
        return longer.term == hit.term
    return longer.term == hit.term or _family(longer.term) != _family(hit.term)


def _family(term: str) -> str:
    """The category a term belongs to, by its prefix: "el_deposit" -> "el"."""
    return term.split("_", 1)[0]


# --- sentences ----------------------------------------------------------------------------------


def split_sentences(doc: Doc, zones: list[Zone], hits: list[Hit]) -> list[Sentence]:
    """Sentences end at . ! ? and blank lines, and never cross a zone boundary."""
    sentence_of: list[int] = []
    questions: set[int] = set()
    current, ended = 0, False
    for i, token in enumerate(doc):
        text, space = token.text, token.is_space
        if i and (ended or zones[i] is not zones[i - 1]) and not space:
            current, ended = current + 1, False
        if text in {".", "!", "?"} or (space and "\n\n" in text):
            ended = True
        if text == "?":
            questions.add(current)
        sentence_of.append(current)
    grouped: dict[int, list[Hit]] = defaultdict(list)
    for hit in hits:
        grouped[sentence_of[hit.start]].append(hit)
    first_token: dict[int, int] = {}
    for i, s in enumerate(sentence_of):
        first_token.setdefault(s, i)
    sentences = [
        _sentence(zones[i], s in questions or _opens_question(doc, i, grouped[s]), grouped[s])
        for s, i in first_token.items()
    ]
    return _read_subject_with_body(sentences)


def _opens_question(doc: Doc, first: int, hits: list[Hit]) -> bool:
    """A question word near the start ("Hi, where do I...") asks, even without a "?"."""
    opening = max(QUESTION_OPENING.values())
    words = list(islice((t.i for t in doc[first:] if not (t.is_space or t.is_punct)), opening))
    return any(h.start in words[: QUESTION_OPENING.get(h.term, 0)] for h in hits)


def _sentence(zone: Zone, question: bool, hits: list[Hit]) -> Sentence:
    """Whether a sentence asks. "Please find attached" sends rather than asks, and signatures
    never ask: "Please consider the environment" is not a request."""
    signals = tuple(h for h in hits if h.term not in CUE_TERMS)
    cues = tuple(h for h in hits if h.term in CUE_TERMS)
    enclosures = [c for c in cues if c.term == "cue_enclosure"]
    asks = question or any(
        c.term == "cue_ask" and not any(e.start <= c.start < e.end for e in enclosures)
        for c in cues
    )
    terms = frozenset(h.term for h in signals)
    return Sentence(zone, asks and zone is not Zone.SIGNATURE, signals, cues, terms=terms)


def asks_anything(sentences: list[Sentence]) -> bool:
    """Whether the sender's own words (not a quote or signature) ask for something."""
    return any(s.asks for s in sentences if s.zone in (Zone.SUBJECT, Zone.BODY))


def _read_subject_with_body(sentences: list[Sentence]) -> list[Sentence]:
    """A subject is a label for the body, so it is read in the body's context.

    It asks if the message asks anything ("Budget" over "Could you send me...?" asks; over
    "Please find attached..." it does not), and it carries the body's cues, so a rule's
    ``unless`` sees them ("Meeting" over "send me the minutes of the meeting" is no request).
    """
    asks = asks_anything(sentences)
    cues = tuple(c for s in sentences for c in s.cues)
    vetoes = tuple(h for s in sentences if s.zone is not Zone.SUBJECT for h in s.hits)
    return [
        replace(s, asks=s.asks or asks, context=s.context + cues + vetoes)
        if s.zone is Zone.SUBJECT
        else s
        for s in sentences
    ]


# --- scoring ------------------------------------------------------------------------------------


def score_rule(rule: Rule, sentences: list[Sentence], doc: Doc) -> Evidence | None:
    """The rule's best sentence, plus a little for its second best: a subject and body that
    agree count for more than either, but repeating a weak word does not make it strong."""
    found = sorted(
        (e for s in sentences if (e := _score_sentence(rule, s, doc)) is not None),
        key=lambda e: -e.weight,
    )
    if not found:
        return None
    extra = SECOND_SENTENCE * found[1].weight if len(found) > 1 else 0.0
    asked = any(e.asked for e in found)
    return Evidence(rule.category, found[0].weight + extra, found[0].label, asked)


def _score_sentence(rule: Rule, sentence: Sentence, doc: Doc) -> Evidence | None:
    """All terms present, none of ``unless``, weighted by zone and by nearby cues."""
    if not sentence.terms.issuperset(rule.terms):
        return None
    if rule.asked and not sentence.asks:
        return None
    if rule.category in ASK_GUARDED and sentence.zone is Zone.SIGNATURE:
        return None  # "Election agent for ..." under a name says who writes, not what is asked
    present = {h.term for h in (*sentence.hits, *sentence.cues, *sentence.context)}
    if any(t in present for t in rule.unless):
        return None
    found = [_best_hit(term, rule, sentence) for term in rule.terms]
    chosen = [f for f in found if f is not None]
    if len(chosen) < len(found):
        return None
    factor = min(factor for _, factor in chosen)
    weight = rule.weight * ZONE_WEIGHT[sentence.zone] * factor
    if weight <= 0:
        return None
    label = _label(rule, [hit for hit, _ in chosen], sentence, factor, doc)
    guard_ok = sentence.zone is Zone.SUBJECT or (sentence.asks and sentence.zone is Zone.BODY)
    return Evidence(rule.category, weight, label, guard_ok)


def _best_hit(term: str, rule: Rule, sentence: Sentence) -> tuple[Hit, float] | None:
    """The occurrence of ``term`` that counts most after negation and incidental cues."""
    scored = [(h, _cue_factor(h, rule, sentence)) for h in sentence.hits if h.term == term]
    return max(scored, key=lambda pair: pair[1], default=None)


def _cue_factor(hit: Hit, rule: Rule, sentence: Sentence) -> float:
    """0 after a negation cue, a quarter after a cue the rule is discounted by, else 1."""
    near = {c.term for c in sentence.cues if _qualifies(c, hit)}
    if "cue_negation" in near:
        return 0.0
    if near.intersection(rule.discounted_by):
        return INCIDENTAL_FACTOR
    return 1.0


def _qualifies(cue: Hit, hit: Hit) -> bool:
    before, after = CUE_WINDOW.get(cue.term, (-1, -1))
    return 0 <= hit.start - cue.end <= before or 0 <= cue.start - hit.end <= after


def _label(rule: Rule, hits: list[Hit], sentence: Sentence, factor: float, doc: Doc) -> str:
    quoted = " + ".join(f"'{' '.join(doc[h.start : h.end].text.lower().split())}'" for h in hits)
    notes = [] if sentence.zone is Zone.BODY else [sentence.zone.value]
    if factor < 1:
        notes.append("incidental")
    suffix = f" [{', '.join(notes)}]" if notes else ""
    return f"{SHORT[rule.category]}: {quoted}{suffix}"


# --- deciding -----------------------------------------------------------------------------------


def choose_category(evidence: list[Evidence], asks: bool) -> Classification:
    """First category in precedence order that applies; otherwise the question/statement rule.

    A guarded category mentioned only in background sentences may still win when the message
    asks something and nothing else applies ("X is telling lies about me. Who do I tell?"),
    but with reduced confidence, so staff review it before anything goes to the PARO.
    """
    scores: dict[Category, float] = defaultdict(float)
    for e in evidence:
        scores[e.category] += e.weight
    category = _first_applying(scores, evidence, guarded=True)
    unguarded = category is None and asks
    if unguarded:
        category = _first_applying(scores, evidence, guarded=False)
    if category is not None:
        rivals = [s for c, s in scores.items() if c is not category and not _subsumed(c, category)]
        confidence = _confidence(scores[category], max(rivals, default=0.0))
        decision = f"chose {category.value}: first to reach {THRESHOLD:g} in precedence"
        if unguarded:
            confidence = round(confidence * UNGUARDED_FACTOR, 3)
            decision += "; only mentioned in passing, nothing else applies"
        return _classification(category, confidence, evidence, decision)
    category = Category.INFORMATION_REQUEST if asks else Category.OUT_OF_SCOPE
    why = "asks a question" if asks else "asks nothing"
    confidence = 0.3 if not evidence else 0.2
    decision = f"fallback to {category.value}: no category reached {THRESHOLD:g}; {why}"
    return _classification(category, confidence, evidence, decision)


def _subsumed(rival: Category, winner: Category) -> bool:
    return rival is Category.INFORMATION_REQUEST and winner in ASKS_FOR_INFORMATION


def _first_applying(
    scores: dict[Category, float], evidence: list[Evidence], *, guarded: bool
) -> Category | None:
    for category in PRECEDENCE:
        if scores[category] < THRESHOLD:
            continue
        if guarded and category in ASK_GUARDED and not _passes_guard(category, evidence):
            continue
        return category
    return None


def _passes_guard(category: Category, evidence: list[Evidence]) -> bool:
    """Some of the category's evidence is in the subject or in a sentence of the body that asks."""
    return any(e.asked for e in evidence if e.category is category)


def _confidence(score: float, runner_up: float) -> float:
    """Stronger with more evidence, weaker when another category scored nearly as much."""
    strength = 1.0 - math.exp(-score / 3.0)
    margin = min(1.0, max(0.0, (score - runner_up) / score))
    return round(strength * (0.5 + 0.5 * margin), 3)


def _classification(
    category: Category, confidence: float, evidence: list[Evidence], decision: str
) -> Classification:
    """Reasons: the winner's rules first, strongest first, then the others, then the decision."""
    ordered = sorted(evidence, key=lambda e: (e.category is not category, -e.weight))
    reasons = tuple(f"{e.label} ({e.weight:.2g})" for e in ordered)
    return Classification(category, confidence, (*reasons, decision), VERSION)
