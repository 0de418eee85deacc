"""OAuth2 access tokens for SASL XOAUTH2 logins to IMAP and SMTP.

A ``TokenProvider`` hands out a bearer token, cached until shortly before it expires (five
minutes early, or half its lifetime for a short one), then fetched again. Tokens and secrets
never reach a log line or an error message: errors name the ``[oauth2]`` key to check.

- ``MsalTokenProvider``: Microsoft 365 through ``msal``; app-only client credentials (a
  client secret, or a certificate and its thumbprint) or the delegated refresh-token flow.
- ``HttpTokenProvider``: a plain RFC 6749 token endpoint (Google, or any ``generic`` one),
  with a refresh token or client credentials, over ``urllib``.

One provider per ``[oauth2]`` section is shared by the IMAP fetcher and the SMTP sender for
the life of the process (``token_provider``), so each pass reuses the cached token.
"""

from __future__ import annotations

import json
import logging
import smtplib
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, Protocol

from pydantic import SecretStr

from inbox_agent.errors import ConfigError, TokenUnavailable
from inbox_agent.settings import OAuth2Settings, Settings

log = logging.getLogger(__name__)

REFRESH_MARGIN_SECONDS = 300.0
DEFAULT_LIFETIME_SECONDS = 3600.0
MICROSOFT_AUTHORITY = "https://login.microsoftonline.com/"
# Answers that mean the configuration is wrong (RFC 6749 section 5.2), not the network.
REFUSALS = frozenset(
    {"invalid_client", "invalid_grant", "unauthorized_client", "invalid_scope", "invalid_request"}
)
Clock = Callable[[], float]


class TokenProvider(Protocol):
    """Where an XOAUTH2 login gets its bearer token."""

    @property
    def identity(self) -> str:
        """Who the token speaks for (provider, tenant, application); never the token."""
        ...

    def token(self) -> str:
        """A token valid for at least the refresh margin; fetched again when it is not."""
        ...

    def invalidate(self) -> None:
        """Forget the cached token (the server refused it); the next ``token()`` fetches."""
        ...


def xoauth2_string(username: str, token: str) -> str:
    """The SASL XOAUTH2 initial response, before base64."""
    return f"user={username}\x01auth=Bearer {token}\x01\x01"


class CachedTokenProvider:
    """The cache and the refresh rule; subclasses implement ``_fetch``."""

    def __init__(self, identity: str, *, clock: Clock = time.time) -> None:
        self._identity = identity
        self._clock = clock
        self._lock = threading.Lock()
        self._token: SecretStr | None = None
        self._fresh_until = 0.0

    @property
    def identity(self) -> str:
        return self._identity

    def token(self) -> str:
        with self._lock:
            now = self._clock()
            if self._token is None or now >= self._fresh_until:
                token, lifetime = self._fetch()
                if not token:
                    raise ConfigError(f"oauth2: {self._identity} returned no access token")
                self._token = SecretStr(token)
                self._fresh_until = now + max(lifetime - REFRESH_MARGIN_SECONDS, lifetime / 2)
                log.info(
                    "event=oauth2_token_acquired identity=%s expires_in=%d",
                    self._identity,
                    lifetime,
                )
            return self._token.get_secret_value()

    def invalidate(self) -> None:
        with self._lock:
            self._token = None

    def _fetch(self) -> tuple[str, float]:
        """A new (token, lifetime in seconds)."""
        raise NotImplementedError


def _lifetime(answer: dict[str, Any]) -> float:
    try:
        return max(float(answer.get("expires_in", DEFAULT_LIFETIME_SECONDS)), 1.0)
    except (TypeError, ValueError):
        return DEFAULT_LIFETIME_SECONDS


def _first_line(text: object) -> str:
    return str(text or "").strip().splitlines()[0][:200] if str(text or "").strip() else ""


class HttpTokenProvider(CachedTokenProvider):
    """RFC 6749 token endpoint: ``refresh_token`` grant, else ``client_credentials``."""

    def __init__(
        self,
        cfg: OAuth2Settings,
        client_secret: SecretStr | None,
        refresh_token: SecretStr | None,
        *,
        clock: Clock = time.time,
    ) -> None:
        flow = "refresh token" if refresh_token else "client credentials"
        super().__init__(f"{cfg.provider} client {cfg.client_id} ({flow})", clock=clock)
        self.cfg = cfg
        self._secret = client_secret
        self._refresh = refresh_token

    def _form(self) -> dict[str, str]:
        form = {"client_id": self.cfg.client_id}
        if self._secret is not None:
            form["client_secret"] = self._secret.get_secret_value()
        if self._refresh is not None:
            form["grant_type"] = "refresh_token"
            form["refresh_token"] = self._refresh.get_secret_value()
        else:
            form["grant_type"] = "client_credentials"
        if self.cfg.scopes:
            form["scope"] = " ".join(self.cfg.scopes)
        return form

    def _fetch(self) -> tuple[str, float]:
        endpoint = self.cfg.endpoint
        request = urllib.request.Request(
            endpoint,
            data=urllib.parse.urlencode(self._form()).encode("ascii"),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.cfg.timeout_seconds) as response:
                answer = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise self._refused(exc) from None  # the exception holds the request: no chaining
        except (OSError, ValueError) as exc:
            raise TokenUnavailable(
                f"oauth2.token_endpoint: cannot get a token from {endpoint}: "
                f"{type(exc).__name__}: {_first_line(getattr(exc, 'reason', exc))}"
            ) from None
        if not isinstance(answer, dict) or not answer.get("access_token"):
            raise TokenUnavailable(f"oauth2.token_endpoint: {endpoint} sent no access_token")
        return str(answer["access_token"]), _lifetime(answer)

    def _refused(self, exc: urllib.error.HTTPError) -> Exception:
        try:
            body = json.loads(exc.read() or b"{}")
        except (OSError, ValueError):
            body = {}
        error = str(body.get("error", "")) if isinstance(body, dict) else ""
        where = f"token endpoint {self.cfg.endpoint} answered {exc.code} {error}".rstrip()
        if exc.code >= 500 or exc.code == 429:
            return TokenUnavailable(f"oauth2: {where}")
        return ConfigError(
            f"oauth2: {where}: check [oauth2] client_id, the client secret and the refresh "
            "token (an expired or revoked refresh token needs a new consent)"
        )


class MsalTokenProvider(CachedTokenProvider):
    """Microsoft 365 through ``msal``: app-only client credentials or a delegated refresh token.

    The msal application is built at the first ``token()``, because building it asks
    Microsoft for the tenant's metadata; ``app_factory`` replaces it in tests.
    """

    def __init__(
        self,
        cfg: OAuth2Settings,
        client_secret: SecretStr | None,
        refresh_token: SecretStr | None,
        *,
        clock: Clock = time.time,
        app_factory: Callable[[], Any] | None = None,
    ) -> None:
        flow = "delegated refresh token" if refresh_token else "app-only client credentials"
        identity = f"microsoft tenant {cfg.tenant_id} app {cfg.client_id} ({flow})"
        super().__init__(identity, clock=clock)
        self.cfg = cfg
        self._secret = client_secret
        self._refresh = refresh_token
        self._app_factory = app_factory or self._build_app
        self._app: Any = None

    def _credential(self) -> str | dict[str, str] | None:
        cfg = self.cfg
        if cfg.certificate_file is not None and cfg.certificate_thumbprint is not None:
            try:
                key = cfg.certificate_file.read_text(encoding="ascii")
            except (OSError, UnicodeDecodeError) as exc:
                raise ConfigError(f"oauth2.certificate_file: cannot read: {exc}") from None
            thumbprint = cfg.certificate_thumbprint.replace(":", "")
            return {"private_key": key, "thumbprint": thumbprint}
        return self._secret.get_secret_value() if self._secret is not None else None

    def _build_app(self) -> Any:
        import msal  # type: ignore[import-untyped]  # only Microsoft 365 offices need it

        authority = MICROSOFT_AUTHORITY + str(self.cfg.tenant_id)
        credential = self._credential()
        common = {"authority": authority, "timeout": self.cfg.timeout_seconds}
        if credential is None:
            return msal.PublicClientApplication(self.cfg.client_id, **common)
        return msal.ConfidentialClientApplication(
            self.cfg.client_id, client_credential=credential, **common
        )

    def _fetch(self) -> tuple[str, float]:
        try:
            if self._app is None:
                self._app = self._app_factory()
            if self._refresh is not None:
                answer = self._app.acquire_token_by_refresh_token(
                    self._refresh.get_secret_value(), scopes=self.cfg.scopes
                )
            else:
                answer = self._app.acquire_token_for_client(scopes=self.cfg.scopes)
        except OSError as exc:
            raise TokenUnavailable(
                f"oauth2: cannot reach Microsoft for {self.identity}: {type(exc).__name__}"
            ) from None
        except ValueError as exc:  # msal: unknown tenant, malformed authority or certificate
            raise ConfigError(
                f"oauth2.tenant_id: msal refused the configuration for {self.identity}: "
                f"{_first_line(exc)}"
            ) from None
        if not isinstance(answer, dict) or "access_token" not in answer:
            raise self._refused(answer if isinstance(answer, dict) else {})
        if answer.get("refresh_token"):  # Microsoft rotates delegated refresh tokens
            self._refresh = SecretStr(str(answer["refresh_token"]))
        return str(answer["access_token"]), _lifetime(answer)

    def _refused(self, answer: dict[str, Any]) -> Exception:
        error = str(answer.get("error", "no access_token"))
        description = _first_line(answer.get("error_description"))
        text = f"oauth2: Microsoft refused {self.identity}: {error} {description}".rstrip()
        if error in REFUSALS or not error:
            return ConfigError(
                f"{text}; check [oauth2] tenant_id, client_id and the client secret, "
                "certificate or refresh token"
            )
        return TokenUnavailable(text)


def build_token_provider(
    cfg: OAuth2Settings, *, clock: Clock = time.time
) -> MsalTokenProvider | HttpTokenProvider:
    """A provider for this section, its secrets resolved now."""
    secret, refresh = cfg.client_secret_value(), cfg.refresh_token_value()
    if cfg.provider == "microsoft":
        return MsalTokenProvider(cfg, secret, refresh, clock=clock)
    return HttpTokenProvider(cfg, secret, refresh, clock=clock)


_shared: dict[OAuth2Settings, TokenProvider] = {}
_shared_lock = threading.Lock()


def token_provider(settings: Settings) -> TokenProvider:
    """The process-wide provider for ``settings.oauth2``, so every pass reuses its token."""
    cfg = settings.oauth2
    if cfg is None:
        raise ConfigError("oauth2: auth = 'oauth2' needs an [oauth2] section")
    with _shared_lock:
        provider = _shared.get(cfg)
        if provider is None:
            provider = _shared[cfg] = build_token_provider(cfg)
        return provider


def smtp_xoauth2_login(conn: smtplib.SMTP, username: str, tokens: TokenProvider) -> None:
    """``AUTH XOAUTH2`` with the initial response; a refusal names ``[oauth2]``, never the token.

    smtplib calls the auth object with no argument for the initial response, and with the
    server's challenge after a 334; for XOAUTH2 that challenge is an error report, which the
    client answers with an empty line to receive the final 535.
    """
    initial = xoauth2_string(username, tokens.token())

    def respond(challenge: bytes | None = None) -> str:
        return initial if challenge is None else ""

    try:
        conn.auth("XOAUTH2", respond, initial_response_ok=True)
    except smtplib.SMTPAuthenticationError as exc:
        tokens.invalidate()
        reply = (
            exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else ""
        )
        raise ConfigError(
            f"smtp.auth: XOAUTH2 login refused for {username} with a token from "
            f"{tokens.identity}: {exc.smtp_code} {_first_line(reply)}; check [oauth2] and the "
            "mailbox's SMTP AUTH permission"
        ) from exc
