"""The register under test (SQLite in a temp dir, and a real PostgreSQL), the browser, and a
Dovecot speaking TLS with a certificate from a private CA (trustme)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from playwright.sync_api import BrowserContext, Playwright
from servers import DovecotServer
from support.builders import HUMAN, message
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


@pytest.fixture
def ca(tmp_path: Path) -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "office-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def tls_dovecot(ca: trustme.CA, tmp_path: Path) -> Iterator[DovecotServer]:
    cert = ca.issue_cert("127.0.0.1", "localhost")
    certs = Path(tmp_path) / "dovecot-tls"
    certs.mkdir()
    chain, key = certs / "chain.pem", certs / "key.pem"
    for blob in cert.cert_chain_pems:
        blob.write_to_path(str(chain), append=True)
    cert.private_key_pem.write_to_path(str(key))
    server = DovecotServer(tls=(chain, key))
    try:
        server.start()
        server.append("INBOX", message(*HUMAN[0]))
        yield server
    finally:
        server.close()
