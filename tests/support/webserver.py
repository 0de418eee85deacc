"""Peers for the web UI tests: the app under uvicorn, a "remote" host, a browser, an HTTP client.

* ``WebServer`` runs the ASGI app under a real uvicorn in a thread on a free 127.0.0.1 port.
* ``RemoteHost`` is a plain HTTP server standing in for the rest of the internet (image
  hosts, trackers, an attacker's page); it records every request it is sent.
* ``chromium`` launches Debian's Chromium through Playwright, headless, with a throwaway
  profile and no background traffic of its own.
* ``HttpSession`` is a small urllib client with a cookie jar that never follows redirects,
  for checks that need no browser.

Every wait is bounded; every server stops in ``finally``.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import http.server
import os
import re
import shutil
import tempfile
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Any

import uvicorn
from playwright.sync_api import BrowserContext, Page, Playwright, expect, sync_playwright
from servers import LOCALHOST, START_TIMEOUT_S, STOP_TIMEOUT_S, free_port, wait_until

from inbox_agent.settings import WebSettings
from inbox_agent.web.server import http_options

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
AXE_JS_DEFAULT = Path.home() / ".cache" / "inbox-agent" / "axe" / "node_modules" / "axe-core"


class WebServer:
    """The app under uvicorn, in a daemon thread; ``url`` is ``http://127.0.0.1:<port>``."""

    def __init__(self, app: Any, web: WebSettings | None = None) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            app,
            host=LOCALHOST,
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="off",
            **http_options(web or WebSettings()),
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def start(self) -> None:
        self.thread.start()
        wait_until(
            lambda: self.server.started or not self.thread.is_alive(),
            timeout=START_TIMEOUT_S,
            what="uvicorn to start",
        )
        if not self.server.started:
            raise RuntimeError("uvicorn exited before it started listening")

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=STOP_TIMEOUT_S)


@contextlib.contextmanager
def running(app: Any) -> Iterator[WebServer]:
    server = WebServer(app)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class RemoteHost:
    """An HTTP server that answers everything and remembers every path it was asked for."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.pages: dict[str, bytes] = {}
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                host.requests.append(f"{self.command} {self.path}")
                body = host.pages.get(self.path.split("?")[0], b"tracked")
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_HEAD = _answer

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = http.server.ThreadingHTTPServer((LOCALHOST, free_port()), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{LOCALHOST}:{self.port}"

    def __enter__(self) -> RemoteHost:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=STOP_TIMEOUT_S)


@contextlib.contextmanager
def chromium(playwright: Playwright, **options: Any) -> Iterator[BrowserContext]:
    """A headless Chromium with a throwaway profile; ``options`` go to the browser context."""
    profile = Path(tempfile.mkdtemp(prefix="inbox-agent-chromium-"))
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=CHROMIUM,
        headless=True,
        args=list(CHROMIUM_ARGS),
        timeout=START_TIMEOUT_S * 1000,
        **options,
    )
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()
        shutil.rmtree(profile, ignore_errors=True)


@contextlib.contextmanager
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


def axe_script() -> Path:
    """axe.min.js from npm's ``axe-core`` (scripts/test.sh installs it in the user's cache)."""
    import os

    base = Path(os.environ.get("INBOX_AGENT_AXE_DIR", str(AXE_JS_DEFAULT)))
    return base / "axe.min.js"


def serious_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations on the page as it stands (the context
    must be made with ``bypass_csp=True`` so the script can be injected)."""
    page.add_script_tag(path=str(axe_script()))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    assert isinstance(result, list)
    return [v for v in result if v.get("impact") in ("serious", "critical")]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Reply:
    status: int
    headers: Message
    body: str


class HttpSession:
    """A cookie-keeping client that shows redirects instead of following them."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(
            self.base + path, data=data, method=method, headers=headers or {}
        )
        try:
            with self.opener.open(req, timeout=15) as resp:
                return Reply(resp.status, resp.headers, resp.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as err:
            with err:
                return Reply(err.code, err.headers, err.read().decode("utf-8", "replace"))

    def get(self, path: str, **headers: str) -> Reply:
        return self.request("GET", path, headers=headers)

    def post(self, path: str, form: dict[str, str], **headers: str) -> Reply:
        return self.request("POST", path, form, headers=headers)


SCREENSHOTS_ENV = "INBOX_AGENT_SCREENSHOTS"  # a folder: the browser tests save pages there


def sign_in(page: Page, base: str, who: tuple[str, str, str], start: str = "/") -> None:
    """Through the login form, as staff do: ``who`` is (username, password, display name)."""
    page.goto(base + start)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Username").fill(who[0])
    page.get_by_label("Password").fill(who[1])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(f"Signed in as {who[2]}")).to_be_visible()


def shot(page: Page, name: str, *, part: str | None = None, full: bool = True) -> None:
    """With $INBOX_AGENT_SCREENSHOTS set, save the page (or one part of it) as a PNG there.

    This is how ``docs/screenshots`` is made; without the variable it does nothing.
    """
    folder = os.environ.get(SCREENSHOTS_ENV)
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    path = str(Path(folder) / f"{name}.png")
    if part is None:
        page.screenshot(path=path, full_page=full)
    else:
        page.locator(part).first.screenshot(path=path)
