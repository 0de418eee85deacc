"""What keeps the web UI safe to open mail in: headers, CSRF tokens, login throttling.

* Every response carries a strict Content-Security-Policy (``default-src 'self'``, no inline
  script or style), ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer`` and
  ``Cache-Control: no-store`` (pages hold personal data). The one exception is a sanitised
  HTML message, served to a sandboxed frame of our own page under an even stricter policy.
* Every form carries a per-session random token; a POST without it is refused.
* Failed logins are counted per account and per client address; past the limit, logins are
  refused until the window passes. The count lives in memory: one process serves the UI.
"""

from __future__ import annotations

import datetime as dt
import hmac
import secrets
import threading
from collections import deque
from collections.abc import Iterable, MutableMapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_FIELD = "csrf_token"
CSRF_SESSION_KEY = "csrf"

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-src 'self'; frame-ancestors 'none'"
)

DEFAULT_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", PAGE_CSP),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=()"),
    ("cache-control", "no-store"),
)


def message_frame_csp(style_hash: str) -> str:
    """For sanitised mail in a sandboxed frame: nothing may load, nothing may run."""
    return (
        f"default-src 'none'; style-src '{style_hash}'; img-src 'none'; font-src 'none'; "
        "media-src 'none'; form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox"
    )


class SecurityHeadersMiddleware:
    """Adds the default headers to every HTTP response that does not set its own."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in DEFAULT_HEADERS:
                    if name.encode() not in present:
                        headers.append((name.encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def csrf_token(session: MutableMapping[str, Any]) -> str:
    """The session's token, created on first use."""
    token = session.get(CSRF_SESSION_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return token


def rotate_csrf_token(session: MutableMapping[str, Any]) -> str:
    session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)
    return str(session[CSRF_SESSION_KEY])


def csrf_valid(session: MutableMapping[str, Any], submitted: object) -> bool:
    expected = session.get(CSRF_SESSION_KEY)
    if not isinstance(expected, str) or not isinstance(submitted, str) or not submitted:
        return False
    return hmac.compare_digest(expected.encode(), submitted.encode())


def safe_next(target: str | None) -> str:
    """Where to go after login: only a path on this site, never ``//evil`` or a URL."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(ch) < 32 for ch in target):
        return "/"
    return target


class LoginThrottle:
    """At most ``limit`` failures per key in a sliding ``window``; thread-safe."""

    def __init__(
        self,
        *,
        per_account: int = 5,
        per_client: int = 20,
        window: dt.timedelta = dt.timedelta(minutes=15),
    ) -> None:
        self.limits = {"account": per_account, "client": per_client}
        self.window = window
        self._failures: dict[str, deque[dt.datetime]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def keys(username: str, client: str) -> tuple[str, str]:
        return f"account:{username.strip().lower()[:64]}", f"client:{client}"

    def _recent(self, key: str, now: dt.datetime) -> deque[dt.datetime]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def blocked(self, keys: Iterable[str], now: dt.datetime) -> bool:
        with self._lock:
            return any(
                len(self._recent(key, now)) >= self.limits[key.split(":", 1)[0]] for key in keys
            )

    def failed(self, keys: Iterable[str], now: dt.datetime) -> None:
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, account_key: str) -> None:
        with self._lock:
            self._failures.pop(account_key, None)
