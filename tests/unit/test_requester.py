from __future__ import annotations

import pytest

from inbox_agent.classify.requester import RequesterType, requester_type


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I am standing as an independent candidate in May.", RequesterType.CANDIDATE),
        (
            "As the Green Party candidate for the PCC election I would like...",
            RequesterType.CANDIDATE,
        ),
        ("I'm a prospective candidate and want the precept figures.", RequesterType.CANDIDATE),
        ("I am the election agent for Jane Smith.", RequesterType.AGENT),
        ("As election agent to the candidate, I need to know...", RequesterType.AGENT),
        ("I am writing on behalf of the Liberal Party campaign.", RequesterType.REPRESENTATIVE),
        ("I'm not a candidate, just a resident worried about burglary.", RequesterType.PUBLIC),
        ("Which candidate has promised more officers?", RequesterType.PUBLIC),
        ("", RequesterType.PUBLIC),
    ],
)
def test_requester_type(text: str, expected: RequesterType) -> None:
    assert requester_type(text) is expected
