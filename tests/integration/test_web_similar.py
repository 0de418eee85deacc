"""Answer once, answer all, in a real headless Chromium over an office fed by real mail.

The office (``tests/transparency_office.py``) reads its Maildir with the real pipeline: one
candidate asks how many PCSOs work in a district and is answered, and the answer is approved
and published; another candidate's agent asks the same in other words; a third candidate sends
the same FOI request twice, the first already answered; three residents send one petition.
Staff then start the agent's reply from the published answer (audited), see the campaign in
the queue, the s.12 and s.14 flags on the repeated FOI request, and on the parity page the
same question answered with different figures.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Playwright, expect
from sqlalchemy import select
from support.transparency_office import B_AGENT, MONDAY, A, B, C, Office
from support.webserver import WebServer, axe_script, chromium, serious_violations, shot, sign_in

from inbox_agent.register.models import AuditEvent, OutboxMessage
from inbox_agent.settings import WebSettings
from inbox_agent.transparency.publish import approve_publication, publish_log
from inbox_agent.web import accounts
from inbox_agent.web.app import create_app

pytestmark = pytest.mark.integration

SECRET = "test-session-key-" + "s" * 40
STAFF = ("rachel", "rachel-password-1", "Rachel Thornbury")
ANSWERED = MONDAY + dt.timedelta(days=1)
NOW = MONDAY + dt.timedelta(days=3, hours=2)  # Thursday 15 April 2027
ASK_A = """Dear Election Team,

Could you tell me how many police community support officers are employed in the Lowtown
district this year?

Kind regards,
Harriet Ogunleye
"""
ANSWER_A = """Dear Ms Ogunleye,

There are 38 police community support officers in the Lowtown district this year, working
from two bases.
"""
ASK_B = """Hello,

Please tell me the number of PCSOs employed in the Lowtown district this year.

Thanks,
Yusuf Demir
"""
FOI_FIRST = (
    "Under the Freedom of Information Act 2000, please provide the overtime spend of the "
    "police force for each of the last three financial years."
)
FOI_AGAIN = (
    "Under the Freedom of Information Act 2000, I request the police force's overtime spend "
    "in each of the last three financial years."
)
PETITION = (
    "I am writing as a resident to ask the Commissioner to keep the Millbrook police station "
    "front counter open. Closing it would leave the town without a police presence.\n\n{name}"
)
RESIDENTS = ("Ada Whitlock", "Bernard Okafor", "Cerys Pritchard")


@dataclass
class Site:
    office: Office
    web: WebServer
    to_a: str
    to_b: str
    foi_first: str
    foi_again: str
    petition: list[str]

    def events(self, action: str) -> list[AuditEvent]:
        with self.office.register.transaction() as session:
            return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    office = Office(tmp_path, publish_after_working_days=5)
    try:
        office.import_roster()
        to_a = office.receive(f"{A['name']} <{A['email']}>", "PCSOs in Lowtown", ASK_A)
        office.answer(to_a.reference, ANSWER_A, now=ANSWERED)
        with office.register.transaction() as session:
            case = Office.case(session, to_a.reference)
            approve_publication(session, office.settings, case, actor="rachel", now=ANSWERED)
            publish_log(session, office.settings, tmp_path / "log", actor="t", now=ANSWERED)
        later = MONDAY + dt.timedelta(days=2)
        to_b = office.receive(
            f"{B_AGENT['name']} <{B_AGENT['email']}>", "Question", ASK_B, now=later
        )
        first = office.receive(f"{C['name']} <{C['email']}>", "FOI: overtime", FOI_FIRST)
        office.answer(first.reference, "The overtime figures are attached.", now=ANSWERED)
        again = office.receive(f"{C['name']} <{C['email']}>", "Overtime", FOI_AGAIN, now=later)
        petition = [
            office.receive(
                f"{name} <{name.split()[0].lower()}@residents.example.org>",
                "Keep Millbrook police station open",
                PETITION.format(name=name),
                now=later,
            ).reference
            for name in RESIDENTS
        ]
        with office.register.transaction() as session:
            accounts.add_user(
                session,
                STAFF[0],
                STAFF[1],
                role="triage",
                display_name=STAFF[2],
                actor="t",
                now=NOW,
            )
        settings = office.settings.model_copy(update={"web": WebSettings(secure_cookies=False)})
        server = WebServer(
            create_app(settings, office.register, secret_key=SECRET, clock=lambda: NOW)
        )
        server.start()
        try:
            yield Site(
                office,
                server,
                to_a.reference,
                to_b.reference,
                first.reference,
                again.reference,
                petition,
            )
        finally:
            server.stop()
    finally:
        office.close()


def test_staff_start_a_reply_from_the_published_answer_and_the_reuse_is_audited(
    site: Site, browser: BrowserContext
) -> None:
    base = site.web.url
    page = browser.new_page()
    sign_in(page, base, STAFF)

    # the queue shows the petition as one campaign; its page lists all three
    tags = page.get_by_role("link", name="Campaign: 3 alike")
    expect(tags).to_have_count(3)
    tags.first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Campaign mail")
    rows = page.locator("section table tbody tr")
    expect(rows).to_have_count(3)
    for reference in site.petition:
        expect(rows.filter(has_text=reference)).to_have_count(1)
    page.get_by_label("One officer for all 3 requests").fill(STAFF[2])
    page.get_by_role("button", name="Assign the group").click()
    expect(page.get_by_role("status")).to_contain_text("All 3 requests of the group assigned")
    expect(rows.filter(has_text=STAFF[2])).to_have_count(3)
    assert len(site.events("officer_assigned")) == 3, "one audit event per case"

    # the agent's case: A's published answer is listed, and starts the reply
    page.goto(f"{base}/cases/{site.to_b}")
    panel = page.locator("section:has(#similar)")
    row = panel.locator("tbody tr").filter(has_text=site.to_a)
    expect(row).to_contain_text("On the disclosure log since Tue 13 Apr 2027")
    expect(row).to_contain_text(A["name"])  # staff see who asked; the reply gets only the answer
    shot(page, "case-similar", part="section:has(#similar)")
    row.get_by_role("link", name=f"Start the reply from the approved answer of {site.to_a}").click()
    expect(page).to_have_url(re.compile(rf"\?reuse={site.to_a}#reply$"))
    expect(page.locator("section:has(#reply) .notice")).to_contain_text(site.to_a)
    reply = page.get_by_label(re.compile("Your reply to"))
    draft = reply.input_value()
    assert draft.startswith(f"Dear {B_AGENT['name']},")
    assert "There are 38 police community support officers" in draft
    assert "[name]" not in draft and "Ogunleye" not in draft
    page.get_by_role("button", name="Preview reply").click()
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("status")).to_contain_text("Reply queued")

    [event] = site.events("answer_reused")
    assert event.actor == STAFF[0]
    assert event.detail["from_case"] == site.to_a and event.detail["answer_edited"] is False
    with site.office.register.transaction() as session:
        case = Office.case(session, site.to_b)
        assert event.case_id == case.id
        [sent] = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.case_id == case.id, OutboxMessage.kind == "reply"
            )
        )
        assert b"38 police community support officers" in sent.raw.replace(b"=\r\n", b"")
    expect(page.locator("table.audit")).to_contain_text("Answer reused")

    # the repeated FOI request: both flags, pointing at the first request
    page.goto(f"{base}/cases/{site.foi_again}")
    s12 = page.get_by_role("region", name="Possible aggregation of costs (FOIA s.12)")
    expect(s12).to_contain_text(site.foi_first)
    expect(s12).to_contain_text("same requester")
    s14 = page.get_by_role("region", name="Possible repeated request (FOIA s.14(2))")
    expect(s14).to_contain_text(site.foi_first)
    expect(s14).to_contain_text("answered Tue 13 Apr 2027")
    # a request that is not FOI carries no flag; a campaign member says so
    page.goto(f"{base}/cases/{site.petition[1]}")
    expect(page.get_by_role("region", name="Campaign mail")).to_contain_text("3 different senders")
    expect(page.locator(".warning")).to_have_count(0)


def test_the_parity_page_flags_the_same_question_answered_with_other_figures(
    site: Site, browser: BrowserContext
) -> None:
    different = "Dear Mr Demir,\n\nThere are 35 PCSOs in Lowtown district this year."
    site.office.answer(site.to_b, different, now=NOW - dt.timedelta(hours=1))
    page = browser.new_page()
    sign_in(page, site.web.url, STAFF, start="/parity")
    same = page.locator("section:has(#same-question) tbody tr")
    expect(same).to_have_count(1)
    expect(same).to_contain_text(site.to_a)
    expect(same).to_contain_text(site.to_b)
    expect(same).to_contain_text(A["name"])
    expect(same).to_contain_text(B["name"])  # the agent's case counts with the candidate's
    expect(same).to_contain_text("Different figures")
    expect(same).to_contain_text("only in the first: 38")
    unpublished = page.locator("section:has(#unpublished) tbody tr")
    expect(unpublished).to_have_count(2)  # B's and C's first FOI answer; A's is on the log
    expect(unpublished.filter(has_text=site.foi_first)).to_contain_text("No other candidate yet")
    to_b = unpublished.filter(has_text=site.to_b)
    expect(to_b.get_by_role("link", name=site.to_a)).to_be_visible()
    shot(page, "parity-same-question", part="section:has(#same-question)")


def test_axe_finds_nothing_serious_on_the_similar_panel_and_campaigns(
    site: Site, driver: Playwright
) -> None:
    if not axe_script().is_file():
        pytest.fail(f"axe-core not found at {axe_script()}: run scripts/test.sh (npm axe-core)")
    base = site.web.url
    found: dict[str, list[dict[str, Any]]] = {}
    with chromium(driver, bypass_csp=True) as context:
        page = context.new_page()
        sign_in(page, base, STAFF)
        for name, path in (
            ("case-reuse", f"/cases/{site.to_b}?reuse={site.to_a}"),
            ("case-flags", f"/cases/{site.foi_again}"),
            ("campaigns", "/campaigns"),
            ("parity", "/parity"),
        ):
            page.goto(base + path)
            found[name] = serious_violations(page)
    summary = {
        name: [f"{v['id']} ({v['impact']}): {v['help']} x{len(v['nodes'])}" for v in violations]
        for name, violations in found.items()
        if violations
    }
    assert summary == {}
