"""OAuth2 settings validation and the token cache, without a network.

The Microsoft provider is tested with a fake msal application object: msal cannot reach
Microsoft here, and its authority must be an https Microsoft-style endpoint, so a local
fake would mean faking msal's instance discovery too. The fake records what msal was asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from support.builders import base_config
from support.clock import FakeClock

from inbox_agent.errors import ConfigError, TokenUnavailable
from inbox_agent.oauth import MsalTokenProvider, build_token_provider, xoauth2_string
from inbox_agent.settings import (
    MICROSOFT_APP_SCOPE,
    OAuth2Settings,
    Settings,
    settings_from_dict,
)

SECRET = "app-secret-value-0042"


def _settings(oauth2: dict[str, Any] | None, **imap: Any) -> Settings:
    data = base_config("sqlite:///:memory:")
    data["imap"] = {"host": "outlook.office365.com", "username": "spoc@example.org", **imap}
    if oauth2 is not None:
        data["oauth2"] = oauth2
    return settings_from_dict(data, Path("/tmp/office.toml"))


MICROSOFT = {
    "provider": "microsoft",
    "tenant_id": "11111111-2222-3333-4444-555555555555",
    "client_id": "66666666-7777-8888-9999-000000000000",
    "client_secret_env": "TEST_MS_SECRET",
}


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_MS_SECRET", SECRET)


def test_password_stays_the_default() -> None:
    settings = _settings(None, password="pw")
    assert settings.imap is not None and settings.imap.auth == "password"


def test_microsoft_app_only_validates_and_defaults_the_scope() -> None:
    settings = _settings(MICROSOFT, auth="oauth2")
    assert settings.oauth2 is not None
    assert settings.oauth2.scopes == [MICROSOFT_APP_SCOPE]
    assert settings.oauth2.client_secret_value() == SecretStr(SECRET)


@pytest.mark.parametrize(
    ("oauth2", "imap", "key"),
    [
        (None, {"auth": "oauth2"}, "imap.auth"),
        ({**MICROSOFT, "tenant_id": None}, {"auth": "oauth2"}, "tenant_id"),
        ({"provider": "generic", "client_id": "x"}, {"auth": "oauth2"}, "token_endpoint"),
        ({**MICROSOFT, "client_secret_env": None}, {"auth": "oauth2"}, "oauth2.client_secret"),
        ({**MICROSOFT, "client_secret_env": "UNSET_VAR_4242"}, {}, "oauth2.client_secret_env"),
        ({"provider": "google", "client_id": "x"}, {"auth": "oauth2"}, "oauth2.refresh_token"),
        ({**MICROSOFT, "certificate_file": "cert.pem"}, {}, "certificate_thumbprint"),
        ({**MICROSOFT, "client_secrett": "typo"}, {}, "oauth2.client_secrett"),
        ({**MICROSOFT, "client_secret": "a"}, {}, "client_secret, client_secret_env"),
    ],
)
def test_bad_oauth2_config_names_the_key(
    oauth2: dict[str, Any] | None, imap: dict[str, Any], key: str
) -> None:
    with pytest.raises(ConfigError, match=r"office\.toml") as error:
        _settings({k: v for k, v in oauth2.items() if v is not None} if oauth2 else None, **imap)
    assert key in str(error.value)
    assert SECRET not in str(error.value)


def test_certificate_must_exist(tmp_path: Path) -> None:
    config = {
        **MICROSOFT,
        "client_secret_env": None,
        "certificate_file": str(tmp_path / "missing.pem"),
        "certificate_thumbprint": "AB" * 20,
    }
    with pytest.raises(ConfigError, match=r"oauth2\.certificate_file"):
        _settings({k: v for k, v in config.items() if v is not None})


class FakeMsalApp:
    """Answers as msal does: a dict with access_token, or with error/error_description."""

    def __init__(self, answers: list[dict[str, Any]]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, Any, list[str]]] = []

    def acquire_token_for_client(self, scopes: list[str]) -> dict[str, Any]:
        self.calls.append(("client", None, scopes))
        return self.answers.pop(0)

    def acquire_token_by_refresh_token(self, refresh: str, scopes: list[str]) -> dict[str, Any]:
        self.calls.append(("refresh", refresh, scopes))
        return self.answers.pop(0)


def _ms_provider(app: FakeMsalApp, clock: FakeClock, **extra: Any) -> MsalTokenProvider:
    cfg = OAuth2Settings.model_validate({**MICROSOFT, **extra})
    refresh = extra.get("refresh_token")
    return MsalTokenProvider(
        cfg, cfg.client_secret_value(), refresh, clock=clock, app_factory=lambda: app
    )


def test_microsoft_token_cached_and_refreshed_five_minutes_early() -> None:
    clock = FakeClock(1000.0)
    app = FakeMsalApp(
        [{"access_token": "t1", "expires_in": 3600}, {"access_token": "t2", "expires_in": 3600}]
    )
    provider = _ms_provider(app, clock)
    assert provider.token() == "t1"
    clock.now += 3600 - 301
    assert provider.token() == "t1"
    clock.now += 2  # within five minutes of expiry
    assert provider.token() == "t2"
    assert [c[0] for c in app.calls] == ["client", "client"]
    assert app.calls[0][2] == [MICROSOFT_APP_SCOPE]
    assert "app-only" in provider.identity and MICROSOFT["tenant_id"] in provider.identity


def test_microsoft_delegated_flow_keeps_the_rotated_refresh_token() -> None:
    clock = FakeClock(1000.0)
    app = FakeMsalApp(
        [
            {"access_token": "t1", "expires_in": 3600, "refresh_token": "r2"},
            {"access_token": "t2", "expires_in": 3600},
        ]
    )
    provider = _ms_provider(app, clock, refresh_token=SecretStr("r1"))
    assert provider.token() == "t1"
    provider.invalidate()
    assert provider.token() == "t2"
    assert [c[1] for c in app.calls] == ["r1", "r2"]
    assert "IMAP.AccessAsUser.All" in " ".join(app.calls[0][2])


def test_microsoft_refusal_is_a_config_error_without_the_secret() -> None:
    app = FakeMsalApp(
        [{"error": "invalid_client", "error_description": "AADSTS7000215: Invalid secret."}]
    )
    with pytest.raises(ConfigError, match=r"invalid_client.*\[oauth2\]") as error:
        _ms_provider(app, FakeClock(1000.0)).token()
    assert SECRET not in str(error.value)


def test_microsoft_unreachable_is_transient() -> None:
    class Down:
        def acquire_token_for_client(self, scopes: list[str]) -> dict[str, Any]:
            raise ConnectionError("no route to login.microsoftonline.com")

    cfg = OAuth2Settings.model_validate(MICROSOFT)
    provider = MsalTokenProvider(cfg, cfg.client_secret_value(), None, app_factory=Down)
    with pytest.raises(TokenUnavailable):
        provider.token()


def test_certificate_credential_for_msal(tmp_path: Path) -> None:
    pem = tmp_path / "app.pem"
    pem.write_text("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n")
    cfg = OAuth2Settings.model_validate(
        {
            **{k: v for k, v in MICROSOFT.items() if k != "client_secret_env"},
            "certificate_file": str(pem),
            "certificate_thumbprint": "AB:" * 19 + "AB",
        }
    )
    cfg.check_secrets()
    provider = build_token_provider(cfg)
    assert isinstance(provider, MsalTokenProvider)
    credential = provider._credential()
    assert isinstance(credential, dict)
    assert credential["thumbprint"] == "AB" * 20
    assert "PRIVATE KEY" in credential["private_key"]


def test_xoauth2_string() -> None:
    assert xoauth2_string("a@b.org", "tok") == "user=a@b.org\x01auth=Bearer tok\x01\x01"
