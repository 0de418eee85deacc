"""A Welsh office end to end: the real pipeline (Maildir in, SQLite register, Maildir out).

Through ``Pipeline.run_once`` and the CLI, never a stage alone: Welsh mail is acknowledged in
Welsh and its language recorded on the case, English in English, a message whose language
cannot be told from a new requester bilingually (Welsh first) and from a known one in their
language; a quoted FOI response under a journalist's question does not make it an FOI; and
mail that only the text model calls machine mail opens a case for review, unanswered, that
staff rescue from the CLI (``model correct``) or the web UI's reclassify.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import mailbox
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import select
from support.builders import INBOX, message

from inbox_agent.acknowledge import BILINGUAL_NOTE
from inbox_agent.classify import Category
from inbox_agent.cli import main
from inbox_agent.deadlines import UkCalendar
from inbox_agent.pipeline import Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.models import AuditEvent, Case, Disposition, StoredMessage
from inbox_agent.settings import Settings, load_settings
from inbox_agent.web import casework

pytestmark = pytest.mark.integration

CONFIG = f"""\
[office]
name = "Office of the Police and Crime Commissioner for Testshire"
inbox_address = "{INBOX}"
spoc_role = "Chief Executive"
website_url = "https://opcc.testshire.example.org"
reference_prefix = "TST"

[maildir]
path = "box"

[smtp]
from_address = "{INBOX}"
deliver = "maildir"
maildir_path = "outbox"

[database]
url = "sqlite:///register.sqlite3"

[paro]
name = "Pat Example"
email = "paro@council.testshire.example.org"

[election]
poll_date = 2027-05-06
pre_election_period_start = 2027-03-29
nominations_close = 2027-04-08
persons_nominated_published = 2027-04-09

[welsh]
standards = true
office_name = "Swyddfa Comisiynydd Heddlu a Throseddu Testshire"
spoc_role = "Prif Weithredwr"

[welsh.recipients]
media_team = "dîm cyfathrebu'r swyddfa"

[protocol.recipients.media_team]
title = "the OPCC communications team"
email = "media@opcc.testshire.example.org"

[[protocol.rules]]
cite = "Testshire 7.1: media enquiries go to the communications team"
categories = ["media_enquiry"]
route = ["media_team"]
blocks = ["media_factual_neutral"]
"""

WELSH_FOI = message(
    "Eirian Owen <eirian.owen@example.org>",
    "Cais am wybodaeth",
    "Annwyl Syr neu Fadam,\n\nHoffwn wneud cais o dan Ddeddf Rhyddid Gwybodaeth 2000 am "
    "nifer y swyddogion heddlu a weithiodd yn Sir Benfro ym mhob un o'r tair blynedd "
    "diwethaf, a chost goramser y swyddogion hynny.\n\nYn gywir,\nEirian Owen\n",
    message_id="<welsh-foi@example.org>",
)
ENGLISH_INFO = message(
    "Grace Hill <grace.hill@example.net>",
    "Police and crime plan",
    "Hello,\n\nCould you send me a link to the current police and crime plan and the latest "
    "report on progress against it?\n\nThanks,\nGrace\n",
    message_id="<english-info@example.net>",
)
UNKNOWN_LANGUAGE = message(
    "Sam Rees <sam.rees@example.com>",
    "Pecyn briffio / Briefing pack",
    "Briefing pack?\n",
    message_id="<short@example.com>",
)
JOURNALIST_UNDER_QUOTED_FOI = message(
    "Nadia Karim <nadia.karim@example-news.co.uk>",
    "Re: FOI 2027/114 - response",
    "Thanks for the figures. For a story we are running on Thursday, can the Commissioner's "
    "office comment on why the number of officers fell last year? Our deadline is 4pm.\n\n"
    "Nadia\n\nOn 1 Apr 2027, at 12:40, FOI Officer <foi@opcc.testshire.example.org> wrote:\n"
    "> Dear Ms Karim, in response to your request under the Freedom of Information Act 2000\n"
    "> we can confirm the force employed 412 officers at 31 March 2026.\n",
    message_id="<media@example-news.co.uk>",
)
# Written as a careless autoresponder writes: no RFC 3834 header, a person's address.
TEXT_ONLY_AUTOREPLY = message(
    "Fiona Marsh <fiona.marsh@example-health.example>",
    "Re: Candidate briefing evening",
    "Thank you for your email. I am on annual leave until Monday 19 April with no access to "
    "email, and this mailbox is not monitored in my absence.\n\nFor anything urgent please "
    "contact the team on 01234 567890.\n\nFiona\n",
    message_id="<ooo-text@example-health.example>",
)
HEADER_AUTOREPLY = message(
    "Fiona Marsh <fiona.marsh@example-health.example>",
    "Out of office",
    "I am on annual leave until Monday 19 April.\n",
    message_id="<ooo-headers@example-health.example>",
    headers={"Auto-Submitted": "auto-replied"},
)


def _office(tmp_path: Path) -> tuple[Path, Settings, Register]:
    path = tmp_path / "inbox-agent.toml"
    path.write_text(CONFIG, encoding="utf-8")
    settings = load_settings(path)
    return path, settings, Register(settings.database.url)


def _deliver(tmp_path: Path, *raws: bytes) -> None:
    box = mailbox.Maildir(tmp_path / "box", create=True)
    for raw in raws:
        box.add(raw)
    box.close()


def _sent(tmp_path: Path) -> dict[str, EmailMessage]:
    """The emails the pass wrote to the outbox Maildir, by recipient."""
    sent: dict[str, EmailMessage] = {}
    for file in sorted((tmp_path / "outbox" / "new").iterdir()):
        msg = email.message_from_bytes(file.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        sent[str(msg["To"]).rsplit("<", 1)[-1].rstrip(">")] = msg
    return sent


def _text(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return " ".join(part.get_content().split())


def _cases(register: Register) -> dict[str, Case]:
    with register.transaction() as session:
        cases = session.scalars(select(Case)).all()
        session.expunge_all()
    return {c.requester_email: c for c in cases}


def test_each_requester_is_answered_in_their_language(tmp_path: Path) -> None:
    _, settings, register = _office(tmp_path)
    try:
        _deliver(tmp_path, WELSH_FOI, ENGLISH_INFO, UNKNOWN_LANGUAGE, JOURNALIST_UNDER_QUOTED_FOI)
        report = Pipeline(settings, register).run_once()
        assert report.cases_opened == 4
        cases = _cases(register)
        welsh, english = cases["eirian.owen@example.org"], cases["grace.hill@example.net"]
        unknown = cases["sam.rees@example.com"]
        journalist = cases["nadia.karim@example-news.co.uk"]
        assert (welsh.category, welsh.language) == (Category.FOI_REQUEST, "cy")
        assert (english.language, unknown.language, journalist.language) == ("en", "", "en")
        # the quoted FOI response does not decide: the new text is a request for comment
        assert journalist.category == Category.MEDIA_ENQUIRY

        sent = _sent(tmp_path)
        cy = _text(sent["eirian.owen@example.org"])
        assert cy.startswith("Annwyl Eirian Owen,") and "Dear" not in cy
        assert "o dan Ddeddf Rhyddid Gwybodaeth 2000" in cy
        assert welsh.reference in str(sent["eirian.owen@example.org"]["Subject"])
        en = _text(sent["grace.hill@example.net"])
        assert en.startswith("Dear Grace Hill,") and "Annwyl" not in en
        both = _text(sent["sam.rees@example.com"])
        assert both.startswith(BILINGUAL_NOTE)
        assert both.index("Annwyl Sam Rees,") < both.index("Dear Sam Rees,")

        # the Welsh requester's next message is too short to tell: their recorded Welsh holds
        _deliver(
            tmp_path,
            message(
                "Eirian Owen <eirian.owen@example.org>",
                "Cais arall",
                "Ffigurau 2024?\n",
                message_id="<welsh-short@example.org>",
            ),
        )
        Pipeline(settings, register).run_once()
        with register.transaction() as session:
            latest = session.scalars(
                select(Case)
                .where(Case.requester_email == "eirian.owen@example.org")
                .order_by(Case.id.desc())
            ).first()
            assert latest is not None and latest.language == "cy"
    finally:
        register.dispose()


def test_machine_text_alone_opens_a_review_case_that_staff_rescue(tmp_path: Path) -> None:
    path, settings, register = _office(tmp_path)
    try:
        _deliver(tmp_path, HEADER_AUTOREPLY, TEXT_ONLY_AUTOREPLY)
        report = Pipeline(settings, register).run_once()
        assert (report.machine, report.cases_opened) == (1, 1)
        with register.transaction() as session:
            logged = session.scalars(
                select(StoredMessage).where(StoredMessage.disposition == Disposition.MACHINE)
            ).one()
            assert logged.message_id == "<ooo-headers@example-health.example>"
            case = session.scalars(select(Case)).one()
            assert (case.category, case.needs_review, case.due_date) == (
                Category.AUTOMATED,
                True,
                None,
            )
            assert any(
                "only the text model" in r for r in _opened(session, case).get("reasons", [])
            )
            withheld = session.scalars(
                select(AuditEvent).where(AuditEvent.action == "acknowledgement_withheld")
            ).one()
            assert withheld.case_id == case.id
            reference = case.reference
        assert not (tmp_path / "outbox" / "new").exists() or not any(
            (tmp_path / "outbox" / "new").iterdir()
        ), "nothing is sent to what may be a robot"

        # the CLI rescue: a person's request after all; the due date follows the category
        code = main(
            ["--config", str(path), "model", "correct", reference, "foi_request", "--user", "sam"]
        )
        assert code == 0
        with register.transaction() as session:
            rescued = session.scalars(select(Case).where(Case.reference == reference)).one()
            assert (rescued.category, rescued.needs_review) == (Category.FOI_REQUEST, False)
            assert rescued.due_date is not None

            # and the web UI's reclassify on it names what staff still owe the requester
            rescued.category = Category.AUTOMATED.value
            notes = casework.reclassify(
                session,
                settings,
                UkCalendar(),
                rescued,
                category="information_request",
                note="a person",
                actor="sam",
                now=dt.datetime.now(dt.UTC),
            )
            assert rescued.category == Category.INFORMATION_REQUEST
            assert any("No acknowledgement went out" in n for n in notes)
    finally:
        register.dispose()


def _opened(session: object, case: Case) -> dict[str, list[str]]:
    """The detail of the case's ``case_opened`` audit event."""
    event = next(e for e in case.events if e.action == "case_opened")
    return dict(event.detail)
