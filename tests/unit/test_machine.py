"""machine_reasons: one row per rule, people who must not be caught, and 629 real bounces.

The rule rows build ParsedMail directly so each asserts exactly one rule; the fixtures and
corpora go through parse_message so the header plumbing is tested with them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest

from inbox_agent.classify.machine import machine_reasons
from inbox_agent.classify.training.evaluation import PUBLIC_CORPORA
from inbox_agent.errors import UnparseableMessage
from inbox_agent.parse import (
    Address,
    ForwardedOriginal,
    MachineHeaders,
    ParsedMail,
    parse_message,
)

OWN = frozenset({"spoc@opcc.example.org"})
DATA = Path(__file__).resolve().parents[1] / "data" / "eml"
CORPORA = PUBLIC_CORPORA
BOUNCES = CORPORA / "sisimai" / "maildir" / "bsd"
BOUNCE_FILES = sorted(p for p in BOUNCES.glob("*") if p.is_file())

HUMAN_FIXTURES = [
    "human-plain.eml",
    "human-rfc2047.eml",
    "human-html-only.eml",
    "human-attachments.eml",
    "forward-outlook.eml",
    "forward-outlook-html.eml",
    "forward-gmail.eml",
    "forward-apple.eml",
    "forward-attachment.eml",
    "reply-outlook.eml",
    "odd-mime-epilogue.eml",
]

PERSON = ParsedMail(
    message_id="<1@example.org>",
    sender=Address("Jane Doe", "jane@example.org"),
    reply_to=(),
    to=(Address("", "spoc@opcc.example.org"),),
    cc=(),
    subject="FOI request about hustings",
    date="2024-05-06T08:12:30+00:00",
    in_reply_to="",
    references=(),
    text="Please send me the list of hustings.",
    attachments=(),
    machine=MachineHeaders(return_path="<jane@example.org>"),
    forwarded=None,
)


def person_with(**changes: Any) -> ParsedMail:
    return dataclasses.replace(PERSON, **changes)


def headers(**changes: Any) -> ParsedMail:
    return person_with(machine=dataclasses.replace(PERSON.machine, **changes))


def test_a_person_is_not_machine_mail() -> None:
    assert machine_reasons(PERSON, OWN) == ()


@pytest.mark.parametrize(
    ("mail", "expected"),
    [
        (headers(return_path="<>"), "empty Return-Path (<>)"),
        (headers(return_path="<MAILER-DAEMON@mx.example.org>"), "Return-Path is mailer-daemon"),
        (headers(auto_submitted="auto-replied"), "Auto-Submitted: auto-replied"),
        (headers(auto_submitted="auto-generated; owner-email=x@example.org"), "auto-generated"),
        (headers(precedence="bulk"), "Precedence: bulk"),
        (headers(precedence="List"), "Precedence: list"),
        (headers(precedence="junk"), "Precedence: junk"),
        (headers(precedence="auto_reply"), "Precedence: auto_reply"),
        (headers(list_id="<x.lists.example.org>"), "List-Id"),
        (headers(list_unsubscribe="<mailto:leave@example.org>"), "List-Unsubscribe"),
        (headers(list_headers=("Mailing-List",)), "mailing-list headers present: Mailing-List"),
        (headers(x_autoreply="yes"), "X-Autoreply"),
        (headers(x_autorespond="yes"), "X-Autorespond"),
        (headers(x_auto_response_suppress="All"), "X-Auto-Response-Suppress: all"),
        (headers(x_auto_response_suppress="DR, OOF"), "X-Auto-Response-Suppress: oof"),
        (headers(x_auto_response_suppress="AutoReply"), "autoreply"),
        (headers(is_delivery_report=True), "delivery status notification"),
        (headers(is_read_receipt=True), "read receipt"),
        (headers(is_feedback_report=True), "feedback report (ARF)"),
        (headers(sender_header="MAILER-DAEMON@example.org"), "sender is mailer-daemon"),
        (person_with(sender=None), "no From address"),
        (person_with(sender=Address("", "")), "no From address"),
        (person_with(sender=Address("", "postmaster@example.org")), "sender is postmaster"),
        (person_with(sender=Address("", "post_master@vtext.example")), "sender is post_master"),
        (person_with(sender=Address("", "Mailer-Daemon@x.example")), "sender is mailer-daemon"),
        (person_with(sender=Address("", "noreply@gov.example")), "no-reply address (noreply)"),
        (person_with(sender=Address("", "no-reply@x.example")), "no-reply"),
        (person_with(sender=Address("", "do-not-reply@x.example")), "no-reply"),
        (person_with(sender=Address("", "donotreply@x.example")), "no-reply"),
        (person_with(sender=Address("", "no_reply+tag@x.example")), "no-reply"),
        (person_with(sender=Address("SPOC", "spoc@opcc.example.org")), "mail loop"),
    ],
)
def test_each_rule_gives_its_reason(mail: ParsedMail, expected: str) -> None:
    reasons = machine_reasons(mail, OWN)
    assert any(expected in reason for reason in reasons), reasons


def test_own_addresses_compare_case_insensitively() -> None:
    mail = person_with(sender=Address("", "spoc@opcc.example.org"))
    assert machine_reasons(mail, frozenset({"SPOC@OPCC.example.org"}))


@pytest.mark.parametrize(
    "mail",
    [
        headers(auto_submitted="no"),
        headers(auto_submitted="No"),
        headers(precedence="first-class"),
        headers(x_auto_response_suppress="RN, NRN"),  # Outlook meeting requests from people
        headers(return_path=""),  # not yet delivered: no Return-Path at all
        person_with(sender=Address("Noreen Reply", "noreen@example.org")),
        person_with(sender=Address("", "postmaster.general@example.org")),
    ],
)
def test_people_near_the_rules_are_not_caught(mail: ParsedMail) -> None:
    assert machine_reasons(mail, OWN) == ()


@pytest.mark.parametrize(
    "subject",
    [
        "Automatic reply: FOI request",
        "Auto reply: FOI request",
        "AutoReply: hustings",
        "Auto: hustings",
        "Out of Office: hustings",
        "Out of Office AutoReply: hustings",
        "Out of the office",
        "[EXTERNAL] Automatic reply: hustings",
        "Undeliverable: FOI request",
        "Undelivered Mail Returned to Sender",
        "Delivery Status Notification (Failure)",
        "Returned mail: see transcript for details",
        "Mail delivery failed: returning message to sender",
        "failure notice",
        "Delivery Notification: Delivery has failed",
        "Delayed Mail (still being retried)",
        "Ateb awtomatig: Eich cais",
        "Allan o'r swyddfa: Eich cais",
        "Automatische Antwort: Anfrage",
        "Abwesenheitsnotiz: Anfrage",
        "Réponse automatique : demande",
        "Respuesta automática: solicitud",
        "Automatisch antwoord: verzoek",
        "Risposta automatica: richiesta",
        "Resposta automática: pedido",
        "Automatyczna odpowiedź: prośba",
        "Automatiskt svar: fråga",
    ],
)
def test_robot_subjects_are_machine_mail(subject: str) -> None:
    reasons = machine_reasons(person_with(subject=subject), OWN)
    assert reasons and "subject looks automatic" in reasons[0]


@pytest.mark.parametrize(
    "subject",
    [
        "Out of office hours surgeries before polling day",
        "Undelivered poll cards in my street",
        "Non-delivery of my postal vote",
        "Delivery of election leaflets by police staff",
        "Re: automatic number plate recognition policy",
        "Auto-enrolment question",
        "Returned mail from the council",
        "Read: the candidate's statement",
        "FW: Out of office hours policing",
    ],
)
def test_people_writing_about_the_same_words_are_not_caught(subject: str) -> None:
    assert machine_reasons(person_with(subject=subject), OWN) == ()


def test_forwarded_bounce_is_machine_mail() -> None:
    """Otherwise MAILER-DAEMON becomes the requester and gets an acknowledgement."""
    original = ForwardedOriginal(
        sender=Address("Mail Delivery Subsystem", "mailer-daemon"),
        subject="Returned mail: see transcript for details",
        date="",
        text="...",
    )
    reasons = machine_reasons(person_with(subject="Fwd: bounce", forwarded=original), OWN)
    assert reasons == ("forwards a message from mailer-daemon",)


def test_forwarded_out_of_office_is_machine_mail() -> None:
    original = ForwardedOriginal(
        sender=Address("Kate", "kate@example.org"),
        subject="Automatic reply: your request",
        date="",
        text="I am away.",
    )
    reasons = machine_reasons(person_with(subject="FW: look", forwarded=original), OWN)
    assert reasons == ("forwards an automatic message: 'Automatic reply: your request'",)


# --- fixtures -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", HUMAN_FIXTURES)
def test_human_fixtures_are_not_machine_mail(name: str) -> None:
    mail = parse_message((DATA / name).read_bytes())
    assert machine_reasons(mail, OWN) == ()


@pytest.mark.parametrize("name", ["ooo-no-headers.eml", "ooo-welsh.eml"])
def test_out_of_office_without_rfc3834_headers_is_machine_mail(name: str) -> None:
    mail = parse_message((DATA / name).read_bytes())
    reasons = machine_reasons(mail, OWN)
    assert len(reasons) == 1 and reasons[0].startswith("subject looks automatic")


# --- public corpora -----------------------------------------------------------------------


def test_bounce_corpus_is_present() -> None:
    assert len(BOUNCE_FILES) == 629, f"sisimai corpus missing or changed at {BOUNCES}"


@pytest.mark.parametrize("path", BOUNCE_FILES, ids=lambda p: p.name)
def test_every_real_bounce_is_machine_mail(path: Path) -> None:
    try:
        mail = parse_message(path.read_bytes())
    except UnparseableMessage:
        return  # quarantined: never acknowledged either
    assert machine_reasons(mail, OWN) != ()


def test_no_real_bounce_needs_quarantine() -> None:
    """The per-file test accepts quarantine; this keeps it from passing by quarantining all."""
    unparseable = []
    for path in BOUNCE_FILES:
        try:
            parse_message(path.read_bytes())
        except UnparseableMessage as exc:
            unparseable.append(f"{path.name}: {exc}")
    assert unparseable == []


@pytest.mark.parametrize("name", ["is-not-bounce-01.eml", "is-not-bounce-02.eml"])
def test_lookalikes_written_by_people_are_not_machine_mail(name: str) -> None:
    mail = parse_message((CORPORA / "sisimai" / "maildir" / "not" / name).read_bytes())
    assert machine_reasons(mail, OWN) == ()
