"""The register's index: rebuilt as cases arrive without counting old texts again."""

from __future__ import annotations

import numpy as np

from inbox_agent.precedents import RegisterIndex, answer_body, request_text

TEXTS = [
    request_text("Overtime", "Please send the overtime spend of the force for 2025/26."),
    request_text("Officers", "How many officers work in the Lowtown neighbourhood team?"),
    request_text("Thanks", "Thanks!"),  # too short: matches nothing
]
NEW = request_text("Neighbourhood", "How many police officers are in Lowtown's neighbourhood team?")


def test_an_index_rebuilt_from_its_predecessor_scores_as_a_fresh_one() -> None:
    old = RegisterIndex([3, 2, 1], ["a", "b", "c"], TEXTS)
    ids, requesters, texts = [4, 3, 2, 1], ["d", "a", "b", "c"], [NEW, *TEXTS]
    rebuilt = RegisterIndex(ids, requesters, texts, previous=old)
    fresh = RegisterIndex(ids, requesters, texts)
    for query in (NEW, TEXTS[0]):
        assert np.allclose(rebuilt.index.scores(query), fresh.index.scores(query))
    scores = rebuilt.scores_for(4, NEW)
    assert max(scores, key=lambda cid: scores[cid]) == 2 and scores[1] == 0.0
    assert 4 not in scores


def test_short_requests_match_nothing_and_answers_lose_their_greeting() -> None:
    assert request_text("Re: thanks", "Thank you!") == ""
    assert request_text("[anonymised]", "[anonymised]") == ""
    body = answer_body("Dear Ms Ogunleye,\n\nThere are 38 PCSOs.\n\nKind regards,\nRachel")
    assert body == "There are 38 PCSOs."
