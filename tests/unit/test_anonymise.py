"""Anonymisation: recall on our own corpus (every kind of identifier) and over-redaction.

``tests/data/anonymise/*.json`` holds texts with the exact strings that must be redacted (every
occurrence of each). Recall counts an expected string as caught when every one of its
characters is inside a redaction; over-redaction is the share of redacted characters outside
every expected string. ``benchmarks/anonymise.py`` prints the same figures with timings.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inbox_agent.settings import DEFAULT_PARTY_NAMES
from inbox_agent.transparency.anonymise import (
    Anonymiser,
    Lexicon,
    load_corpus,
    name_parts,
    score_corpus,
    signature_names,
)

CORPUS = Path(__file__).resolve().parents[1] / "data" / "anonymise"
KINDS = {"PERSON", "EMAIL", "PHONE", "POSTCODE", "ADDRESS", "PARTY", "REFERENCE", "URL", "HANDLE"}


def test_the_corpus_covers_every_kind_of_identifier() -> None:
    _, texts = load_corpus(CORPUS)
    assert len(texts) >= 40
    covered = {kind for t in texts for kind in t.kinds}
    assert covered >= KINDS
    assert {"roster", "staff", "header", "signature", "title", "negative"} <= covered


def test_redaction_recall_is_complete_on_the_corpus(capsys: pytest.CaptureFixture[str]) -> None:
    lexicon, texts = load_corpus(CORPUS)
    score = score_corpus(Anonymiser(lexicon), texts)
    with capsys.disabled():
        print(
            f"\nanonymise corpus: {score.texts} texts, {score.expected} identifiers, "
            f"recall {score.recall:.1%} ({score.caught}/{score.expected}); over-redaction "
            f"{score.over_redaction:.1%} of redacted characters ({score.over_chars}/"
            f"{score.redacted_chars}), {score.false_spans} of {score.spans} spans wrong"
        )
    assert score.missed == []
    assert score.recall == 1.0
    assert score.over_redaction < 0.05, score.false_positives


def test_placeholders_say_what_was_removed() -> None:
    anonymiser = Anonymiser(Lexicon(names=("Ann Able",), parties=DEFAULT_PARTY_NAMES))
    text = "Ann Able (Labour Party), ann@example.org, 07700 900123, LT1 2AB, CR/012345/24"
    assert anonymiser.redact(text) == (
        "[name] ([party]), [email address], [phone number], [postcode], [reference]"
    )


def test_anonymised_text_stays_as_it_is() -> None:
    anonymiser = Anonymiser(Lexicon(names=("Ann Able",), parties=DEFAULT_PARTY_NAMES))
    once = anonymiser.redact("Dear Ms Able, call 020 7946 0958 about 12 High Street, Lowtown.")
    assert once == "Dear [name], call [phone number] about [address]."
    assert anonymiser.find(once) == []


def test_office_words_are_not_taken_for_names() -> None:
    assert name_parts("Testshire Police Press Office") == ["Testshire"]
    keep = frozenset({"testshire"})
    assert name_parts("Testshire Gazette Newsdesk (Dan)", keep) == ["Gazette", "Newsdesk"]
    assert name_parts("Dr Ann-Marie O'Brien") == ["Ann-Marie", "Ann", "Marie", "O'Brien"]


def test_signature_and_self_given_names_are_found() -> None:
    text = "What is the budget?\n\nKind regards,\nWinifred Ashcombe\nVolunteer\n"
    assert signature_names(text) == ["Winifred Ashcombe"]
    assert signature_names("Hello, my name is Osric Pemberton. A question.") == ["Osric Pemberton"]


def test_public_and_office_websites_are_kept() -> None:
    anonymiser = Anonymiser(Lexicon(public_domains=("gov.uk", "opcc.testshire.example.org")))
    text = "See https://www.gov.uk/x, opcc.testshire.example.org/election and www.me4pcc.co.uk."
    assert anonymiser.redact(text) == (
        "See https://www.gov.uk/x, opcc.testshire.example.org/election and [web address]."
    )
