"""The requester's language: lingua on their own words, and what the office answers in."""

from __future__ import annotations

import pytest

from inbox_agent.language import Language, detect_language, preference, reply_languages

WELSH = (
    "Annwyl Syr neu Fadam,\n\nHoffwn wneud cais am y wybodaeth ganlynol am yr heddlu yn "
    "Sir Gaerfyrddin, os gwelwch yn dda."
)
ENGLISH = (
    "Dear Sir or Madam,\n\nCould you please send me the latest figures for burglaries in "
    "Carmarthenshire for each of the last three years?"
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (WELSH, Language.WELSH),
        (ENGLISH, Language.ENGLISH),
        (f"{WELSH}\n\n{ENGLISH}", Language.UNKNOWN),  # bilingual: no single preference
        ("Diolch!", Language.UNKNOWN),  # too short to tell
        ("", Language.UNKNOWN),
        (f"{WELSH}\n\nThanks, Jo", Language.WELSH),  # a short line does not vote
    ],
)
def test_detect_language(text: str, expected: Language) -> None:
    assert detect_language(text) is expected


def test_the_message_own_language_wins_over_the_recorded_one() -> None:
    assert preference(Language.ENGLISH, Language.WELSH) is Language.ENGLISH
    assert preference(Language.UNKNOWN, Language.WELSH) is Language.WELSH
    assert preference(Language.UNKNOWN, Language.UNKNOWN) is Language.UNKNOWN


@pytest.mark.parametrize(
    ("welsh_office", "preferred", "expected"),
    [
        (True, Language.WELSH, (Language.WELSH,)),
        (True, Language.ENGLISH, (Language.ENGLISH,)),
        (True, Language.UNKNOWN, (Language.WELSH, Language.ENGLISH)),
        (False, Language.WELSH, (Language.ENGLISH,)),
        (False, Language.UNKNOWN, (Language.ENGLISH,)),
    ],
)
def test_reply_languages_follow_the_welsh_language_standards(
    welsh_office: bool, preferred: Language, expected: tuple[Language, ...]
) -> None:
    assert reply_languages(welsh_office, preferred) == expected
