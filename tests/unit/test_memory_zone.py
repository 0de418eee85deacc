"""The long-lived spaCy pipelines must not keep the words of the mail they read.

The daemon classifies for weeks and the web UI anonymises for as long as it runs, each with
pipelines built once per process. Mail is open vocabulary, so a pipeline that keeps a lexeme
and a string for every new word grows with every message (``benchmarks/soak.py``). Each test
reads texts made of words nobody has seen and checks the vocabulary did not grow once the
pipeline is warm (``spacy_memory.WARM_UP_TEXTS``, set to 0 here); a zone in the wrong place
(a cached pipeline built inside one, a doc used after it) shows up as a wrong answer on the
next call, and two threads in one pipeline's zone as a string spaCy has already freed.
"""

from __future__ import annotations

import string
from concurrent.futures import ThreadPoolExecutor

import pytest
import spacy
from spacy.language import Language

from inbox_agent import spacy_memory
from inbox_agent.classify import Category
from inbox_agent.classify.rules import _pipeline, rule_evidence
from inbox_agent.classify.textcat import shipped_model
from inbox_agent.spacy_memory import bounded_memory
from inbox_agent.transparency.anonymise import Anonymiser, Lexicon

FOI_SUBJECT = "Freedom of Information request"
FOI_BODY = "Under the Freedom of Information Act, please send me the PCC's budget for 2026."


def novel_word(i: int) -> str:
    """A word no vocabulary holds, in letters only (the textcat reads digits as 0)."""
    letters = []
    for _ in range(4):
        i, r = divmod(i, 26)
        letters.append(string.ascii_lowercase[r])
    return "qx" + "".join(letters) + "vy"


def novel_message(i: int) -> tuple[str, str]:
    words = [novel_word(i * 8 + k) for k in range(8)]
    subject = f"Question from {words[0].title()} {words[1].title()}"
    body = (
        f"Dear office, what is {words[2]} {words[3]} doing about {words[4]}? "
        f"Email {words[5]}@{words[6]}.example.org or see https://{words[7]}.example.com/x"
    )
    return subject, body


@pytest.fixture(autouse=True)
def warm_already(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every text read in a zone: the pipelines are shared by the tests in this process."""
    monkeypatch.setattr(spacy_memory, "WARM_UP_TEXTS", 0)


def vocab_size(nlp: Language) -> tuple[int, int]:
    """Strings and lexemes actually held (``len(vocab)`` counts freed lexemes too)."""
    return len(nlp.vocab.strings), sum(1 for _ in nlp.vocab)


def test_rules_keep_no_words_of_the_mail_they_read() -> None:
    nlp = _pipeline().nlp
    rule_evidence(*novel_message(0))  # first use: any lazily built state exists now
    before = vocab_size(nlp)
    for i in range(1, 301):
        rule_evidence(*novel_message(i))
    assert vocab_size(nlp) == before


def test_the_textcat_keeps_no_words_of_the_mail_it_reads() -> None:
    model = shipped_model()
    if model is None:
        pytest.skip("the package was built without a textcat model")
    model.scores(*novel_message(0))
    before = vocab_size(model.nlp)
    for i in range(1, 301):
        subject, body = novel_message(i)
        model.scores(f"{subject}\n\n{body}", "zzchoseinformationrequest")
    assert vocab_size(model.nlp) == before


def test_the_anonymiser_keeps_no_words_of_the_texts_it_reads() -> None:
    anonymiser = Anonymiser(Lexicon(names=("Ann Able",), parties=("Labour Party",)))
    anonymiser.find("Ann Able wrote.")
    before = vocab_size(anonymiser.nlp)
    for i in range(1, 201):
        subject, body = novel_message(i)
        found = anonymiser.find(f"{body}\n\nKind regards,\n{subject.split()[-1]}")
        assert any(r.label == "PERSON" for r in found)  # the signature's novel name
    assert vocab_size(anonymiser.nlp) == before


def test_a_pipeline_first_built_inside_classification_still_matches_afterwards() -> None:
    # Were the rules' pipeline built inside the zone, its phrases would be freed with it and
    # the second message would match nothing.
    _pipeline.cache_clear()
    first, _ = rule_evidence(FOI_SUBJECT, FOI_BODY)
    for i in range(50):
        rule_evidence(*novel_message(i))
    again, _ = rule_evidence(FOI_SUBJECT, FOI_BODY)
    assert first.category is again.category is Category.FOI_REQUEST
    assert again == first


def test_threads_classifying_at_once_get_the_answers_of_one_thread() -> None:
    messages = [novel_message(i) for i in range(400, 440)] + [(FOI_SUBJECT, FOI_BODY)] * 10
    alone = [rule_evidence(s, b) for s, b in messages]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda m: rule_evidence(*m), messages * 4))
    assert together == alone * 4


def test_a_zone_inside_a_zone_joins_it() -> None:
    nlp = spacy.blank("en")
    before = vocab_size(nlp)
    with bounded_memory(nlp):
        with bounded_memory(nlp):
            assert [t.text for t in nlp.make_doc(novel_word(1))] == [novel_word(1)]
        assert novel_word(1) in nlp.vocab.strings  # the inner block did not close the zone
    assert novel_word(1) not in nlp.vocab.strings
    assert vocab_size(nlp) == before


def test_the_first_texts_warm_the_pipeline_and_later_ones_leave_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(spacy_memory, "WARM_UP_TEXTS", 3)
    nlp = spacy.blank("en")
    sizes = []
    for i in range(6):
        with bounded_memory(nlp):
            nlp.make_doc(f"{novel_word(i)} {novel_word(100 + i)}")
        sizes.append(vocab_size(nlp)[0])
    assert sizes[0] < sizes[1] < sizes[2] == sizes[3] == sizes[4] == sizes[5]
    assert novel_word(0) in nlp.vocab.strings  # a warm word stays
    assert novel_word(5) not in nlp.vocab.strings
