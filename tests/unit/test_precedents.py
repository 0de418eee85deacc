"""The register's index: rebuilt as cases arrive without counting old texts again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from support.transparency_office import MONDAY, A, B, C, Office, opened_office

from inbox_agent.transparency import precedents
from inbox_agent.transparency.precedents import RegisterIndex, answer_body, request_text
from inbox_agent.transparency.publish import approve_publication

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


def test_the_register_index_is_kept_while_unchanged_and_keeps_the_published_beyond_its_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with opened_office(tmp_path) as office:
        first = office.receive(f"{A['name']} <{A['email']}>", "Officers", TEXTS[1])
        office.answer(first.reference, "There are 12 officers in the team.", now=MONDAY)
        with office.register.transaction() as session:
            case = Office.case(session, first.reference)
            approve_publication(session, office.settings, case, actor="t", now=MONDAY)
        office.receive(f"{B['name']} <{B['email']}>", "Overtime", TEXTS[0])
        monkeypatch.setattr(precedents, "MAX_INDEXED", 1)
        with office.register.transaction() as session:
            index = precedents.register_index(session)
            assert precedents.register_index(session) is index, "unchanged: the same index"
        assert index.ids == (2, 1), "the newest case, and the published one beyond the window"
        newest = office.receive(f"{C['name']} <{C['email']}>", "Neighbourhood", NEW)
        with office.register.transaction() as session:
            rebuilt = precedents.register_index(session)
            found = precedents.find_precedents(
                session, office.settings, Office.case(session, newest.reference)
            )
        assert rebuilt is not index and rebuilt.ids == (3, 1)
        [match] = found
        assert match.reference == first.reference
        assert match.approved_answer == "There are 12 officers in the team."


def test_a_reused_answer_is_audited_with_whether_staff_changed_it(tmp_path: Path) -> None:
    with opened_office(tmp_path) as office:
        source = office.receive(f"{A['name']} <{A['email']}>", "Officers", TEXTS[1])
        office.answer(source.reference, "Dear Ms Ogunleye,\n\nThere are 12 officers.", now=MONDAY)
        target = office.receive(f"{B['name']} <{B['email']}>", "Officers?", NEW)
        with office.register.transaction() as session:
            case = Office.case(session, target.reference)
            with pytest.raises(precedents.ReuseError, match="no answer approved"):
                precedents.record_reuse(session, case, source.reference, "x", actor="t", now=MONDAY)
            origin = Office.case(session, source.reference)
            approve_publication(session, office.settings, origin, actor="t", now=MONDAY)
            kept = "Dear Mr Fairbrother,\n\nThere are 12 officers.\n\nYours sincerely"
            precedents.record_reuse(session, case, source.reference, kept, actor="t", now=MONDAY)
            changed = "Dear Mr Fairbrother,\n\nThere are 13 officers."
            precedents.record_reuse(session, case, source.reference, changed, actor="t", now=MONDAY)
            session.flush()
            edited = [e.detail["answer_edited"] for e in case.events if e.action == "answer_reused"]
        assert edited == [False, True]
