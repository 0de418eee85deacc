"""Each office's protocol, row by row, through the real pipeline.

A table per office: a message of ours (a kind of request) arriving in one election phase,
the recipients it must be forwarded to, and the phrases its acknowledgement must and must not
contain, each row citing the paragraph of the office's own protocol it checks. Every message
goes the daemon's whole way (Maildir source, intake, parse, classify, decide, act, outbox),
with the shipped office profile (its [protocol]) and the shipped templates; only the mailbox,
the register and the delivery are local. Invariants checked on every office: each "passed
your message to X" in an acknowledgement is a forward in the outbox, and each forward is
named in the acknowledgement; and no acknowledgement promises an invented time limit.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import mailbox
import re
import time
import tomllib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from servers import SmtpSink
from sqlalchemy import select
from support.builders import message, smtp_config

from inbox_agent.acknowledge import route_recipient
from inbox_agent.pipeline import Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.models import AuditEvent, Case, OutboxMessage, forward_kind
from inbox_agent.settings import Settings, settings_from_dict

pytestmark = pytest.mark.integration

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"

# Our own messages, one per kind of request (written for these tests; see the classifier
# check in ``test_every_row_is_classified_as_meant``).
MESSAGES: dict[str, tuple[str, str, str]] = {
    "photo": (
        "meeting_request",
        "Photo with local officers",
        "Hello, I am standing for Police and Crime Commissioner. Could I arrange a photo "
        "opportunity with some of your neighbourhood officers next week for my campaign "
        "leaflet? A short photo call outside the station would be ideal.",
    ),
    "visit": (
        "meeting_request",
        "Request to visit the control room",
        "Dear SPOC, as a candidate I would like to visit the force control room and the "
        "custody suite at headquarters to see how calls are handled. Please let me know what "
        "dates would suit.",
    ),
    "ride": (
        "meeting_request",
        "Ride-along request",
        "Good afternoon. I am a prospective candidate and would welcome the chance to go on a "
        "ride-along with response officers on a Friday night shift to understand the "
        "pressures they face.",
    ),
    "meeting": (
        "meeting_request",
        "Meeting with the Chief Constable",
        "Dear Sir or Madam, I am the Green candidate and would like to request a one-to-one "
        "meeting with the Chief Constable and the Chief Executive to discuss rural crime "
        "before polling day.",
    ),
    "hustings": (
        "meeting_request",
        "Invitation to a hustings",
        "Our residents association is holding a hustings for the PCC candidates on 20 April. "
        "Could a senior police officer attend and speak at the hustings to answer questions "
        "about local policing?",
    ),
    "image": (
        "conduct_concern",
        "Police photos in a leaflet",
        "I want to raise a concern. A candidate's campaign leaflet delivered in my street uses "
        "police photos of officers in uniform with the force logo, which looks like the "
        "police support him. Surely this is not allowed?",
    ),
    "info": (
        "information_request",
        "Neighbourhood officer numbers",
        "Please could you tell me how many neighbourhood officers and PCSOs the force had in "
        "each of the last three years, and the budget for neighbourhood policing this year?",
    ),
    "declared": (
        "information_request",
        "Budget question",
        "I am standing as a candidate for Police and Crime Commissioner. Please could you tell "
        "me how many police officers and PCSOs the force employs, and the total budget for "
        "neighbourhood policing this year?",
    ),
    "foi": (
        "foi_request",
        "Freedom of Information request: consultancy spend",
        "Under the Freedom of Information Act 2000 please provide the total amount the Office "
        "of the Police and Crime Commissioner spent on external consultants in each of the "
        "last two financial years.",
    ),
    "electoral": (
        "electoral_process",
        "Nomination papers",
        "How many subscribers do I need on my nomination paper, and where and by when do I "
        "hand in the nomination papers and the deposit?",
    ),
    "media": (
        "media_enquiry",
        "Press enquiry from the Evening Post",
        "I am a reporter at the Evening Post writing a story about the PCC election. Could you "
        "send me a statement on how the office is making sure all candidates are treated "
        "equally, for our deadline on Thursday?",
    ),
    "conduct": (
        "conduct_concern",
        "Concern about an officer",
        "I am concerned about the behaviour of a police officer who has been openly "
        "canvassing for one of the candidates while on duty and in uniform, handing out his "
        "leaflets on the high street. Surely officers must stay politically neutral? Please "
        "investigate this conduct.",
    ),
}

# Said by no acknowledgement of any office: decisions promised for something refused, and
# time limits no protocol sets.
NEVER = (
    "We will let you know the decision",
    "Requests for meetings and visits are decided by the Chief Executive",
    "working days",
)
PASSED = re.compile(r"We have passed your message to (.+?)\.")


@dataclass(frozen=True)
class Row:
    cite: str  # the protocol paragraph this row checks
    message: str  # key of MESSAGES
    phase: str
    routes: frozenset[str]
    required: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()


def row(
    cite: str,
    msg: str,
    phase: str,
    routes: tuple[str, ...] = (),
    required: tuple[str, ...] = (),
    forbidden: tuple[str, ...] = (),
) -> Row:
    return Row(cite, msg, phase, frozenset(routes), required, forbidden)


BEFORE, PRE, AFTER_NOM, AFTER_POLL = (
    "before_pre_election",
    "pre_election",
    "after_nominations",
    "after_poll",
)
NOT_PERMITTED = "may not be filmed or photographed"
PRE_REFUSED = "must not be filmed or photographed with candidates"
UNTIL_PRE = "provided the person concerned is content to be filmed or photographed"

TABLES: dict[str, list[Row]] = {
    "bedfordshire": [
        row(
            "Photographs 17 (NPCC 6.2.1: not permitted in Bedfordshire)",
            "photo",
            BEFORE,
            required=(NOT_PERMITTED,),
            forbidden=(UNTIL_PRE, "passed your message"),
        ),
        row(
            "Photographs 15, 22e",
            "photo",
            AFTER_NOM,
            required=(NOT_PERMITTED, "campaign material"),
            forbidden=("passed your message",),
        ),
        row(
            "Visits to premises",
            "visit",
            PRE,
            required=("no visits to force or OPCC premises",),
            forbidden=("passed your message",),
        ),
        row(
            "Visits to premises: no ride-alongs",
            "ride",
            AFTER_NOM,
            required=("no ride-alongs",),
            forbidden=("passed your message",),
        ),
        row(
            "16: meetings only after formal nomination",
            "meeting",
            PRE,
            required=("only held after formal nomination", "Friday 5 April 2024"),
            forbidden=("passed your message",),
        ),
        row(
            "16: on request to the Chief Executive after nomination",
            "meeting",
            AFTER_NOM,
            ("chief_executive",),
            required=(
                "passed your message to the Chief Executive",
                "Questions must be sent in advance",
            ),
        ),
        row(
            "Photographs 15 (second): image misuse reported to the PARO",
            "image",
            PRE,
            ("paro", "chief_executive"),
            required=("reported to the Police Area Returning Officer", "remove or withdraw"),
        ),
        row(
            "20: image misuse outside the pre-election period",
            "image",
            BEFORE,
            ("chief_executive",),
            forbidden=("reported to the Police Area Returning Officer",),
        ),
        row(
            "10a, 10d, 10e",
            "info",
            PRE,
            required=("any member of the public", "as soon as possible", "will also be published"),
        ),
        row(
            "10d: FOI framework, time critical, response posted",
            "foi",
            AFTER_NOM,
            required=(
                "Freedom of Information Act 2000",
                "as soon as possible",
                "will also be published",
            ),
        ),
        row(
            "1, 17: the PARO",
            "electoral",
            PRE,
            ("paro",),
            required=("forwarded your message to Robin Porter",),
        ),
        row(
            "silent on hustings: staff reply",
            "hustings",
            AFTER_NOM,
            forbidden=("refused", "passed your message"),
        ),
    ],
    "cambridgeshire-peterborough": [
        row(
            "17: acceptable until the pre-election period",
            "photo",
            BEFORE,
            ("chief_executive",),
            required=(UNTIL_PRE, "Tuesday 26 March 2024"),
        ),
        row(
            "17, 19f: not within the pre-election period",
            "photo",
            PRE,
            required=(PRE_REFUSED,),
            forbidden=(UNTIL_PRE, "passed your message"),
        ),
        row(
            "5b.ii, 16: visits decided by the CEO with the Chief Constable",
            "visit",
            AFTER_NOM,
            ("chief_executive",),
            required=(
                "in consultation with the Chief Constable",
                "passed your message to the Chief Executive",
            ),
        ),
        row(
            "13-15: one briefing for all candidates",
            "meeting",
            PRE,
            required=("factual briefing for all candidates",),
            forbidden=("passed your message", "Individual meetings with candidates are not"),
        ),
        row(
            "11a, 11e: every response from the CEO, published",
            "info",
            AFTER_NOM,
            required=("sent by the OPCC Chief Executive", "will also be published"),
            forbidden=("as soon as possible",),
        ),
        row(
            "11d: FOI response posted on the web site",
            "foi",
            PRE,
            required=("will also be published",),
        ),
        row(
            "18: imagery removal considered",
            "image",
            AFTER_NOM,
            ("chief_executive",),
            required=("remove or withdraw",),
            forbidden=("reported to the Police Area Returning Officer",),
        ),
        row(
            "silent on hustings: staff reply",
            "hustings",
            PRE,
            forbidden=("refused", "passed your message"),
        ),
        row(
            "2, 15: the PARO",
            "electoral",
            AFTER_NOM,
            ("paro",),
            required=("forwarded your message to John Hill",),
        ),
    ],
    "nottinghamshire": [
        row(
            "1.1, 6.1, 6.2: undeclared treated as the public; responses by email",
            "declared",
            PRE,
            required=("formally declared", "sent by email", "will also be published"),
        ),
        row(
            "9.1: acceptable until the pre-election period",
            "photo",
            BEFORE,
            required=(UNTIL_PRE,),
            forbidden=("passed your message",),
        ),
        row(
            "9.1, 11.6: not within the pre-election period",
            "photo",
            AFTER_NOM,
            required=(PRE_REFUSED,),
            forbidden=(UNTIL_PRE,),
        ),
        row(
            "3.3.2, 8.6: visits case by case by the Chief Executive & MO",
            "visit",
            PRE,
            required=("case by case by the Chief Executive & Monitoring Officer",),
            forbidden=("passed your message",),
        ),
        row(
            "8.3: meetings only after a formal declaration",
            "meeting",
            BEFORE,
            required=("only arranged after a formal declaration",),
        ),
        row(
            "8.3: meetings on request after declaration, notes published",
            "meeting",
            AFTER_NOM,
            required=("Questions must be sent in advance", "notes of the discussion are published"),
        ),
        row(
            "6.4: FOI, the force answers its own, response posted",
            "foi",
            PRE,
            required=("will also be published", "answers for its own disclosure"),
        ),
        row(
            "1.3: conduct may be addressed to the PARO",
            "conduct",
            AFTER_NOM,
            required=(
                "conduct of a candidate may also be raised with the Police Area Returning Officer",
            ),
            forbidden=("passed your message",),
        ),
        row(
            "1.3: the PARO",
            "electoral",
            PRE,
            ("paro",),
            required=("forwarded your message to Katherine Marriott",),
        ),
    ],
    "norfolk": [
        row(
            "20: hustings must be refused",
            "hustings",
            PRE,
            required=("campaign hustings are refused",),
            forbidden=("passed your message",),
        ),
        row(
            "20: hustings refused before the pre-election period too",
            "hustings",
            BEFORE,
            required=("campaign hustings are refused",),
        ),
        row(
            "Handling Requests for Information, 11",
            "info",
            AFTER_NOM,
            required=(
                "during normal office hours, Monday to Friday",
                "has not already been made available to other candidates",
            ),
        ),
        row(
            "19: observing officers managed by the relevant SPOC",
            "ride",
            PRE,
            ("force_spoc",),
            required=(
                "passed your message to the Norfolk Constabulary election single point of contact",
                "limited in number",
            ),
        ),
        row(
            "19: meetings limited, logged, CE and Chief Constable only",
            "meeting",
            AFTER_NOM,
            ("chief_executive",),
            required=(
                "keeps a log of each meeting",
                "passed your message to the OPCC Chief Executive",
            ),
        ),
        row(
            "21: acceptable until the pre-election period",
            "photo",
            BEFORE,
            required=(UNTIL_PRE, "Monday 29 March 2021"),
        ),
        row(
            "21: not within the pre-election period",
            "photo",
            PRE,
            required=(PRE_REFUSED,),
            forbidden=(UNTIL_PRE,),
        ),
        row(
            "24: comments brought to the relevant SPOC; joint statement",
            "media",
            AFTER_NOM,
            ("force_spoc",),
            required=("joint OPCC and Constabulary statement",),
        ),
        row("12: FOI, response posted", "foi", AFTER_NOM, required=("will also be published",)),
        row(
            "11: electoral process referred to the PARO",
            "electoral",
            BEFORE,
            ("paro",),
            required=("forwarded your message to Trevor Holden",),
        ),
    ],
}


def phase_day(settings: Settings, phase: str) -> dt.date:
    """A weekday well inside ``phase`` of the office's timetable."""
    election = settings.election
    day = {
        BEFORE: election.pre_election_period_start - dt.timedelta(days=14),
        PRE: election.pre_election_period_start + dt.timedelta(days=2),
        AFTER_NOM: election.nominations_close + dt.timedelta(days=5),
        AFTER_POLL: election.poll_date + dt.timedelta(days=5),
    }[phase]
    while day.weekday() >= 5:
        day += dt.timedelta(days=1)
    return day


def office_settings(name: str, tmp_path: Path, smtp: dict[str, Any] | None = None) -> Settings:
    """The shipped profile with a local mailbox, register and delivery instead of its peers."""
    data = tomllib.loads((CONFIG_DIR / f"{name}.toml").read_text(encoding="utf-8"))
    data.pop("imap")
    data.pop("oauth2", None)
    data["maildir"] = {"path": str(tmp_path / "box")}
    data["database"] = {"url": f"sqlite:///{tmp_path / 'register.sqlite3'}"}
    data["smtp"] = smtp or {
        "from_address": data["office"]["inbox_address"],
        "deliver": "maildir",
        "maildir_path": str(tmp_path / "outbox"),
    }
    data["actions"] = {"acknowledge_since": dt.datetime(2000, 1, 1, tzinfo=dt.UTC)}
    data["transparency"] = {}
    return settings_from_dict(data, tmp_path / f"{name}.toml")


def deliver(tmp_path: Path, raw: bytes, day: dt.date) -> None:
    """Into the Maildir as the office's server would: stamped Received on ``day``."""
    when = dt.datetime.combine(day, dt.time(10, 0), dt.UTC)
    stamp = f"Received: from mx.example.net by inbox.example.org; {format_datetime(when)}\r\n"
    box = mailbox.Maildir(tmp_path / "box", create=True)
    item = mailbox.MaildirMessage(stamp.encode("ascii") + raw)
    item.set_date(when.timestamp())
    box.add(item)
    box.close()


def sender_of(office: str, index: int) -> str:
    return f"row{index}.{office.split('-')[0]}@example.com"


def run_table(office: str, tmp_path: Path) -> tuple[Settings, dict[str, Case], list[OutboxMessage]]:
    settings = office_settings(office, tmp_path)
    for index, r in enumerate(TABLES[office]):
        _, subject, body = MESSAGES[r.message]
        day = phase_day(settings, r.phase)
        when = dt.datetime.combine(day, dt.time(9, 0), dt.UTC)
        deliver(
            tmp_path,
            message(f"Row {index} <{sender_of(office, index)}>", subject, body, date=when),
            day,
        )
    register = Register(settings.database.url)
    try:
        Pipeline(settings, register).run_once()
        with register.transaction() as s:
            cases = {c.requester_email: c for c in s.scalars(select(Case))}
            outbox = list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
            s.expunge_all()
    finally:
        register.dispose()
    return settings, cases, outbox


def body_text(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return " ".join(str(part.get_content()).split())


@pytest.mark.parametrize("office", sorted(TABLES))
def test_office_protocol_table(office: str, tmp_path: Path) -> None:
    settings, cases, outbox = run_table(office, tmp_path)
    titles = {
        route_recipient(settings, key).title: key for key in ("paro", *settings.protocol.recipients)
    }
    failures = []
    for index, r in enumerate(TABLES[office]):
        case = cases[sender_of(office, index)]
        label = f"{office} row {index} ({r.cite}; {r.message} in {r.phase})"
        assert case.category == MESSAGES[r.message][0], label
        assert not case.needs_review, label
        rows = [o for o in outbox if o.case_id == case.id]
        forwards = {o.kind for o in rows if o.kind.endswith("_forward")}
        if forwards != {forward_kind(k) for k in r.routes}:
            failures.append(f"{label}: forwards {sorted(forwards)}, expected {sorted(r.routes)}")
        acks = [o for o in rows if o.kind == "acknowledgement"]
        assert len(acks) == 1, label
        text = body_text(acks[0].raw)
        for phrase in r.required:
            if " ".join(phrase.split()) not in text:
                failures.append(f"{label}: missing {phrase!r}")
        for phrase in (*r.forbidden, *NEVER):
            if phrase in text:
                failures.append(f"{label}: must not say {phrase!r}")
        named = {t for m in PASSED.finditer(text) for t in m.group(1).split(" and ")}
        named_routes = {titles[t] for t in named}
        if "forwarded your message to" in text:
            named_routes.add("paro")
        if {forward_kind(k) for k in named_routes} != forwards:
            failures.append(f"{label}: says passed to {sorted(named)}, forwards {forwards}")
    assert not failures, "\n".join(failures)


def test_every_forward_is_on_the_case_and_its_audit_trail(tmp_path: Path) -> None:
    """A forward is an outbox row of the case with an audit event naming the recipient."""
    settings = office_settings("norfolk", tmp_path)
    deliver(
        tmp_path, message("Row <ride@example.com>", *MESSAGES["ride"][1:]), phase_day(settings, PRE)
    )
    register = Register(settings.database.url)
    try:
        Pipeline(settings, register).run_once()
        with register.transaction() as s:
            case = s.scalars(select(Case)).one()
            kinds = [o.kind for o in case.outbox]
            events = {e.action: e.detail for e in case.events}
        assert kinds == ["force_spoc_forward", "acknowledgement"]
        assert events["forward_queued"]["route"] == "force_spoc"
        assert "Norfolk 19" in events["forward_queued"]["cites"][0]
        assert any("Norfolk 19" in r for r in events["case_opened"]["reasons"])
    finally:
        register.dispose()


def test_routed_forward_reaches_the_force_spoc_over_smtp(
    tmp_path: Path, smtp_sink: SmtpSink
) -> None:
    """Norfolk 19 over real SMTP (aiosmtpd): the force SPOC gets the original intact."""
    settings = office_settings(
        "norfolk",
        tmp_path,
        smtp=smtp_config(smtp_sink.host, smtp_sink.port, from_address="spoc@norfolk.example.org"),
    )
    original = message("Row <ride@example.com>", *MESSAGES["ride"][1:])
    deliver(tmp_path, original, phase_day(settings, PRE))
    register = Register(settings.database.url)
    try:
        Pipeline(settings, register).run_once()
    finally:
        register.dispose()
    deadline = time.monotonic() + 5.0
    while len(smtp_sink.messages) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    by_rcpt = {m.rcpt_tos: m for m in smtp_sink.messages}
    forward = by_rcpt[("malcolm.cooke@norfolk.police.uk",)]
    parsed = email.message_from_bytes(forward.data, policy=email.policy.default)
    assert "For Norfolk Constabulary election single point of contact" in str(parsed["Subject"])
    attached = [p for p in parsed.walk() if p.get_content_type() == "message/rfc822"]
    assert len(attached) == 1
    inner = attached[0].get_payload()[0]
    assert inner["Subject"] == MESSAGES["ride"][1]
    ack = by_rcpt[("ride@example.com",)]
    assert "Norfolk Constabulary election single point of contact" in " ".join(
        ack.data.decode("utf-8", "replace").split()
    )


def test_nottinghamshire_records_undeclared_people_as_public(tmp_path: Path) -> None:
    """Nottinghamshire 1.1: saying "I am standing" does not make a candidate of the register."""
    settings, cases, _ = run_table("nottinghamshire", tmp_path)
    declared = cases[sender_of("nottinghamshire", 0)]
    assert declared.requester_type == "public"
    register = Register(settings.database.url)
    try:
        with register.transaction() as s:
            events = s.scalars(
                select(AuditEvent).where(
                    AuditEvent.case_id == declared.id, AuditEvent.action == "treated_as_public"
                )
            ).all()
            assert [e.detail["self_described"] for e in events] == ["candidate"]
    finally:
        register.dispose()


def test_force_foi_disclosure_is_filed_against_the_original_request(tmp_path: Path) -> None:
    """Nottinghamshire 6.4: the force's disclosure joins the request; no second FOI clock."""
    settings = office_settings("nottinghamshire", tmp_path)
    day = phase_day(settings, PRE)
    _, subject, body = MESSAGES["foi"]
    request = message("Fay Requester <fay@example.com>", subject, body, message_id="<r1@ex>")
    deliver(tmp_path, request, day)
    register = Register(settings.database.url)
    try:
        Pipeline(settings, register).run_once()
        with register.transaction() as s:
            original = s.scalars(select(Case)).one()
            reference, due = original.reference, original.due_date
        later = day + dt.timedelta(days=7)
        quoting = message(
            "Force FOI Team <foi@notts.police.uk>",
            "FOI 2024/0456 response",
            f"Please find our response to the request you passed to us (your reference "
            f"{reference}). Under the Freedom of Information Act 2000 we hold the following "
            "information about consultancy spending.",
        )
        threaded = message(
            "Disclosure Unit <disclosure@foi.notts.police.uk>",
            "Re: " + subject,
            "Our disclosure to the requester under the Freedom of Information Act 2000 is below.",
            headers={"In-Reply-To": "<r1@ex>", "References": "<r1@ex>"},
        )
        unmatched = message(
            "Force FOI Team <foi@notts.police.uk>",
            "FOI 2024/0999 response",
            "Under the Freedom of Information Act 2000 we enclose our disclosure on overtime.",
        )
        relayed = message(  # a police colleague passing on a new request (6.2): not a disclosure
            "PC Smith <pc.smith@notts.police.uk>",
            "FW: Request for candidate information",
            "Forwarding to the election SPOC, please deal.\n\n-----Original Message-----\n"
            "From: Gil Asker [mailto:gil@example.co.uk]\nSent: 02 April 2024 16:20\n"
            "To: Enquiries <enquiries@notts.police.uk>\nSubject: Neighbourhood officer numbers"
            f"\n\n{MESSAGES['info'][2]}\n\nGil\n",
        )
        for raw in (quoting, threaded, unmatched, relayed):
            deliver(tmp_path, raw, later)
        Pipeline(settings, register).run_once()
        with register.transaction() as s:
            cases = list(s.scalars(select(Case).order_by(Case.id)))
            by_requester = {c.requester_email: c for c in cases}
            assert by_requester["gil@example.co.uk"].forwarded_by == "pc.smith@notts.police.uk"
            assert not by_requester["gil@example.co.uk"].needs_review
            cases.remove(by_requester["gil@example.co.uk"])
            assert len(cases) == 2, "one request, one unmatched disclosure for staff"
            first, other = cases
            assert first.reference == reference and first.due_date == due
            assert len(first.messages) == 3
            filed = [e for e in first.events if e.action == "force_disclosure_filed"]
            assert len(filed) == 2
            assert other.needs_review and other.due_date is None
            recipients = set(s.scalars(select(OutboxMessage.recipient)))
            assert recipients == {"fay@example.com", "gil@example.co.uk"}, "never the force"
    finally:
        register.dispose()
