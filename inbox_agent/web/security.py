"""What keeps the web UI safe to open mail in: headers, CSRF tokens, a bounded request body.

* Every response carries a strict Content-Security-Policy (``default-src 'self'``, no inline
  script or style), ``X-Frame-Options: DENY``, ``Referrer-Policy: no-referrer`` and
  ``Cache-Control: no-store`` (pages hold personal data). The one exception is a sanitised
  HTML message, served to a sandboxed frame of our own page under an even stricter policy.
  Error pages (404, 405, and a 500 from a bug) carry the same headers.
* Every form carries a per-session random token; a POST without it is refused.
* A request body larger than ``web.max_request_bytes`` is refused with 413 before it is
  read (by its Content-Length) or as soon as it passes the limit (chunked); a request head
  larger than ``web.max_header_bytes`` with 431.
* Sign-in limits are ``web.signin``'s.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import MutableMapping
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


class BodyTooLarge(Exception):
    """Raised inside the app when a chunked body passes the limit; answered 413."""


class RequestLimitMiddleware:
    """Refuses a request head over ``max_header_bytes`` (431) and a body over ``max_bytes``
    (413): by Content-Length before reading, else as soon as a streamed body passes it.

    uvicorn's h11 parser already drops a head that keeps growing past the same bound while it
    is still incomplete (``server.http_options``); this catches one that arrived whole.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, max_header_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_header_bytes = max_header_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers", [])
        if sum(len(n) + len(v) + 4 for n, v in headers) > self.max_header_bytes:
            limit = self.max_header_bytes
            await _refuse(send, 431, f"Request headers too large: at most {limit}")
            return
        for name, value in headers:
            if name == b"content-length" and (not value.isdigit() or int(value) > self.max_bytes):
                await _too_large(send, self.max_bytes)
                return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise BodyTooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched_send)
        except BodyTooLarge:
            if not started:
                await _too_large(send, self.max_bytes)


async def _too_large(send: Send, limit: int) -> None:
    await _refuse(send, 413, f"Request body too large: at most {limit}")


async def _refuse(send: Send, status: int, text: str) -> None:
    body = f"{text} bytes are accepted.\n".encode()
    headers = [(n.encode(), v.encode()) for n, v in DEFAULT_HEADERS]
    headers += [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


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
