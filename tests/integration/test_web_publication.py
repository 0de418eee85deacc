"""The publication and parity screens in a real headless Chromium, over a real office.

The office (``tests/support/transparency_office.py``) reads its Maildir with the real pipeline,
knows its candidates from the roster, and answers two of them as staff would; the web UI runs under
uvicorn with its clock a fortnight later, so both answers are late for the disclosure log.
Staff then see the late answers on the parity page, adjust an anonymised answer beside its
original, approve it, withhold the other with a reason, and write the published log; and
nobody without a session, or without the form's token, can decide anything.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, expect
from sqlalchemy import select
from support.transparency_office import MONDAY, A, B, Office
from support.webserver import (
    HttpSession,
    WebServer,
    axe_script,
    chromium,
    shot,
    sign_in,
)

from inbox_agent.register.models import AuditEvent, Case, Publication
from inbox_agent.settings import WebSettings
from inbox_agent.transparency.publish import CSV_FILE, HTML_FILE, draft_publication
from inbox_agent.web import accounts
from inbox_agent.web.app import create_app

pytestmark = pytest.mark.integration

SECRET = "test-session-key-" + "y" * 40
ADMIN = ("alice", "alice-password-1", "Alice Admin")
TRIAGE = ("tom", "tom-password-123", "Tom Triage")
ANSWERED = MONDAY + dt.timedelta(days=1)  # Tuesday 13 April 2027
LATE = dt.datetime(2027, 4, 26, 12, 0, tzinfo=dt.UTC)  # 9 working days on: past the 5 allowed
QUESTION = f"""Dear Election Team,

How many police officers worked in neighbourhood teams in 2025/26?

Please call me on {A["phone"]} or write to {A["address"]}.

Kind regards,
{A["name"]}
"""
ANSWER = """Dear Ms Ogunleye,

In 2025/26 there were 412 police officers in neighbourhood teams.
Our analyst, who lives in Lowtown, prepared the figures.
"""
ADJUSTED = (
    "In 2025/26 there were 412 police officers in neighbourhood teams.\n"
    "[One sentence removed by the office.]"
)


@dataclass
class Site:
    office: Office
    web: WebServer
    to_a: str  # the reference of the answer to candidate A
    to_b: str  # the reference of the answer to candidate B
    published: Path  # transparency.publish_dir

    def publication(self, reference: str) -> Publication | None:
        with self.office.register.transaction() as session:
            case = Office.case(session, reference)
            return session.scalars(
                select(Publication).where(Publication.case_id == case.id)
            ).first()

    def decisions(self) -> list[AuditEvent]:
        with self.office.register.transaction() as session:
            return list(
                session.scalars(
                    select(AuditEvent)
                    .where(AuditEvent.action.startswith("publication_"))
                    .order_by(AuditEvent.id)
                )
            )


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    published = tmp_path / "published"
    office = Office(tmp_path, publish_after_working_days=5, publish_dir=str(published))
    try:
        office.import_roster()
        to_a = office.receive(f"{A['name']} <{A['email']}>", "Neighbourhood officers", QUESTION)
        office.answer(to_a.reference, ANSWER, now=ANSWERED)
        to_b = office.receive(
            f"{B['name']} <{B['email']}>", "Meeting", "Could I meet the Chief Constable?"
        )
        office.answer(to_b.reference, "A briefing is offered to every candidate.", now=ANSWERED)
        with office.register.transaction() as session:
            for (name, password, display), role in ((ADMIN, "admin"), (TRIAGE, "triage")):
                accounts.add_user(
                    session, name, password, role=role, display_name=display, actor="t", now=LATE
                )
        settings = office.settings.model_copy(update={"web": WebSettings(secure_cookies=False)})
        app = create_app(settings, office.register, secret_key=SECRET, clock=lambda: LATE)
        server = WebServer(app)
        server.start()
        try:
            yield Site(office, server, to_a.reference, to_b.reference, published)
        finally:
            server.stop()
    finally:
        office.close()


def _token(body: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', body)
    assert found is not None, "the page has no CSRF token"
    return found[1]


def signed_in(base: str, who: tuple[str, str, str]) -> tuple[HttpSession, str]:
    """A client with a session, and the token the session's forms carry."""
    client = HttpSession(base)
    form = {"username": who[0], "password": who[1], "csrf_token": _token(client.get("/login").body)}
    assert client.post("/login", form).status == 303
    return client, _token(client.get("/publication").body)


# --------------------------------------------------------------------------- 1. the work


def test_staff_see_the_late_answer_adjust_its_redaction_approve_and_publish(
    site: Site, browser: BrowserContext
) -> None:
    base = site.web.url
    page = browser.new_page()
    sign_in(page, base, ADMIN)

    # parity: both answers are past the 5 working days and neither is published
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Parity").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Equal treatment of candidates")
    late = page.locator("section:has(#alerts) table tbody tr")
    expect(late).to_have_count(2)
    row_a = late.filter(has_text=site.to_a)
    expect(row_a).to_contain_text(A["name"])
    expect(row_a).to_contain_text("Tue 20 Apr 2027")  # 13 April + 5 working days
    expect(row_a.locator("td.num")).to_have_text("9")
    offers = page.locator("section:has(#offers) table tbody")
    expect(offers).to_contain_text(f"{A['name']}: Nothing offered")  # B's briefing, against A
    shot(page, "parity")

    # the list: both answers wait for a decision, flagged late
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Publication").click()
    waiting = page.locator("section:has(#waiting) table tbody tr")
    expect(waiting).to_have_count(2)
    expect(waiting.filter(has_text=site.to_a)).to_contain_text("Late")
    shot(page, "publication")
    page.get_by_role("link", name=site.to_a).click()

    # the draft beside the original
    originals = page.locator("pre.original")
    expect(originals.first).to_contain_text(A["phone"])
    question = page.get_by_label("Question to publish (anonymised)")
    expect(question).to_have_value(re.compile(r"\[phone number\]"))
    assert A["phone"] not in question.input_value()
    answer = page.get_by_label("Answer to publish (anonymised)")
    expect(answer).to_have_value(re.compile(r"^Dear \[name\],"))
    expect(page.locator("#question-found")).to_contain_text(A["phone"])
    shot(page, "publication-case")

    # a text still naming someone is refused, and what staff typed is kept
    page.get_by_label("Answer to publish (anonymised)").fill(f"Ring Ms Ogunleye on {A['phone']}.")
    page.get_by_role("button", name="Approve for the disclosure log").click()
    expect(page.get_by_role("alert")).to_contain_text("still holds what looks like personal data")
    expect(answer).to_have_value(f"Ring Ms Ogunleye on {A['phone']}.")
    assert site.publication(site.to_a) is None

    # the staff's own redaction is approved
    answer.fill(ADJUSTED)
    page.get_by_role("button", name="Approve for the disclosure log").click()
    expect(page.get_by_role("status")).to_contain_text(f"{site.to_a} approved")
    approved = page.locator("section:has(#approved) table tbody tr")
    expect(approved).to_have_count(1)
    expect(approved).to_contain_text(site.to_a)
    row = site.publication(site.to_a)
    assert row is not None
    assert (row.decision, row.answer, row.approved_by) == ("publish", ADJUSTED, ADMIN[0])
    assert row.published_on is None
    with site.office.register.transaction() as session:
        draft = draft_publication(session, site.office.settings, Office.case(session, site.to_a))
        assert row.question == draft.question, "the question was approved as drafted"
    [event] = site.decisions()
    assert (event.actor, event.action) == (ADMIN[0], "publication_approved")
    assert event.detail == {"edited": ["answer"], "forced": False}

    # written from the page: the published log holds the staff's text
    page.get_by_role("button", name="Write the disclosure log").click()
    expect(page.get_by_role("status")).to_contain_text(f"new on the page: {site.to_a}")
    html = (site.published / HTML_FILE).read_text(encoding="utf-8")
    assert "[One sentence removed by the office.]" in html
    assert "Lowtown" not in html and "Ogunleye" not in html and A["phone"] not in html
    rows = list(csv.DictReader(io.StringIO((site.published / CSV_FILE).read_text("utf-8"))))
    assert [r["Answer given"] for r in rows] == [ADJUSTED]
    with site.office.register.transaction() as session:
        case = Office.case(session, site.to_a)
        assert case.date_added_to_website == LATE.date()
    row = site.publication(site.to_a)
    assert row is not None and row.published_on == LATE.date()
    expect(page.locator("section:has(#published) table tbody tr")).to_contain_text(site.to_a)

    # parity: A's answer is published, B's is still late
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Parity").click()
    expect(late).to_have_count(1)
    expect(late).to_contain_text(site.to_b)
    expect(page.locator("section:has(#candidates)")).to_contain_text("Published 2027-04-26")


# --------------------------------------------------------------------------- 2. withholding


def test_withholding_needs_a_reason_and_keeps_it(site: Site) -> None:
    client, token = signed_in(site.web.url, ADMIN)
    path = f"/publication/{site.to_b}/withhold"
    refused = client.post(path, {"reason": "  \n ", "csrf_token": token})
    assert refused.status == 400
    assert "give the reason the answer is not published" in refused.body
    assert site.publication(site.to_b) is None and site.decisions() == []

    done = client.post(path, {"reason": "A personal matter for the candidate", "csrf_token": token})
    assert done.status == 303 and done.headers["location"] == "/publication"
    row = site.publication(site.to_b)
    assert row is not None
    assert (row.decision, row.reason, row.approved_by) == (
        "withhold",
        "A personal matter for the candidate",
        ADMIN[0],
    )
    [event] = site.decisions()
    assert (event.actor, event.action) == (ADMIN[0], "publication_withheld")
    listing = client.get("/publication").body
    assert "A personal matter for the candidate" in listing
    entry = client.get(f"/publication/{site.to_b}").body
    assert "Withheld by alice" in entry and "A personal matter for the candidate" in entry
    parity = client.get("/parity").body
    assert site.to_a in parity
    assert f'<a href="/publication/{site.to_b}">Withheld: A personal matter' in parity
    assert not re.search(rf'<th scope="row"><a href="/publication/{site.to_b}">', parity)


def test_a_log_the_server_cannot_write_records_nothing_as_published(site: Site) -> None:
    site.published.write_text("a file where the folder should be", encoding="utf-8")
    client, token = signed_in(site.web.url, ADMIN)
    approved = client.post(f"/publication/{site.to_a}/approve", {"csrf_token": token})
    assert approved.status == 303
    assert client.post("/publication/write", {"csrf_token": token}).status == 303
    listing = client.get("/publication").body
    assert "could not be written to" in listing and "Nothing was recorded as published" in listing
    row = site.publication(site.to_a)
    assert row is not None and row.decision == "publish" and row.published_on is None
    with site.office.register.transaction() as session:
        assert Office.case(session, site.to_a).date_added_to_website is None
    [event] = site.decisions()
    assert event.detail == {"edited": [], "forced": False}, "the draft as it stood"


# --------------------------------------------------------------------------- 3. security


def test_only_signed_in_staff_with_the_form_token_can_decide(site: Site) -> None:
    base = site.web.url
    approve = f"/publication/{site.to_a}/approve"
    form = {"question": "Anything", "answer": "Anything at all", "force": "yes"}

    anonymous = HttpSession(base)
    for method, path in (
        ("POST", approve),
        ("POST", f"/publication/{site.to_a}/withhold"),
        ("POST", "/publication/write"),
        ("GET", "/publication"),
        ("GET", f"/publication/{site.to_a}"),
        ("GET", "/parity"),
    ):
        reply = anonymous.request(method, path, form if method == "POST" else None)
        assert reply.status == 303, f"{method} {path}"
        assert reply.headers["location"].startswith("/login?next="), f"{method} {path}"

    alice, _ = signed_in(base, ADMIN)
    for forged in ({}, {"csrf_token": "forged-" + "x" * 40}):
        reply = alice.post(approve, form | forged)
        assert reply.status == 403 and "Nothing was changed" in reply.body
    # triage: not with a good token either (publishing, and forcing past the check, is admin's)
    tom, token = signed_in(base, TRIAGE)
    for path in (approve, "/publication/write", f"/cases/{site.to_a}/website"):
        reply = tom.post(path, form | {"csrf_token": token, "date": "2027-04-20"})
        assert reply.status == 403, path
        assert "for administrators" in reply.body, path
    page = tom.get(f"/publication/{site.to_a}")
    assert page.status == 200 and 'name="force"' not in page.body
    assert "Approve for the disclosure log" not in page.body
    assert "/website" not in tom.get(f"/cases/{site.to_a}").body

    # an account disabled mid-session decides nothing, even with its token
    with site.office.register.transaction() as session:
        accounts.set_active(session, TRIAGE[0], False, actor=ADMIN[0], now=LATE)
    reply = tom.post(approve, form | {"csrf_token": token})
    assert reply.status == 303 and reply.headers["location"].startswith("/login")

    assert site.publication(site.to_a) is None
    assert site.decisions() == []
    assert not site.published.exists(), "nothing was written"
    with site.office.register.transaction() as session:
        assert all(c.date_added_to_website is None for c in session.scalars(select(Case)))


# --------------------------------------------------------------------------- 4. axe-core


def _serious(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(axe_script()))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    assert isinstance(result, list)
    return [v for v in result if v.get("impact") in ("serious", "critical")]


def test_axe_finds_nothing_serious_on_the_new_pages(site: Site, driver: Playwright) -> None:
    if not axe_script().is_file():
        pytest.fail(f"axe-core not found at {axe_script()}: run scripts/test.sh (npm axe-core)")
    base = site.web.url
    found: dict[str, list[dict[str, Any]]] = {}
    # bypass_csp lets the test inject axe.min.js; the app's own pages carry no script at all
    with chromium(driver, bypass_csp=True) as context:
        page = context.new_page()
        sign_in(page, base, ADMIN)
        for width in (1280, 360):
            page.set_viewport_size({"width": width, "height": 800})
            for name, path in (
                ("publication", "/publication"),
                ("publication-case", f"/publication/{site.to_a}"),
                ("parity", "/parity"),
            ):
                page.goto(base + path)
                found[f"{name}@{width}"] = _serious(page)
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(f"{base}/publication/{site.to_a}")
        page.get_by_label("Answer to publish (anonymised)").fill(f"Call {A['phone']}")
        page.get_by_role("button", name="Approve for the disclosure log").click()
        expect(page.get_by_role("alert")).to_be_visible()  # refused: personal data left
        found["publication-case-refused"] = _serious(page)
    summary = {
        name: [f"{v['id']} ({v['impact']}): {v['help']} x{len(v['nodes'])}" for v in violations]
        for name, violations in found.items()
        if violations
    }
    assert summary == {}
