"""OAuth2 (SASL XOAUTH2) logins against a real Dovecot and an aiosmtpd sink.

Dovecot's ``oauth2`` passdb asks a local introspection endpoint whether each token is live;
the same test identity provider issues short-lived tokens at a ``generic`` token endpoint.
Both read one fake clock, so a token can expire between two passes without sleeping.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import logging
import secrets
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from servers import DovecotServer, SmtpSink
from support.builders import HUMAN, INBOX, base_config, message, real_office
from support.clock import FakeClock

from inbox_agent.cli.config import check_config
from inbox_agent.errors import ConfigError
from inbox_agent.fetch import ImapFetcher, imap_session
from inbox_agent.oauth import HttpTokenProvider, build_token_provider
from inbox_agent.pipeline import Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.models import OutboxMessage, OutboxStatus
from inbox_agent.send import SmtpTransport, TemporaryFailure
from inbox_agent.settings import Settings, settings_from_dict

pytestmark = pytest.mark.integration

CLIENT_ID = "inbox-agent-test-app"
CLIENT_SECRET = "client-secret-7d1f0c"
REFRESH_TOKEN = "refresh-token-93be55"
LIFETIME_S = 120


class IdentityProvider:
    """Token endpoint (``/token``) and RFC 7662 introspection (``/introspect``) on loopback."""

    def __init__(self, username: str, clock: FakeClock) -> None:
        self.username = username
        self.clock = clock
        self.issued: dict[str, float] = {}  # token -> expiry on the fake clock
        self.refuse_all = False
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def issue(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return 401, {"error": "invalid_client"}
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != REFRESH_TOKEN:
            return 400, {"error": "invalid_grant"}
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.issued[token] = self.clock() + LIFETIME_S
        return 200, {"access_token": token, "token_type": "Bearer", "expires_in": LIFETIME_S}

    def introspect(self, form: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            expiry = self.issued.get(form.get("token", ""))
        if self.refuse_all or expiry is None or self.clock() >= expiry:
            return {"active": False}
        return {"active": True, "username": self.username}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length).decode("ascii")
                form = dict(urllib.parse.parse_qsl(raw))
                if self.path == "/token":
                    status, body = idp.issue(form)
                elif self.path == "/introspect":
                    status, body = 200, idp.introspect(form)
                else:
                    status, body = 404, {"error": "not_found"}
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return  # quiet: the request line would carry nothing useful

        return Handler

    def valid(self, user: str, token: str) -> bool:
        return user == self.username and self.introspect({"token": token}).get("active") is True


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1_900_000_000.0)


@pytest.fixture
def idp(clock: FakeClock) -> Iterator[IdentityProvider]:
    provider = IdentityProvider("spoc", clock)
    provider.thread.start()
    try:
        yield provider
    finally:
        provider.server.shutdown()
        provider.server.server_close()


@pytest.fixture
def oauth_dovecot(idp: IdentityProvider) -> Iterator[DovecotServer]:
    server = DovecotServer(oauth2_introspection_url=f"{idp.url}/introspect")
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture(autouse=True)
def _secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_OAUTH_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("TEST_OAUTH_REFRESH_TOKEN", REFRESH_TOKEN)


def _settings(
    tmp_path: Path, dovecot: DovecotServer, idp: IdentityProvider, smtp_port: int | None = None
) -> Settings:
    data = base_config(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    data["imap"] = {
        "host": dovecot.host,
        "port": dovecot.port,
        "security": "none",
        "username": dovecot.user,
        "auth": "oauth2",
        "timeout_seconds": 10,
    }
    data["oauth2"] = {
        "provider": "generic",
        "client_id": CLIENT_ID,
        "client_secret_env": "TEST_OAUTH_CLIENT_SECRET",
        "refresh_token_env": "TEST_OAUTH_REFRESH_TOKEN",
        "token_endpoint": f"{idp.url}/token",
        "scope": "mail",
    }
    if smtp_port is not None:
        data["smtp"] = {
            "host": "127.0.0.1",
            "port": smtp_port,
            "security": "none",
            "username": dovecot.user,
            "auth": "oauth2",
            "from_address": INBOX,
            "timeout_seconds": 5,
        }
    return settings_from_dict(real_office(data), tmp_path / "inbox-agent.toml")


def _provider(settings: Settings, clock: FakeClock) -> HttpTokenProvider:
    assert settings.oauth2 is not None
    provider = build_token_provider(settings.oauth2, clock=clock)
    assert isinstance(provider, HttpTokenProvider)
    return provider


def _fetcher(settings: Settings, register: Register, provider: HttpTokenProvider) -> ImapFetcher:
    assert settings.imap is not None
    return ImapFetcher(
        settings.imap,
        "",
        register,
        max_bytes=settings.poll.max_message_bytes,
        clock=lambda: dt.datetime.now(dt.UTC),
        tokens=provider,
    )


def _assert_no_secret(text: str, tokens: list[str]) -> None:
    for secret in [CLIENT_SECRET, REFRESH_TOKEN, *tokens]:
        assert secret not in text
        assert base64.b64encode(secret.encode()).decode()[:16] not in text


def test_imap_login_with_a_token_and_an_expired_token_is_refreshed_mid_run(
    tmp_path: Path,
    oauth_dovecot: DovecotServer,
    idp: IdentityProvider,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = _settings(tmp_path, oauth_dovecot, idp)
    provider = _provider(settings, clock)
    register = Register(settings.database.url)
    oauth_dovecot.append("INBOX", message(*HUMAN[0]))
    assert _fetcher(settings, register, provider).fetch_new().stored == 1
    first = provider.token()
    assert list(idp.issued) == [first], "the second call reuses the cached token"

    clock.now += LIFETIME_S + 1  # the first token has expired at the introspection endpoint
    assert idp.introspect({"token": first}) == {"active": False}
    oauth_dovecot.append("INBOX", message(*HUMAN[1]))
    assert _fetcher(settings, register, provider).fetch_new().stored == 1
    assert len(idp.issued) == 2, "the provider fetched a new token for the second pass"
    register.dispose()
    _assert_no_secret(caplog.text, list(idp.issued))


def test_refreshed_before_expiry_not_after(
    tmp_path: Path, oauth_dovecot: DovecotServer, idp: IdentityProvider, clock: FakeClock
) -> None:
    provider = _provider(_settings(tmp_path, oauth_dovecot, idp), clock)
    first = provider.token()
    clock.now += LIFETIME_S / 2 - 1
    assert provider.token() == first
    clock.now += 2  # past half the lifetime (a short token): refreshed while still valid
    assert provider.token() != first
    assert idp.introspect({"token": first})["active"] is True


def test_a_refused_token_names_the_oauth2_config_and_never_the_token(
    tmp_path: Path,
    oauth_dovecot: DovecotServer,
    idp: IdentityProvider,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = _settings(tmp_path, oauth_dovecot, idp)
    assert settings.imap is not None
    provider = _provider(settings, clock)
    idp.refuse_all = True
    with pytest.raises(ConfigError) as refused, imap_session(settings.imap, "", provider):
        pass
    text = str(refused.value)
    assert "[oauth2]" in text and "imap.auth" in text and "XOAUTH2" in text
    idp.refuse_all = False
    assert provider.token() != next(iter(idp.issued)), "a refused token is not offered again"
    _assert_no_secret(text + caplog.text, list(idp.issued))


def test_a_refused_refresh_token_names_the_oauth2_config(
    tmp_path: Path,
    oauth_dovecot: DovecotServer,
    idp: IdentityProvider,
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("TEST_OAUTH_REFRESH_TOKEN", "revoked-refresh-token-5a1")
    settings = _settings(tmp_path, oauth_dovecot, idp)
    assert settings.imap is not None
    provider = _provider(settings, clock)
    with (
        pytest.raises(ConfigError, match=r"invalid_grant.*\[oauth2\]") as refused,
        imap_session(settings.imap, "", provider),
    ):
        pass
    assert "revoked-refresh-token-5a1" not in str(refused.value) + caplog.text
    _assert_no_secret(str(refused.value) + caplog.text, [])


def test_pipeline_and_smtp_log_in_with_xoauth2(
    tmp_path: Path, oauth_dovecot: DovecotServer, idp: IdentityProvider
) -> None:
    sink = SmtpSink(xoauth2=idp.valid)
    sink.start()
    try:
        oauth_dovecot.append("INBOX", message(*HUMAN[0]))
        settings = _settings(tmp_path, oauth_dovecot, idp, smtp_port=sink.port)
        register = Register(settings.database.url)
        report = Pipeline(settings, register).run_once()
        assert report.cases_opened == 1
        assert report.sent.sent >= 1 and report.sent.deferred == 0
        assert sink.logins and set(sink.logins) == {"spoc"}
        assert len(idp.issued) == 1, "IMAP and SMTP share one cached token"
        out = io.StringIO()
        assert check_config(settings, out) == 0, out.getvalue()
        assert out.getvalue().count("logged in as spoc via OAuth2, generic client") == 2
        _assert_no_secret(out.getvalue(), list(idp.issued))
        register.dispose()
    finally:
        sink.stop()


def test_smtp_refused_token_stays_queued_and_names_oauth2(
    tmp_path: Path, oauth_dovecot: DovecotServer, idp: IdentityProvider, clock: FakeClock
) -> None:
    sink = SmtpSink(xoauth2=lambda user, token: False)
    sink.start()
    try:
        settings = _settings(tmp_path, oauth_dovecot, idp, smtp_port=sink.port)
        assert settings.smtp is not None
        transport = SmtpTransport(settings.smtp, None, _provider(settings, clock))
        with pytest.raises(TemporaryFailure) as deferred:
            transport.deliver(INBOX, "ann@example.com", message(*HUMAN[0]))
        text = str(deferred.value)
        assert "smtp.auth" in text and "[oauth2]" in text and "535" in text
        _assert_no_secret(text, list(idp.issued))
        assert sink.messages == []
    finally:
        sink.stop()


def test_outbox_row_deferred_not_failed_when_smtp_refuses_the_token(
    tmp_path: Path, oauth_dovecot: DovecotServer, idp: IdentityProvider
) -> None:
    sink = SmtpSink(xoauth2=lambda user, token: False)
    sink.start()
    try:
        oauth_dovecot.append("INBOX", message(*HUMAN[0]))
        settings = _settings(tmp_path, oauth_dovecot, idp, smtp_port=sink.port)
        register = Register(settings.database.url)
        report = Pipeline(settings, register).run_once()
        assert (report.sent.sent, report.sent.failed) == (0, 0) and report.sent.deferred == 1
        with register.transaction() as session:
            rows = session.query(OutboxMessage).all()
            assert {row.status for row in rows} == {OutboxStatus.QUEUED}
            assert all("[oauth2]" in (row.last_error or "") for row in rows[:1])
        register.dispose()
    finally:
        sink.stop()
