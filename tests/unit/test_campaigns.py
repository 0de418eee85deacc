"""Campaign mail: one text from many senders is one group; a few senders, or texts, are not."""

from __future__ import annotations

from inbox_agent.transparency.campaigns import MIN_SENDERS, campaigns, group_campaigns, group_of
from inbox_agent.transparency.precedents import RegisterIndex, request_text

PETITION = (
    "I am writing as a resident to ask the Commissioner to keep the Millbrook police station "
    "front counter open. Closing it will leave the town without a police presence. {name}"
)


def _index(senders: list[str], extra: list[str]) -> RegisterIndex:
    texts = [request_text("Keep Millbrook open", PETITION.format(name=s)) for s in senders]
    texts += [request_text("Question", e) for e in extra]
    requesters = [*senders, *(f"other{i}@example.org" for i in range(len(extra)))]
    return RegisterIndex(list(range(1, len(texts) + 1)), requesters, texts)


def test_near_identical_mail_from_many_senders_is_one_group() -> None:
    index = _index(
        ["ann@example.org", "bob@example.org", "cat@example.org", "dan@example.org"],
        ["How many officers work nights in Millbrook?", "[anonymised]"],
    )
    [group] = group_campaigns(index)
    assert group.case_ids == (1, 2, 3, 4) and group.senders == 4
    assert group_of(index) == {cid: group for cid in (1, 2, 3, 4)}
    assert campaigns(index) is campaigns(index), "worked out once per index"


def test_one_sender_writing_the_same_text_again_is_not_a_campaign() -> None:
    senders = ["ann@example.org"] * 3 + ["bob@example.org"] * (MIN_SENDERS - 2)
    assert group_campaigns(_index(senders, [])) == []
