"""The staff web UI in a real headless Chromium, over a register built from a real Dovecot.

The pipeline reads a Dovecot mailbox once and sends its acknowledgements to an aiosmtpd sink;
then a member of staff signs in, works a case through the pages, and replies. Also here: mail
whose HTML tries to run script or load remote content, CSRF, login everywhere, roles, and
axe-core's accessibility checks.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import email.utils
import os
import re
import shutil
import signal
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Dialog, Page, Playwright, expect
from servers import DovecotServer, SmtpSink, free_port, wait_until
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.routing import Mount, Route
from support.builders import HUMAN, INBOX, imap_settings, message, smtp_config
from support.webserver import (
    SCREENSHOTS_ENV,
    HttpSession,
    RemoteHost,
    WebServer,
    axe_script,
    chromium,
    running,
    shot,
    sign_in,
)

from inbox_agent.pipeline import Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.export import COLUMNS
from inbox_agent.register.models import (
    AuditEvent,
    Case,
    CaseStatus,
    LabelCorrection,
    OutboxMessage,
    StoredMessage,
    WebUser,
)
from inbox_agent.send import Sender
from inbox_agent.settings import Settings, WebSettings
from inbox_agent.web import accounts
from inbox_agent.web.app import create_app
from inbox_agent.web.downloads import XLSX_MEDIA_TYPE
from inbox_agent.web.views import CASE_ACTIONS

pytestmark = pytest.mark.integration

SECRET = "test-session-key-" + "x" * 40
ADMIN = ("alice", "alice-password-1", "Alice Admin")
TRIAGE = ("tom", "tom-password-123", "Tom Triage")
SINK_TIMEOUT_S = 5.0
HOSTILE_ELEMENTS = (
    "document.querySelectorAll('script, link, meta[http-equiv], base, img, iframe, object, "
    "embed, form, input, svg, body style').length"
)
HOSTILE_ATTRIBUTES = (
    "[...document.querySelectorAll('*')].filter(e => [...e.attributes].some("
    "a => /^(on|href|src|style|action|background|poster|data)/i.test(a.name))).length"
)


def hostile_html(remote: str) -> bytes:
    """A candidate's question in HTML doing everything a tracking or phishing message does.

    The words are a real enquiry, so it becomes a case staff open; the markup is hostile.
    """
    html = f"""<html><head>
<meta http-equiv="refresh" content="0; url={remote}/meta-refresh">
<link rel="stylesheet" href="{remote}/style.css">
<style>body {{ background: url({remote}/css-background.png); }}</style>
<script src="{remote}/external.js"></script>
<script>document.title = "PWNED"; fetch("{remote}/inline-fetch");</script>
</head>
<body onload="fetch('{remote}/onload')">
<p>Dear office, I am standing as a candidate. How many burglaries were reported in 2025? My
answers so far are <a href="javascript:fetch('{remote}/js-link')" id="evil">on this page</a>
and <a href="{remote}/phish">on my campaign site</a>.</p>
<img src="{remote}/tracker.png" alt="tracker" onerror="fetch('{remote}/onerror')">
<div onmouseover="fetch('{remote}/hover')" style="background-image:url({remote}/inline-style.png)">
Hover me</div>
<iframe src="{remote}/frame"></iframe>
<object data="{remote}/object"></object>
<svg><image href="{remote}/svg-image.png"/></svg>
<form action="{remote}/form"><input name="q"><button>Go</button></form>
<table><tr><td>Table cell kept</td></tr></table>
</body></html>"""
    msg = EmailMessage()
    msg["From"] = "Mallory Mailer <mallory@example.net>"
    msg["To"] = INBOX
    msg["Subject"] = "Candidate list (HTML)"
    msg["Date"] = email.utils.format_datetime(dt.datetime(2027, 4, 1, 9, 0, tzinfo=dt.UTC))
    msg["Message-ID"] = "<hostile@example.net>"
    msg.set_content(html, subtype="html")
    msg.add_attachment(
        b"<script>alert(1)</script>",
        maintype="text",
        subtype="html",
        filename="../../etc/evil\u202egnp.html",
    )
    return bytes(msg)


@dataclass
class Office:
    settings: Settings
    register: Register
    sink: SmtpSink
    web: WebServer
    remote: RemoteHost
    original_ids: dict[str, str]

    def case_for(self, requester: str) -> Case:
        with self.register.transaction() as session:
            return session.scalars(select(Case).where(Case.requester_email == requester)).one()

    def events(self, case: Case) -> list[AuditEvent]:
        with self.register.transaction() as session:
            return list(
                session.scalars(
                    select(AuditEvent).where(AuditEvent.case_id == case.id).order_by(AuditEvent.id)
                )
            )


def _add_staff(register: Register) -> None:
    now = dt.datetime.now(dt.UTC)
    with register.transaction() as session:
        for (name, password, display), role in ((ADMIN, "admin"), (TRIAGE, "triage")):
            accounts.add_user(
                session, name, password, role=role, display_name=display, actor="test", now=now
            )


@pytest.fixture
def office(
    dovecot: DovecotServer, smtp_sink: SmtpSink, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Office]:
    """Dovecot's INBOX read once by the pipeline, two staff accounts, the UI on a free port."""
    secure = getattr(request, "param", True)
    with RemoteHost() as remote:
        original_ids = {}
        for n, (sender, subject, body) in enumerate(HUMAN):
            mid = f"<human{n}@example.org>"
            dovecot.append("INBOX", message(sender, subject, body, message_id=mid))
            original_ids[email.utils.parseaddr(sender)[1]] = mid
        dovecot.append("INBOX", hostile_html(remote.url))
        register = Register(f"sqlite:///{tmp_path / 'register.sqlite3'}")
        settings = imap_settings(
            register.engine.url.render_as_string(hide_password=False),
            dovecot.host,
            dovecot.port,
            dovecot.user,
            dovecot.password,
            smtp=smtp_config(smtp_sink.host, smtp_sink.port),
        ).model_copy(update={"web": WebSettings(secure_cookies=secure)})
        report = Pipeline(settings, register).run_once()
        assert report.cases_opened == len(HUMAN) + 1
        _add_staff(register)
        server = WebServer(create_app(settings, register, secret_key=SECRET))
        server.start()
        try:
            yield Office(settings, register, smtp_sink, server, remote, original_ids)
        finally:
            server.stop()
            register.dispose()


def _parsed(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


# --------------------------------------------------------------------------- 1. the work


def test_staff_sign_in_work_a_case_and_reply_threaded(
    office: Office, browser: BrowserContext
) -> None:
    base = office.web.url
    acks_before = len(office.sink.messages)
    assert acks_before >= len(HUMAN), "the pipeline acknowledged the requesters"
    page = browser.new_page()
    if os.environ.get(SCREENSHOTS_ENV):
        page.goto(base + "/login")
        shot(page, "login", full=False)
    sign_in(page, base, ADMIN)
    cookies = {c["name"]: c for c in browser.cookies()}
    assert set(cookies) == {"__Host-inbox-agent", "__Host-inbox-agent-device"}
    cookie, device = cookies["__Host-inbox-agent"], cookies["__Host-inbox-agent-device"]
    assert (cookie["httpOnly"], cookie["secure"], cookie["sameSite"]) == (True, True, "Lax")
    assert (device["httpOnly"], device["secure"], device["sameSite"]) == (True, True, "Strict")

    # the queue, built from the Dovecot mailbox: FOI first, counts per category
    rows = page.locator("table.cases tbody tr")
    expect(rows).to_have_count(len(HUMAN) + 1)
    bob = office.case_for("bob@example.net")
    assert bob.category == "foi_request"
    expect(rows.first.locator("th")).to_have_text(bob.reference)
    counts = page.get_by_role("navigation", name="Open cases by category")
    expect(counts.get_by_role("link", name=re.compile(r"^FOI request 1$"))).to_be_visible()
    shot(page, "queue")

    # search by requester, then open the case
    page.get_by_label("Search by reference, requester or text").fill("ann@example")
    page.get_by_role("button", name="Apply").click()
    expect(rows).to_have_count(1)
    ann = office.case_for("ann@example.com")
    page.get_by_role("link", name=ann.reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(ann.subject)
    expect(page.locator("pre.mail-text").first).to_contain_text("neighbourhood officers")

    # reclassify: kept as a label, due date follows, the sent acknowledgement flagged
    page.get_by_label("Category", exact=True).select_option("foi_request")
    page.get_by_label("Reason (optional)").first.fill("asks for recorded information")
    page.get_by_role("button", name="Save classification").click()
    expect(page.get_by_role("status")).to_contain_text("Classified as FOI request")
    expect(page.get_by_role("region", name="Follow-up needed")).to_contain_text("acknowledgement")

    page.get_by_label("Assigned officer").fill("Alice Admin")
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_role("status")).to_contain_text("Assigned to Alice Admin")

    # reply through the outbox
    body = "Dear Ann,\n\nThe figures you asked for are attached to our website.\n\nAlice"
    page.get_by_label(re.compile("Your reply to")).fill(body)
    page.get_by_role("button", name="Preview reply").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Check the reply")
    expect(page.locator("pre.mail-text")).to_contain_text("figures you asked for")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("status")).to_contain_text("Reply queued")

    drained = Sender(office.settings, office.register, clock=lambda: dt.datetime.now(dt.UTC))
    assert drained.drain().sent == 1
    received = office.sink.wait_for_messages(acks_before + 1, timeout=SINK_TIMEOUT_S)
    reply = _parsed(received[-1].data)
    assert received[-1].rcpt_tos == ("ann@example.com",)
    assert email.utils.parseaddr(reply["From"])[1] == INBOX
    assert ann.reference in reply["Subject"]
    assert reply["In-Reply-To"] == office.original_ids["ann@example.com"]
    assert office.original_ids["ann@example.com"] in reply["References"]
    plain = reply.get_body(("plain",))
    assert plain is not None and "figures you asked for" in plain.get_content()
    assert reply["Auto-Submitted"] is None, "a person wrote it (RFC 3834)"

    # the audit trail shows each step, with the user
    page.reload()
    trail = page.locator("table.audit tbody")
    for step in (
        "Case opened",
        "Acknowledgement queued",
        "Category corrected",
        "Reclassification recorded",
        "Officer assigned",
        "Reply queued",
        "Email sent",
    ):
        expect(trail).to_contain_text(step)
    shot(page, "case", full=False)
    shot(page, "case-audit-trail", part="section:has(#audit)")
    staff_steps = [e for e in office.events(ann) if e.actor == ADMIN[0]]
    assert [e.action for e in staff_steps] == [
        "category_corrected",
        "reclassification_recorded",
        "officer_assigned",
        "reply_queued",
    ]
    with office.register.transaction() as session:
        case = session.get(Case, ann.id)
        assert case is not None
        assert (case.category, case.status, case.officer) == (
            "foi_request",
            "answered",
            "Alice Admin",
        )
        assert case.due_date is not None and case.due_date != ann.due_date
        assert "figures you asked for" in (case.information_provided or "")
        label = session.scalars(select(LabelCorrection)).one()
        assert (label.old_category, label.new_category, label.user) == (
            ann.category,
            "foi_request",
            ADMIN[0],
        )
        kinds = [
            r.kind
            for r in session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == ann.id))
        ]
        assert kinds == ["acknowledgement", "reply"]

    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Health of the inbox")).to_be_visible()
    expect(page.get_by_text("The inbox is being read and nothing has failed.")).to_be_visible()
    shot(page, "dashboard")


# --------------------------------------------------------------------------- 2. hostile mail


def test_hostile_html_runs_nothing_and_loads_nothing(
    office: Office, browser: BrowserContext
) -> None:
    base = office.web.url
    page = browser.new_page()
    requests: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda r: requests.append(r.url))

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    sign_in(page, base, TRIAGE)
    case = office.case_for("mallory@example.net")
    page.goto(f"{base}/cases/{case.reference}")
    expect(page).to_have_title(re.compile(case.reference))
    text = page.locator("pre.mail-text").first
    expect(text).to_contain_text("on this page")

    page.get_by_text("Show the formatted version").click()
    frame_element = page.locator("iframe.mail-frame")
    expect(frame_element).to_be_visible()
    frame = page.frame_locator("iframe.mail-frame")
    expect(frame.get_by_text("Table cell kept")).to_be_visible()
    frame.get_by_text("on this page").click()
    frame.get_by_text("Hover me").hover()
    frame.get_by_text("on my campaign site").click()
    page.wait_for_timeout(500)  # room for anything that might still fire
    shot(page, "hostile-mail", part="article:has(iframe)")

    child = next(f for f in page.frames if f.url.endswith("/formatted"))
    assert child.evaluate(HOSTILE_ELEMENTS) == 0, "the sanitiser left a dangerous element"
    assert child.evaluate(HOSTILE_ATTRIBUTES) == 0, "the sanitiser left a link or handler"
    assert page.title() != "PWNED" and "PWNED" not in child.title()

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(r"evil.*\.html")).click()
    download = download_info.value
    assert "/" not in download.suggested_filename and ".." not in download.suggested_filename
    assert "\u202e" not in download.suggested_filename

    assert office.remote.requests == [], "the remote host was contacted"
    foreign = [u for u in requests if not u.startswith(base)]
    assert foreign == [], f"the browser asked for {foreign}"
    assert dialogs == []


# --------------------------------------------------------------------------- 3. CSRF


def test_a_form_post_without_the_csrf_token_is_refused(
    office: Office, browser: BrowserContext
) -> None:
    base = office.web.url
    case = office.case_for("bob@example.net")
    attack = (
        f'<form method="post" action="{base}/cases/{case.reference}/close">'
        '<input name="note" value="closed by an attacker"><button id="go">Win a prize</button>'
        "</form>"
    ).encode()
    office.remote.pages["/prize"] = attack
    page = browser.new_page()
    sign_in(page, base, ADMIN)

    page.goto(office.remote.url + "/prize")  # same site (127.0.0.1): the cookie goes along
    page.locator("#go").click()
    expect(page.get_by_role("heading", name="Refused")).to_be_visible()

    forged = page.request.post(
        f"{base}/cases/{case.reference}/close",
        form={"note": "no token", "csrf_token": "forged-token-" + "x" * 30},
        max_redirects=0,
    )
    assert forged.status == 403
    bare = page.request.post(f"{base}/cases/{case.reference}/close", form={"note": "x"})
    assert bare.status == 403
    with office.register.transaction() as session:
        assert session.get(Case, case.id).status == CaseStatus.NEW  # type: ignore[union-attr]
    assert not [e for e in office.events(case) if e.action == "case_closed"]

    page.goto(f"{base}/cases/{case.reference}")
    page.get_by_role("button", name="Close case").click()
    expect(page.get_by_role("status")).to_contain_text("Case closed")


# --------------------------------------------------------------------------- 4. login, roles


def _route_paths(office: Office) -> list[tuple[str, str]]:
    """Every route of the app with real values in its path, and each of its methods."""
    app = office.web.server.config.app
    assert isinstance(app, Starlette)
    case = office.case_for("ann@example.com")
    with office.register.transaction() as session:
        message_id = session.scalars(
            select(StoredMessage.id).where(StoredMessage.case_id == case.id)
        ).first()
    values = {
        "reference": case.reference,
        "message_id": str(message_id),
        "index": "0",
        "username": TRIAGE[0],
    }
    actions = {"/cases/{reference}/{action}": [*CASE_ACTIONS, "reply"]}
    actions["/admin/users/{username}/{action}"] = ["disable", "enable", "reset", "email"]
    found: list[tuple[str, str]] = []
    for route in app.routes:
        if isinstance(route, Mount) or not isinstance(route, Route) or route.path == "/login":
            continue
        for action in actions.get(route.path, [""]):
            names = values | {"action": action}
            path = route.path
            for name, value in names.items():
                path = re.sub(rf"\{{{name}(:\w+)?\}}", value, path)
            methods = sorted(route.methods or ())
            found.extend((method, path) for method in methods if method != "HEAD")
    return found


@pytest.mark.parametrize("office", [False], indirect=True)
def test_every_route_without_a_session_redirects_to_login(office: Office) -> None:
    routes = _route_paths(office)
    assert len(routes) >= 11 + len(CASE_ACTIONS) + 3  # the templated routes, expanded
    anonymous = HttpSession(office.web.url)
    for method, path in routes:
        reply = anonymous.request(method, path, {} if method == "POST" else None)
        assert reply.status == 303, f"{method} {path} answered {reply.status}"
        back = "%2F" if method == "POST" else urllib.parse.quote(path, safe="")
        assert reply.headers["location"] == f"/login?next={back}", f"{method} {path}"
    login = anonymous.get("/login")
    assert login.status == 200
    assert anonymous.get("/static/web.css").status == 200
    csp = login.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert login.headers["x-frame-options"] == "DENY"
    assert login.headers["referrer-policy"] == "no-referrer"
    assert login.headers["x-content-type-options"] == "nosniff"
    cookie = login.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie, "web.secure_cookies = false in this test"


@pytest.mark.parametrize("office", [False], indirect=True)
def test_trusted_proxy_header_signs_in_known_active_accounts_only(office: Office) -> None:
    web = WebSettings(trusted_proxy_header="X-Remote-User", secure_cookies=False)
    settings = office.settings.model_copy(update={"web": web})
    with running(create_app(settings, office.register, secret_key=SECRET)) as server:
        client = HttpSession(server.url)
        queue = client.get("/", **{"X-Remote-User": TRIAGE[0]})
        assert queue.status == 200 and f"Signed in as {TRIAGE[2]}" in queue.body
        assert client.get("/admin/users", **{"X-Remote-User": TRIAGE[0]}).status == 403
        assert client.get("/", **{"X-Remote-User": "nobody"}).status == 303
        assert HttpSession(server.url).get("/").status == 303, "no header, no session"
    # off by default: the same header means nothing to the office's own server
    assert HttpSession(office.web.url).get("/", **{"X-Remote-User": ADMIN[0]}).status == 303


def _signed_in(office: Office, who: tuple[str, str, str]) -> HttpSession:
    """A plain HTTP client signed in through the login form."""
    client = HttpSession(office.web.url)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").body)
    assert token is not None
    form = {"username": who[0], "password": who[1], "csrf_token": token[1]}
    assert client.post("/login", form).status == 303
    return client


@pytest.mark.parametrize("office", [False], indirect=True)
def test_an_admin_downloads_the_register_with_its_statutory_columns(office: Office) -> None:
    alice = _signed_in(office, ADMIN)
    csv_reply = alice.get("/register.csv")
    assert csv_reply.status == 200
    header = csv_reply.body.lstrip("\ufeff").splitlines()[0]
    assert header == ",".join(title for _, title in COLUMNS)
    xlsx_reply = alice.get("/register.xlsx")
    assert xlsx_reply.status == 200 and xlsx_reply.body.startswith("PK")
    assert xlsx_reply.headers["content-type"] == XLSX_MEDIA_TYPE


@pytest.mark.parametrize("office", [False], indirect=True)
def test_a_triage_user_cannot_reach_admin_pages(office: Office) -> None:
    tom = _signed_in(office, TRIAGE)
    queue = tom.get("/")
    assert queue.status == 200 and "Staff accounts" not in queue.body
    token = re.search(r'name="csrf_token" value="([^"]+)"', queue.body)
    assert token is not None
    for path in ("/admin/users", "/register.csv", "/register.xlsx"):
        reply = tom.get(path)
        assert reply.status == 403, path
        assert "This page is for administrators" in reply.body
    new_user = {
        "username": "mallory",
        "password": "mallory-password",
        "password_confirm": "mallory-password",
        "role": "admin",
        "csrf_token": token[1],
    }
    assert tom.post("/admin/users", new_user).status == 403
    assert tom.post("/admin/users/alice/disable", {"csrf_token": token[1]}).status == 403
    with office.register.transaction() as session:
        names = set(session.scalars(select(WebUser.username)))
        assert names == {ADMIN[0], TRIAGE[0]}
        assert all(session.scalars(select(WebUser.active)))


@pytest.mark.parametrize("office", [False], indirect=True)
def test_login_is_throttled_and_disabling_an_account_ends_its_session(office: Office) -> None:
    client = HttpSession(office.web.url)

    def attempt(password: str) -> int:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").body)
        assert token is not None
        form = {"username": TRIAGE[0], "password": password, "csrf_token": token[1]}
        return client.post("/login", form).status

    assert [attempt("wrong-password-x") for _ in range(5)] == [401] * 5
    assert attempt(TRIAGE[1]) == 429, "the right password is refused while throttled"

    alice = _signed_in(office, ADMIN)
    assert alice.get("/").status == 200
    now = dt.datetime.now(dt.UTC)
    with office.register.transaction() as session:
        accounts.set_active(session, ADMIN[0], False, actor="test", now=now)
    reply = alice.get("/")
    assert reply.status == 303 and reply.headers["location"].startswith("/login")


# --------------------------------------------------------------------------- 5. axe-core


def _axe(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(axe_script()))
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    assert isinstance(result, list)
    return [v for v in result if v.get("impact") in ("serious", "critical")]


def test_axe_finds_no_serious_or_critical_violations(office: Office, driver: Playwright) -> None:
    if not axe_script().is_file():
        pytest.fail(f"axe-core not found at {axe_script()}: run scripts/test.sh (npm axe-core)")
    base = office.web.url
    case = office.case_for("mallory@example.net")
    # bypass_csp lets the test inject axe.min.js; the app's own pages carry no script at all
    with chromium(driver, bypass_csp=True) as context:
        page = context.new_page()
        page.goto(base + "/login")
        found = {"login": _axe(page)}
        sign_in(page, base, ADMIN)
        found["queue"] = _axe(page)
        page.goto(f"{base}/cases/{case.reference}")
        page.get_by_text("Show the formatted version").click()
        found["case"] = _axe(page)
        page.goto(base + "/dashboard")
        found["dashboard"] = _axe(page)
        page.goto(base + "/admin/users")
        found["users"] = _axe(page)
    summary = {
        name: [f"{v['id']} ({v['impact']}): {v['help']} x{len(v['nodes'])}" for v in violations]
        for name, violations in found.items()
        if violations
    }
    assert summary == {}


# --------------------------------------------------------------------------- 6. the command


def test_inbox_agent_web_serves_the_login_page_and_stops_on_sigterm(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    shutil.copytree(root / "demo" / "maildir", tmp_path / "demo" / "maildir")
    (tmp_path / "config").mkdir()
    config = tmp_path / "config" / "example.toml"
    port = free_port()
    text = (root / "config" / "example.toml").read_text(encoding="utf-8")
    config.write_text(text.replace('"127.0.0.1:8080"', f'"127.0.0.1:{port}"'), encoding="utf-8")
    env = {**os.environ, "INBOX_AGENT_CONFIG": str(config)}
    env.pop("INBOX_AGENT_WEB_KEY", None)
    command = [sys.executable, "-m", "inbox_agent.cli", "web"]
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2, "no session key: the operator must fix the configuration"
    assert "web.secret_key_env" in refused.stderr

    env["INBOX_AGENT_WEB_KEY"] = SECRET
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        client = HttpSession(f"http://127.0.0.1:{port}")

        def up() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"inbox-agent web exited: {proc.communicate()[1]!r}")
            try:
                return client.get("/login").status == 200
            except OSError:
                return False

        wait_until(up, timeout=30, what="inbox-agent web to answer")
        assert client.get("/").status == 303
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.communicate()
