"""The outcomes a statutory request can have, and the exemptions a refusal can rest on.

One place for these lists: the case page offers them, the register stores their codes, the
refusal letter names them and the s.45 statistics count them. The codes are the sections as
practitioners write them ("s.40"), so the register export reads naturally without this file.

FOIA 2000 Part II exemptions (ss.21-44) and the two procedural grounds the s.45 Code's
statistics count beside them (s.12 cost limit, s.14 vexatious or repeated); ``absolute`` is
True where the Act needs no public interest test (s.2(3)), which the refusal notice must say.
For s.40 the common case (third-party personal data, first condition) is absolute.
Subject access: the UK GDPR / DPA 2018 grounds an office most often relies on.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Outcome(StrEnum):
    """What the requester got, in the s.45 Code's categories."""

    GRANTED_IN_FULL = "granted_in_full"
    GRANTED_IN_PART = "granted_in_part"
    REFUSED = "refused"
    NOT_HELD = "not_held"
    WITHDRAWN = "withdrawn"


class ReviewOutcome(StrEnum):
    """What an internal review decided about the original response."""

    UPHELD = "upheld"
    PARTLY_OVERTURNED = "partly_overturned"
    OVERTURNED = "overturned"
    WITHDRAWN = "withdrawn"


OUTCOME_LABELS: dict[str, str] = {
    Outcome.GRANTED_IN_FULL: "Granted in full",
    Outcome.GRANTED_IN_PART: "Granted in part (some information withheld)",
    Outcome.REFUSED: "Refused in full",
    Outcome.NOT_HELD: "Information not held",
    Outcome.WITHDRAWN: "Withdrawn or lapsed",
    ReviewOutcome.UPHELD: "Original decision upheld",
    ReviewOutcome.PARTLY_OVERTURNED: "Original decision partly overturned",
    ReviewOutcome.OVERTURNED: "Original decision overturned",
}

WITHHOLDING = frozenset({Outcome.GRANTED_IN_PART, Outcome.REFUSED})
"""Outcomes that withhold something and so must name at least one exemption (s.17(1))."""


@dataclass(frozen=True)
class Exemption:
    code: str
    title: str
    absolute: bool = False


FOI_EXEMPTIONS: tuple[Exemption, ...] = (
    Exemption("s.12", "Cost of compliance exceeds the appropriate limit"),
    Exemption("s.14", "Vexatious or repeated request"),
    Exemption("s.21", "Information accessible to the applicant by other means", absolute=True),
    Exemption("s.22", "Information intended for future publication"),
    Exemption("s.22A", "Research intended for future publication"),
    Exemption("s.23", "Information supplied by, or relating to, security bodies", absolute=True),
    Exemption("s.24", "National security"),
    Exemption("s.26", "Defence"),
    Exemption("s.27", "International relations"),
    Exemption("s.28", "Relations within the United Kingdom"),
    Exemption("s.29", "The economy"),
    Exemption("s.30", "Investigations and proceedings conducted by public authorities"),
    Exemption("s.31", "Law enforcement"),
    Exemption("s.32", "Court records", absolute=True),
    Exemption("s.33", "Audit functions"),
    Exemption("s.34", "Parliamentary privilege", absolute=True),
    Exemption("s.35", "Formulation of government policy"),
    Exemption("s.36", "Prejudice to the effective conduct of public affairs"),
    Exemption("s.37", "Communications with His Majesty, and honours"),
    Exemption("s.38", "Health and safety"),
    Exemption("s.39", "Environmental information (handled under the EIR)"),
    Exemption("s.40", "Personal information", absolute=True),
    Exemption("s.41", "Information provided in confidence", absolute=True),
    Exemption("s.42", "Legal professional privilege"),
    Exemption("s.43", "Commercial interests"),
    Exemption("s.44", "Prohibitions on disclosure", absolute=True),
)

SAR_EXEMPTIONS: tuple[Exemption, ...] = (
    Exemption("art.12(5)", "Manifestly unfounded or excessive request (UK GDPR Art. 12(5))"),
    Exemption("sch2.2", "Crime and taxation (DPA 2018 Sch. 2 para 2)"),
    Exemption("sch2.5", "Information required to be disclosed by law or in legal proceedings"),
    Exemption("sch2.16", "Another individual's personal data (DPA 2018 Sch. 2 para 16)"),
    Exemption("sch2.19", "Legal professional privilege (DPA 2018 Sch. 2 para 19)"),
    Exemption("sch2.22", "Management forecasts (DPA 2018 Sch. 2 para 22)"),
    Exemption("sch2.23", "Negotiations with the requester (DPA 2018 Sch. 2 para 23)"),
    Exemption("sch2.24", "Confidential references (DPA 2018 Sch. 2 para 24)"),
    Exemption("sch3", "Health, social work or education data (DPA 2018 Sch. 3)"),
)

_BY_CODE: dict[str, Exemption] = {e.code: e for e in (*FOI_EXEMPTIONS, *SAR_EXEMPTIONS)}


def exemption(code: str) -> Exemption | None:
    return _BY_CODE.get(code)
