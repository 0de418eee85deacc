"""Recording a telephone call from the web UI, in a real Chromium, under the Norfolk profile.

The call is a request to observe officers at work: Norfolk 19 routes it to the force SPOC, so
the case page must show the forward (and the acknowledgement that names it) as soon as the
form is sent; axe-core finds nothing serious on the form.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Playwright, expect
from sqlalchemy import select
from test_protocol_offices import office_settings, phase_day
from webserver import WebServer, axe_script, chromium, sign_in

from inbox_agent.register.db import Register
from inbox_agent.register.models import Case
from inbox_agent.settings import WebSettings
from inbox_agent.web import accounts
from inbox_agent.web.app import create_app

pytestmark = pytest.mark.integration

SECRET = "test-session-key-" + "z" * 40
STAFF = ("sam", "sam-password-123", "Sam Spoc")


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Register]]:
    settings = office_settings("norfolk", tmp_path)
    now = dt.datetime.combine(phase_day(settings, "pre_election"), dt.time(14, 0), dt.UTC)
    settings = settings.model_copy(update={"web": WebSettings(secure_cookies=False)})
    register = Register(settings.database.url)
    register.ensure_schema()
    with register.transaction() as s:
        accounts.add_user(s, STAFF[0], STAFF[1], role="triage", display_name=STAFF[2],
                          actor="t", now=now)  # fmt: skip
    server = WebServer(create_app(settings, register, secret_key=SECRET, clock=lambda: now))
    server.start()
    try:
        yield server.url, register
    finally:
        server.stop()
        register.dispose()


def test_a_telephone_call_is_recorded_routed_and_shown_on_its_case(
    site: tuple[str, Register], driver: Playwright
) -> None:
    base, register = site
    with chromium(driver, bypass_csp=True) as context:
        page = context.new_page()
        sign_in(page, base, STAFF)
        page.get_by_role("link", name="Record a contact").click()
        if not axe_script().is_file():
            pytest.fail(f"axe-core not found at {axe_script()}: run scripts/test.sh")
        page.add_script_tag(path=str(axe_script()))
        found: list[dict[str, Any]] = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        )
        assert [v["id"] for v in found if v.get("impact") in ("serious", "critical")] == []
        page.get_by_label("How the contact was made").select_option("telephone")
        page.get_by_label("Kind of request").select_option("meeting_request")
        page.get_by_label("Name of the person").fill("Dee Caller")
        page.get_by_label("Their email address").fill("dee@example.com")
        page.get_by_label("What was asked or discussed").fill(
            "Asked whether she could go on a ride-along with the night shift in Thetford."
        )
        page.get_by_role("button", name="Record the contact").click()
        expect(page.get_by_text("Contact recorded as NORF-")).to_be_visible()
        expect(page.get_by_text("Forward to the force SPOC to malcolm.cooke@norfolk.police.uk"))\
            .to_be_visible()  # fmt: skip
        expect(page.get_by_text("Acknowledgement to dee@example.com")).to_be_visible()
        page.get_by_role("link", name="Record a contact").click()
        page.get_by_label("Name of the person").fill("Nobody")
        page.get_by_label("What was asked or discussed").fill("   ")
        page.get_by_role("button", name="Record the contact").click()
        expect(page.get_by_text("Not recorded: text:")).to_be_visible()
        expect(page.get_by_label("Name of the person")).to_have_value("Nobody")
    with register.transaction() as s:
        [case] = s.scalars(select(Case)).all()
        assert (case.method_of_contact, case.requester_name) == ("telephone", "Dee Caller")
        assert [o.kind for o in case.outbox] == ["force_spoc_forward", "acknowledgement"]
