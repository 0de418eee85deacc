"""The office's joint protocol as data: category x election phase -> wording, routing, promise.

Each joint protocol says, paragraph by paragraph, what happens to a kind of request and when:
Bedfordshire refuses photographs with officers at any time, Cambridgeshire allows them until the
pre-election period begins, Norfolk refuses hustings, Nottinghamshire lets the Chief Executive
decide visits. An acknowledgement that paraphrased a national rule would tell a candidate
something their own office's protocol does not say, so the profile's ``[protocol]`` section
holds the rules themselves, each citing its paragraph, and this module only chooses among them.

A rule names

* the **categories** and **phases** it covers (and optionally one **topic** of the message:
  photographs, hustings, visits, ride-alongs, misuse of police images);
* where the message is **routed**: internal recipients who each get a forward with the original
  attached, so that every "passed to ..." in an email is a row in the outbox;
* the wording **blocks** the acknowledgement carries (our words, in
  ``templates/acknowledgement/blocks/``, so a block can have a Welsh twin);
* what is **promised** about time, and whether the answer **is published**.

Selection is pure (``protocol_outcome``): the rules the office wrote come first, then the
bundled national defaults, so every category has an answer in every phase. A topic rule
replaces the category's general rule (a refused photograph is not a meeting request), unless
the message also asks for a meeting, when both apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from inbox_agent.classify import STATUTORY, Category
from inbox_agent.deadlines import Phase


class Promise(StrEnum):
    """What the acknowledgement promises about when the answer comes."""

    STATUTORY = "statutory"  # FOI / subject access: the date the law sets
    AS_SOON_AS_POSSIBLE = "as_soon_as_possible"  # e.g. Bedfordshire 10d: "time critical"
    OFFICE_HOURS = "office_hours"  # Norfolk: as soon as possible, Monday to Friday office hours
    TARGET = "target"  # the office's own target date (cases.target_working_days)
    NONE = "none"  # the protocol sets no time: staff will reply, no date given


class Publication(StrEnum):
    """Whether the acknowledgement says the answer is published on the office's website."""

    YES = "yes"
    IF_NOT_ALREADY_PUBLIC = "if_not_already_public"  # Norfolk 11
    NO = "no"


class Topic(StrEnum):
    """What a message asks for, beyond its category (``inbox_agent/topics.py`` finds them)."""

    PHOTO = "photo"  # being filmed or photographed with officers or staff
    HUSTINGS = "hustings"  # officers or staff at a campaign hustings
    VISIT = "visit"  # visiting police or OPCC premises
    RIDE_ALONG = "ride_along"  # riding along with, or observing, officers at work
    IMAGE_MISUSE = "image_misuse"  # police images, livery or logos in campaign material
    MEETING = "meeting"  # a meeting: the category's general rule applies as well


RecipientKey = Literal["chief_executive", "chief_constable", "media_team", "dpo", "force_spoc"]
RouteKey = Literal["paro", "chief_executive", "chief_constable", "media_team", "dpo", "force_spoc"]
BlockName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
PERSON_CATEGORIES = tuple(c for c in Category if c is not Category.AUTOMATED)
ALL_PHASES = tuple(Phase)


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Recipient(_Data):
    """Someone inside the office or force a message can be routed to."""

    title: Annotated[str, Field(min_length=1)]  # as an email names them: "the Chief Executive"
    name: str = ""  # the person, for the cover note
    email: EmailStr


class Rule(_Data):
    """One paragraph of the protocol applied to some categories in some phases."""

    cite: Annotated[str, Field(min_length=1)]
    categories: Annotated[list[Category], Field(min_length=1)]
    phases: Annotated[list[Phase], Field(min_length=1)] = list(ALL_PHASES)
    topic: Topic | None = None
    route: list[RouteKey] = []
    blocks: list[BlockName] = []
    promise: Promise = Promise.NONE
    publish: Publication = Publication.NO

    @model_validator(mode="after")
    def _sane(self) -> Rule:
        if Category.AUTOMATED in self.categories:
            raise ValueError("machine mail is never acknowledged or routed: drop 'automated'")
        sar = Category.SUBJECT_ACCESS_REQUEST in self.categories
        if sar and self.publish is not Publication.NO:
            raise ValueError("a subject access request is personal data: it is never published")
        if self.topic is Topic.MEETING:
            raise ValueError("'meeting' is not a rule topic: it is the category's general rule")
        if self.promise is Promise.STATUTORY and not set(self.categories) <= STATUTORY:
            raise ValueError("promise 'statutory' is for foi_request and subject_access_request")
        return self


class ProtocolSettings(_Data):
    """The ``[protocol]`` section of a profile (documented in ``config/example.toml``)."""

    document: str = ""  # the protocol's title and date, for the register and check-config
    recipients: dict[RecipientKey, Recipient] = {}
    rules: list[Rule] = []
    # Nottinghamshire 1.1: until they declare, a would-be candidate is a member of the public
    undeclared_are_public: bool = False
    # Nottinghamshire 6.2: a telephone request is confirmed in writing before the reply
    confirm_telephone_requests: bool = False
    # Nottinghamshire 6.4, Norfolk 12: the force sends its FOI disclosures to the SPOC; mail
    # from these domains is filed against the original request, never opened as a new one
    force_domains: list[Annotated[str, Field(pattern=r"^[a-z0-9.-]+\.[a-z]{2,}$")]] = []

    @model_validator(mode="after")
    def _routes_configured(self) -> ProtocolSettings:
        for index, rule in enumerate(self.rules):
            for key in rule.route:
                if key != "paro" and key not in self.recipients:
                    raise ValueError(
                        f"rules[{index}] ({rule.cite}) routes to {key!r}, which is not in "
                        f"[protocol.recipients]: add its title and email"
                    )
        return self


@dataclass(frozen=True)
class Outcome:
    """What the protocol says for one message: routes, wording, promise, publication."""

    routes: tuple[str, ...]
    blocks: tuple[str, ...]
    promise: Promise
    publish: Publication
    cites: tuple[str, ...]


_NATIONAL = "National guidance for OPCC Chief Executives (2021)"
DEFAULT_RULES: tuple[Rule, ...] = (
    Rule(
        cite=f"{_NATIONAL} 3.2: election queries, including complaints, go to the PARO",
        categories=[Category.ELECTORAL_PROCESS],
        route=["paro"],
    ),
    Rule(
        cite=f"{_NATIONAL} 8.28: FOI requests continue in the usual way",
        categories=[Category.FOI_REQUEST],
        promise=Promise.STATUTORY,
    ),
    Rule(
        cite=f"{_NATIONAL} 8.28: subject access requests continue in the usual way",
        categories=[Category.SUBJECT_ACCESS_REQUEST],
        promise=Promise.STATUTORY,
    ),
    Rule(
        cite=f"{_NATIONAL} 5.1: candidates are treated as members of the public",
        categories=[Category.INFORMATION_REQUEST],
        blocks=["treated_as_public"],
    ),
    Rule(
        cite=f"{_NATIONAL} 3.2: complaints about the election are for the PARO",
        categories=[Category.CONDUCT_CONCERN],
        blocks=["election_complaints_to_paro"],
    ),
    Rule(
        cite="no protocol rule: staff reply",
        categories=[Category.MEETING_REQUEST, Category.MEDIA_ENQUIRY, Category.OUT_OF_SCOPE],
    ),
)


NATIONAL_PROTOCOL = ProtocolSettings()
"""No office rules: the national defaults alone (a profile without ``[protocol]``)."""


def applicable_rules(protocol: ProtocolSettings) -> tuple[Rule, ...]:
    """The office's rules first (first match wins), then the national defaults."""
    return (*protocol.rules, *DEFAULT_RULES)


def protocol_outcome(
    protocol: ProtocolSettings,
    category: Category,
    phase: Phase,
    topics: frozenset[Topic] = frozenset(),
) -> Outcome:
    """The rules that apply to a message of ``category`` received in ``phase``.

    For each topic found in the message, the first rule for that topic (and category and
    phase) applies; the category's general rule applies when no topic rule did, or when the
    message also asks for a meeting. Routes and blocks are merged in order, without repeats;
    the first rule chosen sets the promise and the publication.
    """
    rules = applicable_rules(protocol)

    def covers(rule: Rule) -> bool:
        return category in rule.categories and phase in rule.phases

    chosen: list[Rule] = []
    for topic in Topic:
        if topic in topics:
            rule = next((r for r in rules if r.topic is topic and covers(r)), None)
            if rule is not None and rule not in chosen:
                chosen.append(rule)
    if not chosen or Topic.MEETING in topics:
        general = next((r for r in rules if r.topic is None and covers(r)), None)
        if general is not None:
            chosen.insert(0, general)
    if not chosen:
        return Outcome((), (), Promise.NONE, Publication.NO, ("no protocol rule",))
    return Outcome(
        routes=tuple(dict.fromkeys(k for r in chosen for k in r.route)),
        blocks=tuple(dict.fromkeys(b for r in chosen for b in r.blocks)),
        promise=chosen[0].promise,
        publish=chosen[0].publish,
        cites=tuple(r.cite for r in chosen),
    )
