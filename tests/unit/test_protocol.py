"""The protocol as data: rule selection is pure, and a bad [protocol] fails at start-up."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from support.builders import base_config

from inbox_agent.acknowledge import check_protocol_templates
from inbox_agent.classify import Category, Classification
from inbox_agent.deadlines import Phase, UkCalendar
from inbox_agent.decide import Action, Facts, decide
from inbox_agent.errors import ConfigError
from inbox_agent.protocol.rules import (
    Promise,
    ProtocolSettings,
    Publication,
    Topic,
    protocol_outcome,
)
from inbox_agent.protocol.topics import topics_of
from inbox_agent.settings import settings_from_dict

CE = {"title": "the Chief Executive", "email": "ce@opcc.testshire.example.org"}
PROTOCOL = ProtocolSettings.model_validate(
    {
        "recipients": {"chief_executive": CE},
        "rules": [
            {
                "cite": "T 9: photographs refused in the pre-election period",
                "categories": ["meeting_request"],
                "topic": "photo",
                "phases": ["pre_election", "after_nominations"],
                "blocks": ["photos_refused_pre_election"],
            },
            {
                "cite": "T 8: meetings on request after nominations",
                "categories": ["meeting_request"],
                "phases": ["after_nominations"],
                "route": ["chief_executive"],
                "blocks": ["meetings_on_request_declared"],
            },
            {
                "cite": "T 6: as soon as possible, published",
                "categories": ["information_request"],
                "promise": "as_soon_as_possible",
                "publish": "yes",
            },
        ],
    }
)


@pytest.mark.parametrize(
    ("category", "phase", "topics", "routes", "blocks"),
    [
        # a photograph in the pre-election period: refused, not a meeting for the CE
        (
            Category.MEETING_REQUEST,
            Phase.AFTER_NOMINATIONS,
            {Topic.PHOTO},
            (),
            ("photos_refused_pre_election",),
        ),
        # a meeting and a photograph: both rules, the meeting's route
        (
            Category.MEETING_REQUEST,
            Phase.AFTER_NOMINATIONS,
            {Topic.PHOTO, Topic.MEETING},
            ("chief_executive",),
            ("meetings_on_request_declared", "photos_refused_pre_election"),
        ),
        # before the pre-election period no photo rule: the national default (no route)
        (Category.MEETING_REQUEST, Phase.BEFORE_PRE_ELECTION, {Topic.PHOTO}, (), ()),
        (
            Category.MEETING_REQUEST,
            Phase.AFTER_NOMINATIONS,
            set(),
            ("chief_executive",),
            ("meetings_on_request_declared",),
        ),
        (Category.ELECTORAL_PROCESS, Phase.PRE_ELECTION, set(), ("paro",), ()),
        (Category.INFORMATION_REQUEST, Phase.AFTER_POLL, set(), (), ()),
    ],
)
def test_rule_selection(
    category: Category,
    phase: Phase,
    topics: set[Topic],
    routes: tuple[str, ...],
    blocks: tuple[str, ...],
) -> None:
    outcome = protocol_outcome(PROTOCOL, category, phase, frozenset(topics))
    assert outcome.routes == routes
    assert outcome.blocks == blocks
    assert outcome.cites


def test_promise_and_publication_come_from_the_rule() -> None:
    outcome = protocol_outcome(PROTOCOL, Category.INFORMATION_REQUEST, Phase.PRE_ELECTION)
    assert (outcome.promise, outcome.publish) == (Promise.AS_SOON_AS_POSSIBLE, Publication.YES)
    default = protocol_outcome(ProtocolSettings(), Category.INFORMATION_REQUEST, Phase.PRE_ELECTION)
    assert default.promise is Promise.NONE  # no invented limit without a protocol rule


def _facts(category: Category, confidence: float = 0.9, **extra: Any) -> Facts:
    return Facts(
        classification=Classification(category, confidence, ("t",), "t"),
        received_on=dt.date(2027, 4, 14),
        thread_case=None,
        has_requester=True,
        review_below=0.5,
        target_working_days=10,
        phase=Phase.AFTER_NOMINATIONS,
        protocol=PROTOCOL,
        **extra,
    )


def test_decide_routes_by_the_protocol_and_never_on_a_guess() -> None:
    cal = UkCalendar()
    sure = decide(_facts(Category.MEETING_REQUEST), cal)
    assert sure.routes == ("chief_executive",) and not sure.forward_paro
    guess = decide(_facts(Category.MEETING_REQUEST, 0.3), cal)
    assert guess.routes == () and "no forward on a guess" in guess.reasons
    off = decide(_facts(Category.MEETING_REQUEST, internal_forwarding_enabled=False), cal)
    assert off.routes == ()
    paro_off = decide(_facts(Category.ELECTORAL_PROCESS, paro_forwarding_enabled=False), cal)
    assert paro_off.routes == () and not paro_off.forward_paro


def test_force_mail_joins_its_case_or_waits_for_staff() -> None:
    cal = UkCalendar()
    joined = decide(
        Facts(
            classification=Classification(Category.FOI_REQUEST, 0.99, ("t",), "t"),
            received_on=dt.date(2027, 4, 14),
            thread_case="TST-2027-0001",
            has_requester=True,
            review_below=0.5,
            target_working_days=10,
            from_force=True,
        ),
        cal,
    )
    assert joined.action is Action.JOIN_CASE and not joined.acknowledge
    lost = decide(_facts(Category.FOI_REQUEST, 0.99, from_force=True), cal)
    assert lost.action is Action.OPEN_CASE
    assert (lost.acknowledge, lost.due_date, lost.needs_review) == (False, None, True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Could I have a photo with your officers for my leaflet?", {Topic.PHOTO}),
        ("Will an officer speak at our hustings?", {Topic.HUSTINGS}),
        ("I'd like to visit the custody suite at headquarters.", {Topic.VISIT}),
        ("Can I go on a ride-along with the night shift?", {Topic.RIDE_ALONG}),
        ("His leaflet uses police photos of officers in uniform.", {Topic.IMAGE_MISUSE}),
        ("Please can we arrange a meeting with the Chief Constable?", {Topic.MEETING}),
        ("How many officers were recruited last year?", set()),
    ],
)
def test_topics(text: str, expected: set[Topic]) -> None:
    assert topics_of(text) == expected


def _settings(tmp_path: Path, protocol: dict[str, Any]) -> Any:
    data = base_config(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    data["maildir"] = {"path": str(tmp_path)}
    data["protocol"] = protocol
    return settings_from_dict(data, tmp_path / "office.toml")


def test_route_to_an_unconfigured_recipient_names_the_key(tmp_path: Path) -> None:
    rule = {"cite": "T 1", "categories": ["media_enquiry"], "route": ["media_team"]}
    with pytest.raises(ConfigError, match=r"protocol: .*rules\[0\] \(T 1\) routes to 'media_team'"):
        _settings(tmp_path, {"rules": [rule]})


def test_a_recipient_at_the_inbox_itself_is_refused(tmp_path: Path) -> None:
    me = {"title": "the SPOC", "email": "elections@opcc.testshire.example.org"}
    with pytest.raises(
        ConfigError, match=r"protocol\.recipients\.chief_executive\.email is this inbox"
    ):
        _settings(tmp_path, {"recipients": {"chief_executive": me}})


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"categories": ["subject_access_request"], "publish": "yes"}, "never published"),
        ({"categories": ["media_enquiry"], "promise": "statutory"}, "statutory"),
        ({"categories": ["automated"]}, "machine mail"),
        ({"categories": ["media_enquiry"], "phases": ["purdah"]}, "protocol.rules.0.phases.0"),
    ],
)
def test_bad_rules_are_refused(tmp_path: Path, rule: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _settings(tmp_path, {"rules": [{"cite": "T 2", **rule}]})


def test_a_missing_wording_block_fails_at_start_up(tmp_path: Path) -> None:
    rule = {"cite": "T 3", "categories": ["media_enquiry"], "blocks": ["no_such_block"]}
    settings = _settings(tmp_path, {"rules": [rule]})
    with pytest.raises(ConfigError, match=r"protocol.rules.0.blocks: no template .*no_such_block"):
        check_protocol_templates(settings)
