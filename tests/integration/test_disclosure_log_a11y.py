"""The published disclosure log in a real headless Chromium: axe-core finds nothing serious.

Uses the web UI tests' browser helpers (``tests/support/webserver.py``: Debian's Chromium through
Playwright, axe.min.js from npm's axe-core as scripts/test.sh installs it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page
from support.transparency_office import MONDAY, A, B, Office
from support.webserver import axe_script, chromium, playwright_driver

from inbox_agent.transparency.publish import approve_publication, publish_log

pytestmark = pytest.mark.integration


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    office = Office(tmp_path)
    try:
        office.import_roster()
        answered = MONDAY + dt.timedelta(days=1)
        for person, subject, question, answer in (
            (A, "Officers", "How many officers are there?\n\nThanks", "There are 412.\n\n- a\n- b"),
            (B, "Meeting", "Could I meet the Chief Constable?", "A briefing is offered to all."),
        ):
            case = office.receive(f"{person['name']} <{person['email']}>", subject, question)
            office.answer(case.reference, answer, now=answered)
            with office.register.transaction() as s:
                approve_publication(
                    s, office.settings, Office.case(s, case.reference), actor="t", now=answered
                )
        with office.register.transaction() as s:
            publish_log(s, office.settings, tmp_path / "site", actor="t", now=answered)
        yield tmp_path / "site"
    finally:
        office.close()


def _serious(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(axe_script()))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    assert isinstance(result, list)
    return [v for v in result if v.get("impact") in ("serious", "critical")]


def test_the_published_page_passes_axe(site: Path) -> None:
    if not axe_script().is_file():
        pytest.fail(f"axe-core not found at {axe_script()}: run scripts/test.sh (npm axe-core)")
    with playwright_driver() as driver, chromium(driver) as context:
        page = context.new_page()
        page.goto((site / "index.html").as_uri())
        assert page.title().startswith("Election enquiries")
        assert page.locator("article").count() == 2
        violations = _serious(page)
        page.set_viewport_size({"width": 360, "height": 740})  # a phone
        violations += _serious(page)
    summary = [f"{v['id']} ({v['impact']}): {v['help']} x{len(v['nodes'])}" for v in violations]
    assert summary == []
