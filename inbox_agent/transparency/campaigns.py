"""Campaign mail: one text sent by many people, grouped so staff answer it once.

A campaign (a petition, a template from a pressure group's website) arrives as dozens of
near-identical messages from different senders. Each stays its own case (each sender is a
requester and is acknowledged once), but the office should see one group and give one
answer. A group is a connected set of cases whose request texts score at least
``similar.NEAR_DUPLICATE`` against one another, from at least ``MIN_SENDERS`` different
requesters, among the ``WINDOW`` most recent requests. Pure over the register index; the web
UI shows the groups in the queue.
"""

from __future__ import annotations

from dataclasses import dataclass

from inbox_agent.similar import NEAR_DUPLICATE
from inbox_agent.transparency.precedents import RegisterIndex

MIN_SENDERS = 3
WINDOW = 1000  # the most recent requests compared: a campaign arrives as a burst
_GROUPS = "campaign_groups"


@dataclass(frozen=True)
class CampaignGroup:
    """Near-identical requests from several people; ``case_ids`` oldest first."""

    case_ids: tuple[int, ...]
    senders: int

    @property
    def key(self) -> int:
        """The group's name in links: its first case."""
        return self.case_ids[0]


def _root(parent: dict[int, int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def group_campaigns(index: RegisterIndex) -> list[CampaignGroup]:
    """The campaign groups among the indexed requests, largest first."""
    parent = {i: i for i in range(len(index.ids))}
    recent = range(min(WINDOW, len(index.ids)))  # the index lists the newest first
    for i, j, _ in index.index.pairs(NEAR_DUPLICATE, recent):
        a, b = _root(parent, i), _root(parent, j)
        if a != b:
            parent[max(a, b)] = min(a, b)
    members: dict[int, list[int]] = {}
    for i in parent:
        if index.texts[i]:
            members.setdefault(_root(parent, i), []).append(i)
    groups = []
    for rows in members.values():
        senders = len({index.requesters[i] for i in rows})
        if senders >= MIN_SENDERS:
            groups.append(CampaignGroup(tuple(sorted(index.ids[i] for i in rows)), senders))
    return sorted(groups, key=lambda g: (-len(g.case_ids), g.key))


def campaigns(index: RegisterIndex) -> list[CampaignGroup]:
    """``group_campaigns``, worked out once per index (the queue asks on every page)."""
    with index.lock:
        held = index.cached.get(_GROUPS)
        if not isinstance(held, list):
            held = group_campaigns(index)
            index.cached[_GROUPS] = held
        return held


def group_of(index: RegisterIndex) -> dict[int, CampaignGroup]:
    """Each grouped case's group."""
    return {cid: g for g in campaigns(index) for cid in g.case_ids}
