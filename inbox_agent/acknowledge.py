"""Acknowledgements: what the sender is told, rendered from one Jinja2 template per category.

The wording lives in ``templates/``, not here, because each office words its protocol its own
way and must be able to change a sentence without a release: ``policy.template_dir`` names a
folder whose templates replace the bundled ones of the same name (the environment, its
escaping and its date filters are ``letters.py``'s). This module only gathers the facts a
template may use, chooses the template, and makes the result safe to send:

* the subject is one line of bounded length whatever the sender wrote, so a CR/LF in their
  subject can never become a header of ours;
* text templates are plain text (no escaping, nothing to escape into), while the HTML
  alternative is built from the finished text with autoescape on, so a ``<script>`` in a
  display name arrives as text;
* nothing of the sender's message is echoed back except their name and subject line.

**Welsh.** An office under the Welsh Language Standards (``welsh.standards``) answers in the
requester's language: Welsh mail in Welsh (``templates/acknowledgement/cy/``: the same names,
wording blocks included), English mail in English, and mail whose language is not known
bilingually, Welsh first, with one line at the top saying the English follows
(``language.reply_languages``). The Welsh text uses the office's own Welsh names
(``[welsh]``), Welsh dates ("dydd Iau 29 Ebrill 2027") and the Welsh titles of the people
a message was passed to; the HTML alternative marks each part with its ``lang``.

Machine mail is never acknowledged, so there is deliberately no template for it.
"""

from __future__ import annotations

import re
import textwrap
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from jinja2 import Environment, TemplateError, TemplateNotFound

from inbox_agent.classify import Category
from inbox_agent.deadlines import election_phase
from inbox_agent.errors import ConfigError
from inbox_agent.language import Language, reply_languages
from inbox_agent.letters import mail_environment, normalise, render_template
from inbox_agent.protocol.rules import Outcome, Recipient, protocol_outcome
from inbox_agent.settings import Settings

REVIEW_TEMPLATE = "acknowledgement/review.txt.j2"
WELSH_TEMPLATES = "acknowledgement/cy/"  # the Welsh version of each acknowledgement/ template
BILINGUAL_NOTE = "Mae'r fersiwn Saesneg isod. The English version is below."
HTML_LANG = {Language.WELSH: "cy", Language.ENGLISH: "en-GB"}
PARO_TITLE_CY = "Swyddog Canlyniadau Ardal yr Heddlu"
HTML_TEMPLATE = "acknowledgement/base.html.j2"
PARO_COVER_TEMPLATE = "forward/paro_cover.txt.j2"
INTERNAL_COVER_TEMPLATE = "forward/internal_cover.txt.j2"
BLOCK_TEMPLATE = "acknowledgement/blocks/{}.txt.j2"
PARO_TITLE = "the Police Area Returning Officer"

SUBJECT_MAX = 200
"""Longest subject we send; far below RFC 5322's 998-octet line limit even once encoded."""
NAME_MAX = 100
REFERENCE_MAX = 40
ADDRESS_MAX = 254
WRAP_WIDTH = 72

_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINE_BREAKING = frozenset({"Cc", "Zl", "Zp"})
_REPLY_PREFIX = re.compile(r"^(?:re\s*:\s*)+", re.IGNORECASE)


@dataclass(frozen=True)
class RenderedEmail:
    """A message ready for the outbox; ``html`` is an optional alternative part."""

    subject: str
    text: str
    html: str | None


def one_line(value: str, limit: int) -> str:
    """Collapse ``value`` to one line of at most ``limit`` characters.

    Every control character and Unicode line or paragraph separator becomes a space, so a
    value from a sender cannot start a new header line or a new paragraph; bidirectional
    overrides are dropped so a name cannot visually reorder the text around it.
    """
    chars = (
        "\ufffd"  # a lone surrogate would be written back as a raw byte, maybe CR or LF
        if unicodedata.category(ch) == "Cs"
        else " "
        if unicodedata.category(ch) in _LINE_BREAKING
        else ch
        for ch in value
        if ch not in _BIDI_CONTROLS
    )
    cleaned = " ".join("".join(chars).split())
    if len(cleaned) <= limit:
        return cleaned
    return cleaned[: limit - 1].rstrip() + "…"


def acknowledgement_subject(reference: str, original_subject: str, prefix: str) -> str:
    """``[REF] Re: <their subject>``, or ``[REF] <prefix>`` when they gave none.

    The reference leads so it survives clients that truncate long subjects, and replies
    quoting it can be matched to the case. An existing ``Re:`` is not doubled.
    """
    original = _REPLY_PREFIX.sub("", one_line(original_subject, SUBJECT_MAX))
    tail = f"Re: {original}" if original else one_line(prefix, SUBJECT_MAX)
    return one_line(f"[{one_line(reference, REFERENCE_MAX)}] {tail}", SUBJECT_MAX)


def render_acknowledgement(
    settings: Settings,
    *,
    category: Category,
    reference: str,
    requester_name: str,
    original_subject: str,
    due_date: date | None,
    received_on: date,
    needs_review: bool,
    outcome: Outcome | None = None,
    forwarded_to: tuple[Recipient, ...] = (),
    language: Language = Language.ENGLISH,
    template: str | None = None,
    recorded_request: str = "",
) -> RenderedEmail:
    """The acknowledgement for a new case: reference, and what happens next for its category.

    ``outcome`` is the protocol's answer for the message (its wording blocks, promise and
    publication; by default the category's general rule for the day's phase), and
    ``forwarded_to`` the recipients whose forwards were queued with the case: the email says
    "passed to" exactly those, so it cannot claim a forward that was not made. ``template``
    replaces the category's letter (the written confirmation of a telephone request quotes
    ``recorded_request``, staff's record of what was asked).

    A case marked for review gets the generic template whatever its category, because the
    category is a guess and the reply must not promise a route (a PARO forward, a statutory
    clock) that staff may overturn. ``language`` is the requester's preference; the office's
    ``[welsh]`` settings decide what it is answered in (Welsh, English, or both).
    """
    if category is Category.AUTOMATED:
        raise ValueError("machine mail is never acknowledged: there is no template for it")
    name = REVIEW_TEMPLATE if needs_review else f"acknowledgement/{category.value}.txt.j2"
    name = template or name  # e.g. the written confirmation of a telephone request
    phase = election_phase(received_on, settings.election)
    if outcome is None:
        outcome = protocol_outcome(settings.protocol, category, phase)
    env = mail_environment(settings.policy.template_dir)
    context = _office_context(settings) | {
        "category": category.value,
        "reference": one_line(reference, REFERENCE_MAX),
        "requester_name": one_line(requester_name, NAME_MAX),
        "due_date": due_date,
        "received_on": received_on,
        "phase": phase.value,
        "needs_review": needs_review,
        "promise": outcome.promise.value,
        "publish": outcome.publish.value,
        "forwarded_to": [r.title for r in forwarded_to],
        "paro_forwarded": any(r.title == PARO_TITLE for r in forwarded_to),
        "paro_title": PARO_TITLE,
        "forwarded_to_cy": [welsh_title(settings, r) for r in forwarded_to],
        "paro_title_cy": PARO_TITLE_CY,
        "recorded_request": recorded_request,  # staff's record, for a written confirmation
    }
    languages = reply_languages(settings.welsh.standards, language)
    subject = acknowledgement_subject(
        reference, original_subject, subject_prefix(settings, languages)
    )
    parts = [(lang, _render_in(env, name, outcome.blocks, context, lang)) for lang in languages]
    body = parts[0][1]
    if len(parts) > 1:
        rule = "-" * WRAP_WIDTH
        body = f"{BILINGUAL_NOTE}\n\n" + f"\n{rule}\n\n".join(text for _, text in parts)
    sections = [{"lang": HTML_LANG[lang], "paragraphs": _blocks(text)} for lang, text in parts]
    if len(parts) > 1:
        sections[0]["paragraphs"] = [[BILINGUAL_NOTE], *sections[0]["paragraphs"]]
    html = render_template(
        env,
        HTML_TEMPLATE,
        {
            "subject": subject,
            "lang": sections[0]["lang"],
            "sections": sections,
            "paragraphs": _blocks(body),  # one list, for an office's own base.html.j2
        },
    )
    return RenderedEmail(subject=subject, text=_wrap(body), html=html)


def _render_in(
    env: Environment,
    name: str,
    blocks: tuple[str, ...],
    context: dict[str, Any],
    language: Language,
) -> str:
    """One language's letter: its wording blocks first, then the category's template."""
    block_template = _named(BLOCK_TEMPLATE, language)
    rendered = [
        normalise(render_template(env, block_template.format(block), context)).strip()
        for block in blocks
    ]
    return normalise(render_template(env, _named(name, language), context | {"blocks": rendered}))


def _named(template: str, language: Language) -> str:
    """The Welsh version of an acknowledgement template lives under ``cy/``, same name."""
    if language is Language.WELSH:
        return template.replace("acknowledgement/", WELSH_TEMPLATES, 1)
    return template


def subject_prefix(settings: Settings, languages: tuple[Language, ...]) -> str:
    """The subject when the sender gave none: in the reply's language(s), Welsh first."""
    words = {
        Language.WELSH: settings.welsh.acknowledgement_subject_prefix,
        Language.ENGLISH: settings.policy.acknowledgement_subject_prefix,
    }
    return " / ".join(words[lang] for lang in languages)


def welsh_title(settings: Settings, recipient: Recipient) -> str:
    """A recipient's Welsh title ([welsh] recipients, by the protocol's key); the PARO's."""
    if recipient.title == PARO_TITLE:
        return PARO_TITLE_CY
    for key, configured in settings.protocol.recipients.items():
        if configured == recipient:
            return settings.welsh.recipients.get(key, recipient.title)
    return recipient.title


def check_protocol_templates(settings: Settings) -> None:
    """Every wording block a rule names must exist: found at start-up, not in a letter."""
    env = mail_environment(settings.policy.template_dir)
    languages = reply_languages(settings.welsh.standards, Language.UNKNOWN)  # all it may use
    patterns = [_named(BLOCK_TEMPLATE, lang) for lang in languages]
    for index, rule in enumerate(settings.protocol.rules):
        for template in (p.format(block) for block in rule.blocks for p in patterns):
            try:
                env.get_template(template)
            except TemplateNotFound as exc:
                raise ConfigError(
                    f"{settings.source}: protocol.rules.{index}.blocks: no template "
                    f"{template} ({rule.cite})"
                ) from exc
            except TemplateError as exc:
                raise ConfigError(
                    f"{settings.source}: protocol.rules.{index}.blocks: template "
                    f"{template} is broken: {exc}"
                ) from exc


def render_forward_cover(
    settings: Settings,
    recipient: Recipient,
    *,
    reference: str,
    requester_name: str,
    requester_email: str,
    received_at: datetime,
    subject: str,
    cites: tuple[str, ...],
    sender_told: bool = True,
) -> RenderedEmail:
    """The note on top of a message routed, intact, to someone inside the office or force.

    Says under which paragraph of the protocol it is theirs, so the recipient knows why it
    came and the case shows what was sent.
    """
    ref = one_line(reference, REFERENCE_MAX)
    their_subject = one_line(subject, SUBJECT_MAX)
    context = _office_context(settings) | {
        "recipient": recipient,
        "reference": ref,
        "requester_name": one_line(requester_name, NAME_MAX),
        "requester_email": one_line(requester_email, ADDRESS_MAX),
        "received_at": _aware(received_at).astimezone(settings.office.zone),
        "subject": their_subject,
        "cites": [one_line(c, 300) for c in cites],
        "sender_told": sender_told,
    }
    env = mail_environment(settings.policy.template_dir)
    body = normalise(render_template(env, INTERNAL_COVER_TEMPLATE, context))
    tail = their_subject or settings.policy.acknowledgement_subject_prefix
    title = recipient.title.removeprefix("the ")
    cover_subject = one_line(f"[{ref}] For {title}: {tail}", SUBJECT_MAX)
    return RenderedEmail(subject=cover_subject, text=_wrap(body), html=None)


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"received_at must be timezone-aware, got {moment.isoformat()}")
    return moment


def render_paro_cover(
    settings: Settings,
    *,
    reference: str,
    requester_name: str,
    requester_email: str,
    received_at: datetime,
    subject: str,
    sender_told: bool = True,
) -> RenderedEmail:
    """The note on top of an electoral-process message forwarded, intact, to the PARO.

    The PARO needs to know who wrote, when and under which reference, without opening the
    attachment; the time is shown in the office's zone because that is the day that counts.
    """
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError(f"received_at must be timezone-aware, got {received_at.isoformat()}")
    ref = one_line(reference, REFERENCE_MAX)
    their_subject = one_line(subject, SUBJECT_MAX)
    context = _office_context(settings) | {
        "reference": ref,
        "requester_name": one_line(requester_name, NAME_MAX),
        "requester_email": one_line(requester_email, ADDRESS_MAX),
        "received_at": received_at.astimezone(settings.office.zone),
        "subject": their_subject,
        "sender_told": sender_told,
    }
    env = mail_environment(settings.policy.template_dir)
    body = normalise(render_template(env, PARO_COVER_TEMPLATE, context))
    tail = their_subject or settings.policy.acknowledgement_subject_prefix
    cover_subject = one_line(f"[{ref}] Forwarded to the PARO: {tail}", SUBJECT_MAX)
    return RenderedEmail(subject=cover_subject, text=_wrap(body), html=None)


def route_recipient(settings: Settings, key: str) -> Recipient:
    """Who a protocol route goes to: the PARO from ``[paro]``, the rest from the protocol."""
    if key == "paro":
        return Recipient(title=PARO_TITLE, name=settings.paro.name, email=settings.paro.email)
    return settings.protocol.recipients[key]  # type: ignore[index]  # validated at start-up


def _office_context(settings: Settings) -> dict[str, Any]:
    """What every template may use about the office: sections, never secrets."""
    return {
        "office": settings.office,
        "paro": settings.paro,
        "policy": settings.policy,
        "election": settings.election,
        "recipients": settings.protocol.recipients,
        "welsh": settings.welsh,
    }


def _wrap(text: str) -> str:
    """Wrap long lines at 72 columns for plain-text readers, never splitting a URL or address.

    Templates write one paragraph per line so the wording is easy to edit; short lines
    (addresses, sign-offs) are left exactly as written.
    """
    out: list[str] = []
    for line in text.splitlines():
        if len(line) <= WRAP_WIDTH:
            out.append(line)
            continue
        out.extend(textwrap.wrap(line, WRAP_WIDTH, break_long_words=False, break_on_hyphens=False))
    return "\n".join(out) + "\n"


def _blocks(text: str) -> list[list[str]]:
    """Paragraphs (split on blank lines) as lists of lines, for the HTML alternative."""
    return [block.splitlines() for block in text.strip("\n").split("\n\n") if block.strip()]
