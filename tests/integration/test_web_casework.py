"""Statutory casework in a real Chromium: the clock's steps, letters, outcome, internal review.

A FOI request is read from Dovecot on Mon 2 March 2026 (due Tue 31 March: worked by hand in
tests/unit/test_statutory_clock.py); the office's clock is moved on as the weeks pass, staff
record each step through the page, fill the reply from a statutory letter and send it to an
aiosmtpd sink. The case page, with its steps and forms, is checked with axe-core.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import pytest
from openpyxl import Workbook
from playwright.sync_api import BrowserContext, Page, Playwright, expect
from servers import DovecotServer, SmtpSink
from sqlalchemy import select
from support.builders import imap_settings, message, smtp_config
from support.statutory_cases import statutory_case
from support.webserver import WebServer, axe_script, chromium, shot, sign_in

from inbox_agent.casework.statutory import record_outcome
from inbox_agent.pipeline import Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.models import AuditEvent, Case, ClockEventRow
from inbox_agent.send import Sender
from inbox_agent.settings import Settings, WebSettings
from inbox_agent.web import accounts
from inbox_agent.web.app import create_app

pytestmark = pytest.mark.integration

SECRET = "casework-session-key-" + "y" * 40
OFFICER = ("fiona", "fiona-password-1", "Fiona Officer")
REVIEWER = ("raj", "raj-password-123", "Raj Reviewer")
RECEIVED = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)  # Mon 2 Mar 2026
REQUESTER = "rita@example.org"


@dataclass
class Office:
    settings: Settings
    register: Register
    sink: SmtpSink
    web: WebServer
    clock: list[dt.datetime]

    def case(self, **where: object) -> Case:
        with self.register.transaction() as s:
            query = select(Case).filter_by(**where).order_by(Case.id)
            return s.scalars(query).first() or pytest.fail(f"no case {where}")

    def at(self, day: dt.date) -> None:
        self.clock[0] = dt.datetime.combine(day, dt.time(10, 0), dt.UTC)


@pytest.fixture
def office(dovecot: DovecotServer, smtp_sink: SmtpSink, tmp_path: Path) -> Iterator[Office]:
    body = (
        "Under the Freedom of Information Act 2000 please send me the number of police "
        "officer overtime hours paid in 2025, by month."
    )
    dovecot.append(
        "INBOX", message("Rita Requester <rita@example.org>", "Overtime hours", body, date=RECEIVED)
    )
    register = Register(f"sqlite:///{tmp_path / 'register.sqlite3'}")
    settings = imap_settings(
        register.engine.url.render_as_string(hide_password=False),
        dovecot.host,
        dovecot.port,
        dovecot.user,
        dovecot.password,
        smtp=smtp_config(smtp_sink.host, smtp_sink.port),
    ).model_copy(update={"web": WebSettings(secure_cookies=False)})
    clock = [RECEIVED]
    Pipeline(settings, register, clock=lambda: clock[0]).run_once()
    with register.transaction() as s:
        for name, password, display in (OFFICER, REVIEWER):
            accounts.add_user(
                s, name, password, role="triage", display_name=display, actor="t", now=RECEIVED
            )
    server = WebServer(create_app(settings, register, secret_key=SECRET, clock=lambda: clock[0]))
    server.start()
    try:
        yield Office(settings, register, smtp_sink, server, clock)
    finally:
        server.stop()
        register.dispose()


def _open_on(
    page: Page, office: Office, day: dt.date, reference: str, who: tuple[str, str, str] = OFFICER
) -> None:
    """Days later: the session has expired by then (web.session_hours), so sign in again."""
    office.at(day)
    page.context.clear_cookies()
    sign_in(page, office.web.url, who, start=f"/cases/{reference}")


def _step(page: Page, kind: str, on: str, reason: str, until: str = "") -> None:
    page.get_by_label("Step", exact=True).select_option(label=kind)
    page.get_by_label("Date it happened").fill(on)
    page.get_by_label("Extended to (extensions only)").fill(until)
    page.get_by_label("Reason (goes on the audit trail)").fill(reason)
    page.get_by_role("button", name="Record step").click()


def _send(page: Page, attachments: list[str] | None = None) -> None:
    """Preview the reply (with what it carries), then send it."""
    page.get_by_role("button", name="Preview reply").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Check the reply")
    for name in attachments or []:
        expect(page.get_by_role("listitem").filter(has_text=name)).to_be_visible()
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("status")).to_contain_text("Reply queued")


def _letter(page: Page, label: str) -> str:
    page.get_by_label("Letter", exact=True).select_option(label=label)
    page.get_by_role("button", name="Fill the reply box").click()
    return page.get_by_label(re.compile("Your reply to")).input_value()


def test_an_officer_works_the_foi_clock_letters_outcome_and_review(
    office: Office, browser: BrowserContext
) -> None:
    case = office.case(requester_email=REQUESTER)
    assert (case.category, case.due_date) == ("foi_request", dt.date(2026, 3, 31))
    page = browser.new_page()
    _open_on(page, office, dt.date(2026, 3, 4), case.reference)
    summary = page.locator("#clock-summary")
    expect(summary).to_contain_text("Tue 31 Mar 2026")

    # clarification sought: the clock stops; a step without a reason is refused by the form
    page.get_by_label("Step", exact=True).select_option("clarification_sought")
    page.get_by_role("button", name="Record step").click()
    expect(page.get_by_label("Reason (goes on the audit trail)")).to_have_js_property(
        "validity.valid", False
    )
    _step(page, "Clarification sought (clock stopped)", "2026-03-04", "Which force area?")
    expect(page.get_by_role("status")).to_contain_text("clock is stopped")
    expect(summary).to_contain_text("Clock stopped since Wed 4 Mar 2026")
    text = _letter(page, "Clarification request")
    assert "will start again from that day" in text and case.reference in text

    # the answer arrives on Fri 13 Mar: 20 working days again, over Easter -> Wed 15 Apr
    _open_on(page, office, dt.date(2026, 3, 16), case.reference)
    _step(page, "Clarification or identity received (clock restarted)", "2026-03-13", "Answered")
    expect(page.get_by_role("status")).to_contain_text("now due on 2026-04-15")
    expect(summary).to_contain_text("Wed 15 Apr 2026")

    # a public-interest extension after the statutory date is refused, on it accepted
    _open_on(page, office, dt.date(2026, 4, 16), case.reference)
    _step(page, "Extension notice given", "2026-04-16", "Late", until="2026-05-01")
    expect(page.get_by_role("alert").or_(page.locator(".notice-error"))).to_contain_text("Too late")
    _step(page, "Extension notice given", "2026-04-15", "s.31 public interest test")
    expect(page.get_by_role("status")).to_contain_text("now due on 2026-05-14")
    expect(page.locator("#clock-steps tbody tr")).to_have_count(3)
    shot(page, "case-statutory-clock", part="section:has(#statutory)")
    assert "Thursday 14 May 2026" in _letter(page, "Public interest extension notice (s.17(2))")

    # the outcome: a refusal must name its exemptions (s.17(1))
    page.get_by_label("Outcome", exact=True).select_option("refused")
    page.get_by_role("button", name="Record outcome").click()
    expect(page.locator(".notice-error")).to_contain_text("must name the exemption")
    page.get_by_label(re.compile(r"^s\.31 Law enforcement")).check()
    page.get_by_label(re.compile(r"^s\.40 Personal information")).check()
    page.get_by_label("Outcome", exact=True).select_option("refused")
    page.get_by_label("Date of the response").fill("2026-04-16")
    page.get_by_role("button", name="Record outcome").click()
    expect(page.get_by_role("status")).to_contain_text("Outcome recorded")
    expect(summary).to_contain_text("exemptions: s.31, s.40")

    # the refusal notice: one paragraph per exemption, the public interest test for s.31 only
    refusal = _letter(page, "Refusal notice, per exemption recorded (s.17)")
    assert "Section 31 of the Freedom of Information Act 2000 (law enforcement)" in refusal
    assert "Section 40 of the Freedom of Information Act 2000 (personal information)" in refusal
    assert refusal.count("Public interest test") == 1
    assert "ico.org.uk/make-a-complaint" in refusal and OFFICER[2] in refusal
    page.get_by_label(re.compile("Your reply to")).fill(refusal.replace("[", "(").replace("]", ")"))
    _send(page)
    Sender(office.settings, office.register, clock=lambda: office.clock[0]).drain()
    sent = [m for m in office.sink.messages if m.rcpt_tos == (REQUESTER,)]
    letter = email.message_from_bytes(sent[-1].data, policy=email.policy.default)
    assert case.reference in str(letter["Subject"])
    plain = letter.get_body(("plain",))
    assert plain is not None and "Section 40 of the Freedom" in plain.get_content()

    # an internal review: a linked case, 20 working days from Mon 11 May 2026 -> Tue 9 Jun
    _open_on(page, office, dt.date(2026, 5, 11), case.reference)
    page.get_by_label("Date the review was asked for").fill("2026-05-11")
    page.get_by_label("What the requester wants reviewed").fill("Please look again at s.31")
    page.get_by_role("button", name="Open internal review").click()
    expect(page.get_by_role("status")).to_contain_text("due 2026-06-09")
    review = office.case(review_of_id=case.id)
    page.get_by_role("link", name=review.reference).first.click()
    expect(page.locator("#clock-summary")).to_contain_text("Tue 9 Jun 2026")
    expect(page.get_by_text(f"This is the internal review of {case.reference}")).to_be_visible()
    assert case.reference in _letter(page, "Internal review outcome")

    with office.register.transaction() as s:
        steps = s.scalars(select(ClockEventRow).order_by(ClockEventRow.id)).all()
        assert [(r.kind, r.actor, r.due_after) for r in steps] == [
            ("clarification_sought", OFFICER[0], None),
            ("clarification_received", OFFICER[0], dt.date(2026, 4, 15)),
            ("extension", OFFICER[0], dt.date(2026, 5, 14)),
        ]
        actions = s.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.actor == OFFICER[0], AuditEvent.case_id == case.id)
            .order_by(AuditEvent.id)
        ).all()
        assert actions == [
            "clock_event_recorded",
            "clock_event_recorded",
            "clock_event_recorded",
            "outcome_recorded",
            "reply_queued",
            "review_requested",
        ]


def _axe_serious(page: Page) -> list[str]:
    page.add_script_tag(path=str(axe_script()))
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        f"{v['id']}: {v['help']} x{len(v['nodes'])}"
        for v in violations
        if v.get("impact") in ("serious", "critical")
    ]


def test_a_stopped_clock_shows_on_the_case_queue_and_dashboard_axe_clean(
    office: Office, driver: Playwright
) -> None:
    """Stopped for a fee: never "no due date"; what is awaited, since when and why, everywhere."""
    if not axe_script().is_file():
        pytest.fail(f"axe-core not found at {axe_script()}: run scripts/test.sh (npm axe-core)")
    case = office.case(requester_email=REQUESTER)
    office.at(dt.date(2026, 3, 4))
    stopped = "Clock stopped since Wed 4 Mar 2026: waiting for the fee"
    with chromium(driver, bypass_csp=True) as context:
        page = context.new_page()
        sign_in(page, office.web.url, OFFICER, start=f"/cases/{case.reference}")
        _step(page, "Fees notice given (clock stopped)", "2026-03-04", "900 pages to copy")
        expect(page.locator("#clock-steps tbody tr")).to_have_count(1)
        expect(page.locator("#clock-summary")).to_contain_text(stopped)
        due = page.locator("dl.summary div").filter(has=page.get_by_text("Due", exact=True))
        expect(due.locator("dd")).to_have_text(f"{stopped} (900 pages to copy)")
        assert _axe_serious(page) == []

        office.at(dt.date(2026, 3, 20))  # 16 days on, nothing paid; signed out by then
        page.context.clear_cookies()
        sign_in(page, office.web.url, OFFICER, start="/")
        row = page.locator("tbody tr", has_text=case.reference)
        expect(row.locator("td[data-label=Due]")).to_have_text(f"{stopped} (900 pages to copy)")
        assert _axe_serious(page) == []

        page.goto(f"{office.web.url}/dashboard")
        expect(page.locator("#stopped-clocks tbody tr")).to_have_count(1)
        expect(page.locator("#stopped-clocks tbody tr td")).to_have_text(
            ["FOI request", "The fee", "Wed 4 Mar 2026", "16", "900 pages to copy"]
        )
        assert _axe_serious(page) == []


def test_dashboard_statistics_chart_table_and_csv(office: Office, driver: Playwright) -> None:
    if not axe_script().is_file():
        pytest.fail(f"axe-core not found at {axe_script()}: run scripts/test.sh (npm axe-core)")
    # Rita's request (2 Mar, due 31 Mar) is unanswered on 10 Apr: late. Two more in Q1:
    # Mon 12 Jan is due Mon 9 Feb, answered Sun 1 Feb: in time; Mon 2 Feb is due Mon 2 Mar,
    # answered Thu 5 Mar: late. Q1: 3 received, 1 in time, 2 late: 33%.
    with office.register.transaction() as s:
        for n, (received, answered) in enumerate(
            [
                (dt.date(2026, 1, 12), dt.date(2026, 2, 1)),
                (dt.date(2026, 2, 2), dt.date(2026, 3, 5)),
            ],
            start=2,
        ):
            at = dt.datetime.combine(received, dt.time(10), dt.UTC)
            case = statutory_case(s, n, at, requester=f"p{n}@example.org")
            record_outcome(
                s,
                case,
                outcome="granted_in_part",
                exemptions=["s.40"],
                responded_on=answered,
                actor="t",
                now=at,
                today=answered,
            )
    office.at(dt.date(2026, 4, 10))
    with chromium(driver, bypass_csp=True, accept_downloads=True) as context:
        page = context.new_page()
        sign_in(page, office.web.url, OFFICER, start="/dashboard")
        expect(page.locator("figure.chart svg[role=img]")).to_have_count(1)  # SAR, reviews: none
        expect(page.locator("figure.chart svg title").first).to_contain_text("FOI requests")
        q1 = page.locator("#statistics-foi tbody tr", has_text="2026-Q1")
        expect(q1.locator("td")).to_have_text(
            [
                "3",
                "1",
                "0",
                "2",
                "0",
                "33%",
                "Granted in part (some information withheld) 2",
                "s.40 2",
            ]
        )
        shot(page, "dashboard-statistics", part="section:has(#statistics)")
        with page.expect_download() as download:
            page.get_by_role("link", name="Download the figures (CSV)").click()
        text = Path(download.value.path()).read_text(encoding="utf-8-sig")
        assert "foi,2026-Q1,3,1,0,2,0,33.3," in text
        page.add_script_tag(path=str(axe_script()))
        violations = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
    serious = [v["id"] for v in violations if v.get("impact") in ("serious", "critical")]
    assert serious == []


def _workbook(hidden: bool) -> bytes:
    wb = Workbook()
    wb.active.append(["Month", "Overtime hours"])
    wb.active.append(["January 2025", 1200])
    if hidden:
        wb.create_sheet("Working").append(["Officer", "Hours", "Home postcode"])
        wb["Working"].sheet_state = "hidden"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _attach(page: Page, name: str, data: bytes) -> None:
    page.get_by_label("File to attach").set_input_files(
        files=[{"name": name, "mimeType": "application/octet-stream", "buffer": data}]
    )
    page.get_by_role("button", name="Attach file").click()


def test_reply_attachments_are_inspected_and_a_second_person_approves(
    office: Office, driver: Playwright
) -> None:
    if not axe_script().is_file():
        pytest.fail(f"axe-core not found at {axe_script()}: run scripts/test.sh (npm axe-core)")
    case = office.case(requester_email=REQUESTER)
    clean, hidden = _workbook(False), _workbook(True)
    with chromium(driver, bypass_csp=True) as context:
        page = context.new_page()
        _open_on(page, office, dt.date(2026, 3, 20), case.reference)
        status = page.get_by_role("status")
        _attach(page, "overtime.xlsx", clean)
        expect(status).to_contain_text("overtime.xlsx attached; it goes with the next reply")
        _attach(page, "working.xlsx", hidden)
        expect(status).to_contain_text("a second member of staff must approve it")
        _attach(page, "macro.xlsm", b"PK\x03\x04")
        expect(status).to_contain_text("macro.xlsm is blocked")
        files = page.locator(".reply-files .files > li")
        expect(files).to_have_count(3)
        expect(files.nth(1)).to_contain_text("sheet 'Working' is hidden")
        expect(files.nth(1)).to_contain_text("Needs a second approval")
        expect(page.get_by_role("button", name="Approve working.xlsx")).to_have_count(0)
        page.add_script_tag(path=str(axe_script()))
        violations = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        assert [v["id"] for v in violations if v.get("impact") in ("serious", "critical")] == []

        reply = page.get_by_label(re.compile("Your reply to"))
        reply.fill("Dear Rita,\n\nThe figures are attached.\n\nFiona")
        page.get_by_role("button", name="Preview reply").click()
        expect(page.get_by_role("alert")).to_contain_text("macro.xlsm is blocked")
        page.get_by_role("button", name="Remove macro.xlsm").click()
        expect(status).to_contain_text("macro.xlsm removed")
        reply.fill("Dear Rita,\n\nThe figures are attached.\n\nFiona")
        page.get_by_role("button", name="Preview reply").click()
        expect(page.get_by_role("alert")).to_contain_text("working.xlsx needs a second")

        _open_on(page, office, dt.date(2026, 3, 20), case.reference, who=REVIEWER)
        page.get_by_role("button", name="Approve working.xlsx").click()
        expect(status).to_contain_text("working.xlsx approved")
        reply.fill("Dear Rita,\n\nThe figures are attached, with our workings.\n\nRaj")
        _send(page, attachments=["overtime.xlsx", "working.xlsx"])
        expect(page.locator(".reply-files .files > li")).to_have_count(0)

    Sender(office.settings, office.register, clock=lambda: office.clock[0]).drain()
    sent = [m for m in office.sink.messages if m.rcpt_tos == (REQUESTER,)]
    parsed = email.message_from_bytes(sent[-1].data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    attached = {a.get_filename(): a.get_content() for a in parsed.iter_attachments()}
    assert attached == {"overtime.xlsx": clean, "working.xlsx": hidden}
    with office.register.transaction() as s:
        actions = s.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.case_id == case.id, AuditEvent.action.like("attachment%"))
            .order_by(AuditEvent.id)
        ).all()
    assert actions == [
        "attachment_added",
        "attachment_added",
        "attachment_added",
        "attachment_removed",
        "attachment_approved",
        "attachments_sent",
    ]
