"""The register under test: SQLite in a temp dir, and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Playwright
from support.webserver import chromium, playwright_driver


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'register.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def driver() -> Iterator[Playwright]:
    with playwright_driver() as pw:
        yield pw


@pytest.fixture
def browser(driver: Playwright) -> Iterator[BrowserContext]:
    """A headless Chromium context for the web UI's browser tests."""
    with chromium(driver) as context:
        yield context
