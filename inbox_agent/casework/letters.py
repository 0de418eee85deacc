"""Statutory letters, filled from the case, for staff to finish in the reply box.

Each letter is a Jinja2 template under ``templates/letters/``, so an office rewords any of
them by saving its own under the same name in ``policy.template_dir`` (the acknowledgements'
mechanism). A refusal names each exemption the case records, with the office's paragraph for
it (``letters/exemptions/<code>.txt.j2``, else a generic one) and, for a qualified exemption,
the public interest test the Act requires (s.17(3)). Every refusal ends with the rights of
review and complaint (s.17(7)). Staff read and edit the draft before it goes: nothing here
sends anything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from inbox_agent.casework.exemptions import exemption
from inbox_agent.casework.statutory_clock import ClockState, Regime
from inbox_agent.letters import mail_environment, normalise, render_template
from inbox_agent.register.models import Case
from inbox_agent.settings import Settings

REVIEW_ASK_WITHIN_WORKING_DAYS = 40
"""s.45 Code of Practice para 5.3: a review may be refused if asked for after 40 working days."""


@dataclass(frozen=True)
class Letter:
    code: str
    label: str
    regimes: frozenset[Regime]

    @property
    def template(self) -> str:
        return f"letters/{self.code}.txt.j2"


_FOI = frozenset({Regime.FOI})
_SAR = frozenset({Regime.SAR})
_BOTH = frozenset({Regime.FOI, Regime.SAR})

LETTERS: tuple[Letter, ...] = (
    Letter("clarification_request", "Clarification request", _BOTH),
    Letter("id_request", "Proof of identity request", _SAR),
    Letter("fees_notice", "Fees notice (s.9)", _FOI),
    Letter("extension_notice", "Public interest extension notice (s.17(2))", _FOI),
    Letter("sar_extension_notice", "Extension by two months (Art. 12(3))", _SAR),
    Letter("refusal_notice", "Refusal notice, per exemption recorded (s.17)", _BOTH),
    Letter("section_21", "Already available: disclosure log (s.21)", _FOI),
    Letter("not_held", "Information not held", _FOI),
    Letter("review_outcome", "Internal review outcome", frozenset({Regime.REVIEW})),
)
_BY_CODE = {letter.code: letter for letter in LETTERS}


def letters_for(regime: Regime | None) -> tuple[Letter, ...]:
    return tuple(letter for letter in LETTERS if regime in letter.regimes)


def letter(code: str) -> Letter | None:
    return _BY_CODE.get(code)


def render_letter(
    settings: Settings,
    chosen: Letter,
    case: Case,
    clock: ClockState | None,
    *,
    signer: str,
    today: dt.date,
    original: Case | None = None,
) -> str:
    """The letter's text for this case; a broken office template is a ConfigError naming it."""
    env = mail_environment(settings.policy.template_dir)
    exemptions = [e for e in (exemption(code) for code in case.exemptions or []) if e]
    context: dict[str, Any] = {
        "office": settings.office,
        "policy": settings.policy,
        "casework": settings.casework,
        "disclosure_log_url": settings.casework.disclosure_log_url or settings.office.website_url,
        "reference": case.reference,
        "requester_name": case.requester_name,
        "subject": case.subject,
        "due_date": clock.due if clock else case.due_date,
        "statutory_due": clock.statutory_due if clock else case.due_date,
        "received_on": clock.anchor if clock else None,
        "exemptions": exemptions,
        "qualified": [e for e in exemptions if not e.absolute],
        "signer": signer,
        "today": today,
        "original": original,
        "review_within": REVIEW_ASK_WITHIN_WORKING_DAYS,
    }
    return normalise(render_template(env, chosen.template, context))
