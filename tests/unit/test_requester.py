from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP

import pytest

from inbox_agent.classify.machine import machine_reasons
from inbox_agent.classify.requester import RequesterType, requester_type
from inbox_agent.parse import Address, parse_message


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


def form_relay(sender: str, body: str, *, html: bool = False) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = "spoc@opcc.example.org"
    message["Subject"] = "Website enquiry: Contact the Commissioner"
    message["Date"] = "Tue, 07 Apr 2026 10:00:00 +0100"
    message["Message-ID"] = "<form-1@opcc.example.org>"
    message.set_content(body, subtype="html" if html else "plain")
    return message.as_bytes()


FORM_BODY = (
    "A new submission from the Contact us form.\n\n"
    "Name: Rhiannon Pugh\nEmail: R.Pugh@example.net\nPostcode: LU1 2AB\n\n"
    "Message:\nWhere do I hand in my nomination papers?\n"
)


@pytest.mark.parametrize(
    "sender",
    ["Website <no-reply@opcc.example.org>", "webforms@opcc.example.org", "wordpress@example.org"],
)
def test_web_form_relay_requester_is_the_email_field(sender: str) -> None:
    mail = parse_message(form_relay(sender, FORM_BODY))
    assert mail.requester == Address("Rhiannon Pugh", "r.pugh@example.net")
    assert machine_reasons(mail, frozenset()) == ()  # a person wrote it: it is answered


def test_html_web_form_relay_requester() -> None:
    body = (
        "<p><strong>Name:</strong> Tomasz Nowak</p>"
        '<p><strong>Email:</strong> <a href="mailto:t.nowak@example.com">t.nowak@example.com</a>'
        "</p><p><strong>Message:</strong> Can a sergeant come to our hustings?</p>"
    )
    mail = parse_message(form_relay("noreply@forms.example.org", body, html=True))
    assert mail.requester == Address("Tomasz Nowak", "t.nowak@example.com")


def test_person_with_email_line_in_signature_stays_requester() -> None:
    body = "Please send me the briefing pack.\n\nName: Jo Bloggs\nEmail: office@example.com\n"
    mail = parse_message(form_relay("Jo Bloggs <jo.bloggs@example.com>", body))
    assert mail.requester == Address("Jo Bloggs", "jo.bloggs@example.com")


def test_no_reply_without_form_fields_keeps_the_robot() -> None:
    mail = parse_message(form_relay("no-reply@opcc.example.org", "Your password expires soon."))
    assert mail.requester is not None
    assert mail.requester.email == "no-reply@opcc.example.org"
    assert machine_reasons(mail, frozenset())


def test_forwarded_form_relay_requester() -> None:
    body = (
        "Over to you.\n\n---------- Forwarded message ---------\n"
        "From: Website <no-reply@beds-police.example.org>\nDate: Mon, 6 Apr 2026 at 09:12\n"
        "Subject: Online enquiry\nTo: <enquiries@beds-police.example.org>\n\n" + FORM_BODY
    )
    mail = parse_message(form_relay("Sam Staff <sam.staff@opcc.example.org>", body))
    assert mail.forwarded is not None
    assert mail.requester == Address("Rhiannon Pugh", "r.pugh@example.net")
