"""The requester's language, Welsh or English, read from their own words.

An office in Wales works under the Welsh Language Standards: mail written in Welsh is
answered in Welsh, and when the office does not know which language someone prefers it
writes bilingually, Welsh first. So each message's own words (``text.mail_text``: no quoted
history, signature or disclaimer, which may be another writer's language) are read by
lingua (``lingua-language-detector``), restricted to English and Welsh, in its low-accuracy
mode: trigram models only, 0.2 s and about 10 MB to load instead of 2.7 s and 85 MB, and as
good as the full models on a paragraph of mail (``benchmarks/language.py`` prints both).

Each paragraph of 20 letters or more votes for the language lingua gives at least
``SURE`` to, weighted by its letters. A message is Welsh or English when that language has
``MAJORITY`` of the votes; a message written in both (a bilingual letter, a Welsh paragraph
under an English one) or too short to tell ("Diolch!") has no known language, and so the
requester's earlier preference, else the bilingual reply, applies (``preference``).
"""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cache

from lingua import Language as LinguaLanguage
from lingua import LanguageDetector, LanguageDetectorBuilder

MIN_LETTERS = 20  # a paragraph shorter than this ("Helo," "Diolch yn fawr") does not vote
SURE = 0.8  # lingua's confidence a paragraph needs to vote
MAJORITY = 0.8  # share of the voting letters a language needs to be the message's

_PARAGRAPH = re.compile(r"\n\s*\n")
_LETTER = re.compile(r"[^\W\d_]")


class Language(StrEnum):
    """A requester's language as the register stores it (BCP 47 tags; "" = not known)."""

    WELSH = "cy"
    ENGLISH = "en"
    UNKNOWN = ""


_FROM_LINGUA = {LinguaLanguage.WELSH: Language.WELSH, LinguaLanguage.ENGLISH: Language.ENGLISH}


@cache
def _detector() -> LanguageDetector:
    """Built once per process, on first use; the models ship inside the wheel."""
    return (
        LanguageDetectorBuilder.from_languages(LinguaLanguage.ENGLISH, LinguaLanguage.WELSH)
        .with_low_accuracy_mode()
        .build()
    )


def detect_language(text: str) -> Language:
    """Welsh, English, or UNKNOWN when the text is too short or written in both."""
    votes = {Language.WELSH: 0, Language.ENGLISH: 0}
    for paragraph in _PARAGRAPH.split(text):
        letters = len(_LETTER.findall(paragraph))
        if letters < MIN_LETTERS:
            continue
        best = _detector().compute_language_confidence_values(paragraph)[0]
        if best.value >= SURE:
            votes[_FROM_LINGUA[best.language]] += letters
    total = sum(votes.values())
    for language, count in votes.items():
        if total and count / total >= MAJORITY:
            return language
    return Language.UNKNOWN


def preference(detected: Language, earlier: Language) -> Language:
    """The language to answer in: this message's, else what the requester chose before."""
    return detected if detected is not Language.UNKNOWN else earlier


def reply_languages(welsh_office: bool, preference: Language) -> tuple[Language, ...]:
    """What an acknowledgement is written in, in order (the Welsh Language Standards).

    A Welsh office answers Welsh in Welsh, English in English, and someone whose preference
    it does not know in both, Welsh first. An office outside Wales answers in English.
    """
    if not welsh_office:
        return (Language.ENGLISH,)
    if preference is Language.UNKNOWN:
        return (Language.WELSH, Language.ENGLISH)
    return (preference,)
