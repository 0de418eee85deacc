"""The similarity measure: the labelled set loads, and the scorer orders pairs as a reader would.

Precision and recall at the shipped thresholds are printed by ``benchmarks/similarity.py``;
here only what must hold whatever the figures: a paraphrase outscores an unrelated pair, the
index finds its own near-duplicates, and a bad labelled line is an error that names it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from inbox_agent import similar

PAIRS = Path(__file__).resolve().parents[2] / "data" / "similarity" / "pairs.jsonl"


def test_the_labelled_set_loads_with_every_kind() -> None:
    pairs = similar.load_pairs(PAIRS.read_text(encoding="utf-8").splitlines())
    kinds = {p.kind for p in pairs}
    assert kinds == set(similar.KINDS)
    assert len({p.id for p in pairs}) == len(pairs)


def test_a_paraphrase_scores_above_an_unrelated_pair() -> None:
    question = "How many special constables volunteered with the force in 2026?"
    paraphrase = "What was the number of volunteer special constables serving during 2026?"
    unrelated = "Where is the count for the Police and Crime Commissioner election held?"
    background = ["Please send the overtime figures.", "Can I meet the Chief Constable?"]
    assert similar.similarity(question, paraphrase, background) > similar.similarity(
        question, unrelated, background
    )


def test_nearest_and_pairs_find_a_near_duplicate_and_skip_the_rest() -> None:
    texts = [
        "Stop the closure of Millbrook police station now. Sign our petition, Ada",
        "Stop the closure of Millbrook police station now. Sign our petition, Bob",
        "How many domestic abuse referrals did the force receive in March?",
    ]
    index = similar.SimilarityIndex(texts)
    pairs = list(index.pairs(similar.NEAR_DUPLICATE))
    assert [(i, j) for i, j, _ in pairs] == [(0, 1)]
    found = index.nearest(texts[0], limit=5, threshold=similar.RELATED, exclude=frozenset({0}))
    assert [m.index for m in found] == [1]


def test_an_empty_index_scores_nothing() -> None:
    assert similar.SimilarityIndex([]).nearest("anything", limit=3, threshold=0.0) == []


def test_a_bad_labelled_line_names_its_number() -> None:
    with pytest.raises(ValueError, match="line 2"):
        similar.load_pairs(['{"id": "x", "kind": "paraphrase", "a": "a", "b": "b"}', "{nope"])
    with pytest.raises(ValueError, match="kind"):
        similar.load_pairs(['{"id": "x", "kind": "alike", "a": "a", "b": "b"}'])
