"""The web UI under attack and under real use: sign-in limits, sessions, safe replies, follow-ups.

A register built by the pipeline from a real Dovecot, the app under a real uvicorn, staff in
Debian's Chromium (Playwright), attackers as bounded pools of httpx clients. The office's clock
is a list the test moves on, so idle timeouts and overdue dates need no waiting.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import email
import email.policy
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, Playwright, expect
from servers import DovecotServer, SmtpSink
from sqlalchemy import func, select, text
from support.builders import imap_settings, message, smtp_config
from support.webserver import WebServer, chromium, sign_in

from inbox_agent.pipeline import Pipeline
from inbox_agent.register.db import Register
from inbox_agent.register.models import (
    AuditEvent,
    Case,
    CaseStatus,
    LoginThrottle,
    MailboxState,
    OutboxMessage,
    WebSession,
)
from inbox_agent.send import Sender
from inbox_agent.settings import Settings, WebSettings
from inbox_agent.web import accounts
from inbox_agent.web.app import create_app

pytestmark = pytest.mark.integration

SECRET = "test-session-key-" + "y" * 40
ADMIN = ("alice", "alice-password-1", "Alice Admin")
TRIAGE = ("tom", "tom-password-123", "Tom Triage")
ALICE_MAIL = "alice.admin@opcc.example"
GUESSES = 300
ATTACKERS = 30  # parallel connections: bounded, so the test itself stays small
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
REQUESTS = (
    (
        "Ann Voter <ann@example.com>",
        "Street lighting and crime",
        "Has crime fallen where the "
        "street lights were switched off at midnight? I would like the figures for 2025.",
    ),
    (
        "Bob Reporter <bob@example.net>",
        "Freedom of information request: overtime",
        "Under the Freedom of Information Act please send the police overtime costs for 2025.",
    ),
    (
        "Cat Resident <cat@example.org>",
        "Speeding on the high street",
        "What is being done about speeding on the high street in our village?",
    ),
)


@dataclass
class Office:
    settings: Settings
    register: Register
    sink: SmtpSink
    dovecot: DovecotServer
    web: WebServer
    clock: list[dt.datetime]

    def case(self, requester: str) -> Case:
        with self.register.transaction() as session:
            return session.scalars(select(Case).where(Case.requester_email == requester)).one()

    def count(self, action: str) -> int:
        with self.register.transaction() as session:
            query = select(func.count()).where(AuditEvent.action == action)
            return int(session.scalar(query) or 0)

    def run_pipeline(self) -> None:
        Pipeline(self.settings, self.register, clock=lambda: self.clock[0]).run_once()


@contextlib.contextmanager
def _office(
    dovecot: DovecotServer, smtp_sink: SmtpSink, tmp_path: Path, **web: object
) -> Iterator[Office]:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    for n, (sender, subject, body) in enumerate(REQUESTS):
        arrived = now - dt.timedelta(hours=3 - n)
        raw = message(sender, subject, body, message_id=f"<req{n}@example.org>", date=arrived)
        dovecot.append("INBOX", raw, internal_date=arrived)
    register = Register(f"sqlite:///{tmp_path / 'register.sqlite3'}")
    settings = imap_settings(
        register.engine.url.render_as_string(hide_password=False),
        dovecot.host,
        dovecot.port,
        dovecot.user,
        dovecot.password,
        smtp=smtp_config(smtp_sink.host, smtp_sink.port),
    )
    settings = settings.model_copy(
        update={"web": WebSettings.model_validate({"secure_cookies": False, **web})}
    )
    clock = [now]
    with register.transaction() as session:
        for (name, password, shown), role, mail in (
            (ADMIN, "admin", ALICE_MAIL),
            (TRIAGE, "triage", ""),
        ):
            accounts.add_user(
                session,
                name,
                password,
                role=role,
                display_name=shown,
                email=mail,
                actor="test",
                now=now,
            )
    office = Office(settings, register, smtp_sink, dovecot, None, clock)  # type: ignore[arg-type]
    office.run_pipeline()
    office.web = WebServer(
        create_app(settings, register, secret_key=SECRET, clock=lambda: clock[0]), settings.web
    )
    office.web.start()
    try:
        yield office
    finally:
        office.web.stop()
        register.dispose()


@pytest.fixture
def office(dovecot: DovecotServer, smtp_sink: SmtpSink, tmp_path: Path) -> Iterator[Office]:
    with _office(dovecot, smtp_sink, tmp_path, max_request_bytes=65536) as opened:
        yield opened


def _login_form(client: httpx.Client) -> str:
    token = CSRF.search(client.get("/login").text)
    assert token is not None
    return token[1]


def _guess_all(
    base: str, usernames: list[str], parallel: int = ATTACKERS
) -> list[tuple[int, float]]:
    """Every guess at once from one source, ``parallel`` at a time: (status, seconds) each."""
    with httpx.Client(base_url=base, timeout=60) as first:
        token = _login_form(first)
        cookies = dict(first.cookies)

    limits = httpx.Limits(max_connections=parallel, max_keepalive_connections=0)
    with httpx.Client(base_url=base, cookies=cookies, timeout=60, limits=limits) as client:

        def guess(name: str) -> tuple[int, float]:
            started = time.monotonic()
            reply = client.post(
                "/login", data={"username": name, "password": "not-it-" * 3, "csrf_token": token}
            )
            return reply.status_code, time.monotonic() - started

        with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
            return list(pool.map(guess, usernames))


@contextlib.contextmanager
def _staff_client(base: str, who: tuple[str, str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base, timeout=30) as client:
        token = _login_form(client)
        reply = client.post(
            "/login", data={"username": who[0], "password": who[1], "csrf_token": token}
        )
        assert reply.status_code == 303, reply.text
        yield client


# --------------------------------------------------------------------------- 1. sign-in limits


def test_300_parallel_guesses_get_exactly_the_limit_of_password_checks(
    dovecot: DovecotServer, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    # many hash slots, so only the counter in the register can hold the line
    with _office(dovecot, smtp_sink, tmp_path, login_concurrency=16) as office:
        results = _guess_all(office.web.url, [TRIAGE[0]] * GUESSES)
        statuses = [status for status, _ in results]
        assert statuses.count(401) == 5, "five wrong passwords were checked"
        assert statuses.count(429) == GUESSES - 5
        assert office.count("login_failed") == 5, "argon2 ran five times, not 300"
        with office.register.transaction() as session:
            row = session.get(LoginThrottle, f"pair:{TRIAGE[0]}|127.0.0.1")
            assert row is not None and row.attempts == 5


def test_staff_pages_answer_while_strangers_flood_the_sign_in(office: Office) -> None:
    with _staff_client(office.web.url, ADMIN) as alice:
        names = [f"user{n}" for n in range(GUESSES)]  # spraying: a different account each time
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            flood = pool.submit(_guess_all, office.web.url, names)
            pages = []
            while not flood.done() and len(pages) < 50:
                started = time.monotonic()
                pages.append((alice.get("/").status_code, time.monotonic() - started))
            results = flood.result()
        statuses = [status for status, _ in results]
        assert set(statuses) <= {401, 429}
        assert statuses.count(401) <= 30, "one source: at most 30 checks across accounts"
        assert office.count("login_failed") == statuses.count(401)
        assert pages and all(status == 200 for status, _ in pages)
        slowest = max(seconds for _, seconds in pages)
        refused = sorted(seconds for status, seconds in results if status == 429)
        print(
            f"\nflood: {len(results)} guesses, {statuses.count(401)} checked, "
            f"{statuses.count(429)} refused (median {refused[len(refused) // 2]:.3f} s); "
            f"staff page: {len(pages)} loads during it, slowest {slowest:.3f} s"
        )


def test_a_stranger_cannot_lock_out_staff_and_admins_clear_lockouts(
    office: Office, driver: Playwright
) -> None:
    base = office.web.url
    with chromium(driver) as toms_pc:
        page = toms_pc.new_page()
        sign_in(page, base, TRIAGE)  # this browser now carries tom's device cookie
        page.get_by_role("button", name="Sign out").click()

        guesses = _guess_all(base, [TRIAGE[0]] * 8, parallel=1)  # from tom's address (loopback)
        assert [status for status, _ in guesses] == [401] * 5 + [429] * 3
        with chromium(driver) as elsewhere:  # a browser tom never used: kept out
            other = elsewhere.new_page()
            other.goto(base + "/login")
            other.get_by_label("Username").fill(TRIAGE[0])
            other.get_by_label("Password").fill(TRIAGE[1])
            other.get_by_role("button", name="Sign in").click()
            expect(other.get_by_role("alert")).to_contain_text("Too many failed sign-ins")

            sign_in(page, base, TRIAGE)  # tom's own browser is not
            expect(page.get_by_text(f"Signed in as {TRIAGE[2]}")).to_be_visible()

            with chromium(driver) as admins_pc:
                admin = admins_pc.new_page()
                sign_in(admin, base, ADMIN, start="/admin/users")
                locks = admin.locator("table.lockouts tbody tr")
                expect(locks).to_have_count(1)
                expect(locks).to_contain_text(TRIAGE[0])
                expect(locks).to_contain_text("127.0.0.1")
                locks.get_by_role("button", name=re.compile("Clear")).click()
                expect(admin.get_by_role("status")).to_contain_text("lockout cleared")
                expect(admin.get_by_text("No account or address is locked out.")).to_be_visible()

            other.get_by_label("Password").fill(TRIAGE[1])
            other.get_by_role("button", name="Sign in").click()
            expect(other.get_by_text(f"Signed in as {TRIAGE[2]}")).to_be_visible()
    assert office.count("lockout_cleared") == 1


# --------------------------------------------------------------------------- 3. sessions


def test_sign_out_ends_the_session_on_the_server(office: Office, driver: Playwright) -> None:
    base = office.web.url
    with chromium(driver) as context:
        page = context.new_page()
        sign_in(page, base, ADMIN)
        stolen = [c for c in context.cookies() if c["name"] == "inbox-agent"]
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    with chromium(driver) as thief:
        thief.add_cookies(stolen)  # type: ignore[arg-type]
        page = thief.new_page()
        page.goto(base + "/")
        expect(page).to_have_url(re.compile(r"/login\?next="))
    with office.register.transaction() as session:
        ended = session.scalars(select(WebSession.ended_because)).all()
        assert ended == ["signed_out"]


def test_a_reply_typed_past_the_idle_timeout_is_kept_through_sign_in(
    office: Office, browser: BrowserContext
) -> None:
    base = office.web.url
    ann = office.case("ann@example.com")
    page = browser.new_page()
    sign_in(page, base, TRIAGE, start=f"/cases/{ann.reference}")
    answer = "Dear Ann,\n\nCrime fell by 4% on the unlit streets (our figures attached).\n\nTom"
    page.get_by_label(re.compile("Your reply to")).fill(answer)
    office.clock[0] += dt.timedelta(minutes=31)  # tom went to a meeting
    page.get_by_role("button", name="Preview reply").click()
    expect(page.get_by_role("status")).to_contain_text("Your session ended before this form")
    page.get_by_label("Username").fill(TRIAGE[0])
    page.get_by_label("Password").fill(TRIAGE[1])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(rf"/cases/{ann.reference}#reply$"))
    expect(page.get_by_role("status").first).to_contain_text("What you typed is back")
    expect(page.get_by_label(re.compile("Your reply to"))).to_have_value(answer)
    with office.register.transaction() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "reply")
            )
            == 0
        ), "nothing was sent"
        reasons = set(session.scalars(select(WebSession.ended_because)))
        assert "idle" in reasons
        assert not any(session.scalars(select(WebSession.resume))), "the kept text is gone"
    page.reload()
    expect(page.get_by_label(re.compile("Your reply to"))).not_to_have_value(answer)


def test_no_field_is_cut_short_in_silence(office: Office, browser: BrowserContext) -> None:
    base = office.web.url
    cat = office.case("cat@example.org")
    page = browser.new_page()
    sign_in(page, base, TRIAGE, start=f"/cases/{cat.reference}")
    expect(page.locator("#officer-hint")).to_contain_text("Up to 100 characters")
    long_name = "Officer " + "x" * 120
    page.get_by_label("Assigned officer").fill(long_name)
    assert page.get_by_label("Assigned officer").input_value() == long_name, "no maxlength"
    page.get_by_role("button", name="Assign").click()
    expect(page.get_by_role("alert")).to_contain_text("128 characters long; at most 100")
    decisions = "Decided. " * 2300  # 20,700 characters
    page.get_by_label("Decisions and risk mitigations").fill(decisions)
    page.get_by_role("button", name="Save decisions").click()
    expect(page.get_by_role("alert")).to_contain_text("at most 20,000 are allowed")
    expect(page.get_by_label("Decisions and risk mitigations")).to_have_value(decisions)
    page.goto(base + "/?q=" + "+".join(["speeding"] * 30))
    expect(page.get_by_role("alert")).to_contain_text("at most 200 are allowed")
    after = office.case("cat@example.org")
    assert (after.officer, after.decisions_and_risk_mitigations) == (None, None)


# --------------------------------------------------------------------------- 4. replies


def test_a_reply_is_previewed_refused_untouched_and_sent_once(
    office: Office, browser: BrowserContext
) -> None:
    base = office.web.url
    bob = office.case("bob@example.net")
    page = browser.new_page()
    sign_in(page, base, ADMIN, start=f"/cases/{bob.reference}")
    page.get_by_role("button", name="Preview reply").click()  # the draft as it was given
    expect(page.get_by_role("alert")).to_contain_text("still the unchanged draft")

    answer = "Dear Bob,\n\nOvertime cost £1.2m in 2025.\n\nAlice"
    page.get_by_label(re.compile("Your reply to")).fill(answer)
    page.get_by_role("button", name="Preview reply").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Check the reply")
    preview = page.locator("section.mail")
    expect(preview).to_contain_text("bob@example.net")
    expect(preview).to_contain_text(f"[{bob.reference}]")
    expect(preview.locator("pre")).to_have_text(answer)
    with office.register.transaction() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "reply")
            )
            == 0
        ), "a preview sends nothing"

    form = page.locator(f"form[action='/cases/{bob.reference}/send']")
    fields = {
        name: form.locator(f"input[name='{name}']").get_attribute("value") or ""
        for name in ("csrf_token", "form_token", "body")
    }
    # a double submit: the same form posted twice at once (with this browser's cookies),
    # then the button pressed again
    cookies = {c["name"]: c["value"] for c in browser.cookies()}
    with (
        httpx.Client(base_url=base, cookies=cookies) as twice,
        concurrent.futures.ThreadPoolExecutor(2) as pool,
    ):
        posts = [
            pool.submit(twice.post, f"/cases/{bob.reference}/send", data=fields) for _ in range(2)
        ]
        assert [p.result().status_code for p in posts] == [303, 303]
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_role("status").first).to_contain_text("already sent")

    with office.register.transaction() as session:
        replies = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.case_id == bob.id, OutboxMessage.kind == "reply"
            )
        ).all()
        assert len(replies) == 1
    before = len(office.sink.messages)
    Sender(office.settings, office.register, clock=lambda: office.clock[0]).drain()
    sent = office.sink.wait_for_messages(before + 1)
    assert len(sent) == before + 1 and sent[-1].rcpt_tos == ("bob@example.net",)


# --------------------------------------------------------------------------- 5. roles


def test_triage_sees_no_publish_controls_and_the_server_refuses_them(
    office: Office, browser: BrowserContext
) -> None:
    base = office.web.url
    ann = office.case("ann@example.com")
    page = browser.new_page()
    sign_in(page, base, TRIAGE, start=f"/cases/{ann.reference}")
    expect(page.get_by_role("button", name="Record date")).to_have_count(0)
    expect(page.get_by_text("An administrator records publication.")).to_be_visible()
    token = page.locator("input[name='csrf_token']").first.get_attribute("value") or ""
    for path, form in (
        (f"/cases/{ann.reference}/website", {"date": office.clock[0].date().isoformat()}),
        (f"/publication/{ann.reference}/approve", {"question": "q", "answer": "a", "force": "yes"}),
        ("/publication/write", {}),
    ):
        reply = page.request.post(base + path, form=form | {"csrf_token": token}, max_redirects=0)
        assert reply.status == 403, path
        assert "for administrators" in reply.text(), path
    assert office.case("ann@example.com").date_added_to_website is None


# --------------------------------------------------------------------------- 2. follow-ups


def _follow_up(office: Office, case: Case, sender: str, body: str) -> None:
    arrived = office.clock[0] - dt.timedelta(minutes=5)
    raw = message(sender, f"Re: [{case.reference}] {case.subject}", body, date=arrived)
    office.dovecot.append("INBOX", raw, internal_date=arrived)


def test_follow_ups_reopen_or_flag_surface_in_the_queue_and_notify_the_officer(
    office: Office, browser: BrowserContext
) -> None:
    ann, cat = office.case("ann@example.com"), office.case("cat@example.org")
    from inbox_agent.web import casework

    with office.register.transaction() as session:
        for case, status in ((ann, CaseStatus.ANSWERED), (cat, CaseStatus.CLOSED)):
            row = session.get(Case, case.id)
            assert row is not None
            casework.assign_officer(session, row, ADMIN[2], actor="alice", now=office.clock[0])
            row.status = status
    before = len(office.sink.messages)
    _follow_up(office, ann, "Ann Voter <ann@example.com>", "Thanks. And the figures for 2024?")
    _follow_up(office, cat, "Cat Resident <cat@example.org>", "The speed camera is broken again.")
    office.run_pipeline()

    assert office.case("ann@example.com").status == CaseStatus.IN_PROGRESS, "answered: reopened"
    assert office.case("cat@example.org").status == CaseStatus.CLOSED, "closed: stays, flagged"
    Sender(office.settings, office.register, clock=lambda: office.clock[0]).drain()
    notices = [
        m for m in office.sink.wait_for_messages(before + 2)[before:] if m.rcpt_tos == (ALICE_MAIL,)
    ]
    assert len(notices) == 2
    subjects = sorted(
        str(email.message_from_bytes(m.data, policy=email.policy.default)["Subject"])
        for m in notices
    )
    assert subjects == sorted(f"[{c.reference}] New reply from the requester" for c in (ann, cat))
    assert all(b"speed camera" not in m.data and b"2024" not in m.data for m in notices)

    base = office.web.url
    page = browser.new_page()
    sign_in(page, base, ADMIN)
    rows = page.locator("table.cases tbody tr")
    expect(rows.filter(has_text=ann.reference).locator(".tag-reply")).to_have_text("New reply")
    page.get_by_role("link", name=re.compile(r"^New replies")).click()
    expect(rows).to_have_count(2)  # the closed case too
    page.goto(base + "/?q=speed+camera")  # words only in the follow-up, on a closed case
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(cat.reference)
    page.get_by_role("link", name=cat.reference).click()
    banner = page.get_by_role("region", name="New reply from the requester")
    expect(banner).to_contain_text("stays closed until you reopen it")
    banner.get_by_role("button", name="Mark the new reply as read").click()
    expect(page.get_by_role("status")).to_contain_text("marked as read")
    expect(page.get_by_role("region", name="New reply from the requester")).to_have_count(0)
    assert office.count("follow_up_received") == 2


# --------------------------------------------------------------------------- 6. dashboard


def test_dashboard_degrades_and_its_overdue_count_is_the_queues(
    office: Office, browser: BrowserContext
) -> None:
    today = office.clock[0].date()
    bob, ann = office.case("bob@example.net"), office.case("ann@example.com")
    with office.register.transaction() as session:
        for case, status in ((bob, CaseStatus.IN_PROGRESS), (ann, CaseStatus.ANSWERED)):
            row = session.get(Case, case.id)
            assert row is not None
            row.due_date, row.status = today - dt.timedelta(days=3), status
    base = office.web.url
    page = browser.new_page()
    sign_in(page, base, ADMIN, start="/dashboard")
    expect(page.get_by_text("The inbox is being read and nothing has failed.")).to_be_visible()
    link = page.locator("#overdue-all")
    expect(link).to_contain_text("1 open case past the due date")  # the answered one is done
    link.click()
    expect(page.locator("table.cases tbody tr")).to_have_count(1)
    expect(page.locator("table.cases tbody tr")).to_contain_text(bob.reference)

    # the received column is the arrival (INTERNALDATE), as the register has it
    assert bob.date_of_contact == office.clock[0] - dt.timedelta(hours=2)

    office.clock[0] += dt.timedelta(seconds=3 * office.settings.poll.interval_seconds + 60)
    page.goto(base + "/dashboard")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Someone needs to act")
    expect(alert).to_contain_text("no successful poll")
    with office.register.transaction() as session:
        state = session.scalars(select(MailboxState)).one()
        state.last_success_at = office.clock[0]
        session.add(
            OutboxMessage(
                kind="acknowledgement",
                recipient="x@example.org",
                status="queued",
                created_at=office.clock[0] - dt.timedelta(hours=1),
                next_attempt_at=office.clock[0] - dt.timedelta(hours=1),
                give_up_at=office.clock[0] + dt.timedelta(hours=1),
            )
        )
    page.reload()
    expect(page.get_by_role("alert")).to_contain_text("the outbox is not draining")


# --------------------------------------------------------------------------- 7. layout, HTTP


def test_every_page_fits_a_360_pixel_screen(office: Office, driver: Playwright) -> None:
    ann = office.case("ann@example.com")
    with chromium(driver, viewport={"width": 360, "height": 740}) as phone:
        page = phone.new_page()
        page.goto(office.web.url + "/login")
        widths = {"/login": page.evaluate("document.documentElement.scrollWidth")}
        sign_in(page, office.web.url, ADMIN)
        for path in (
            "/",
            "/dashboard",
            f"/cases/{ann.reference}",
            "/admin/users",
            "/publication",
            "/parity",
        ):
            page.goto(office.web.url + path)
            widths[path] = page.evaluate("document.documentElement.scrollWidth")
    assert {path: w for path, w in widths.items() if w > 360} == {}


def test_errors_keep_their_headers_redirects_never_echo_host_and_requests_are_bounded(
    office: Office,
) -> None:
    base = office.web.url
    with _staff_client(base, ADMIN) as alice:
        hostile = {"host": "evil.example"}
        for path in ("/dashboard/", "/static", "/cases/"):
            reply = alice.get(path, headers=hostile)
            assert "evil.example" not in reply.headers.get("location", ""), path
            assert "evil.example" not in reply.text, path
        assert httpx.get(base + "/", headers=hostile).headers["location"].startswith("/login")

        # a request head over web.max_header_bytes: refused whole (431), or cut off while it
        # grows (h11's bounded buffer: 400 and the connection closed)
        assert httpx.get(base + "/", headers={"x-fill": "a" * 20_000}).status_code == 431
        with socket.create_connection(("127.0.0.1", office.web.port), timeout=10) as raw:
            raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            answer = b""
            for n in range(40):  # a header that never ends, 1 KiB at a time
                try:
                    raw.sendall(b"X-Fill-%d: %s\r\n" % (n, b"a" * 1024))
                    time.sleep(0.01)
                except OSError:
                    break
            with contextlib.suppress(OSError):
                answer = raw.recv(200)
        assert answer.startswith(b"HTTP/1.1 400"), answer
        # a body over web.max_request_bytes: refused by its length, or while it streams
        big = b"body=" + b"x" * (office.settings.web.max_request_bytes + 1)
        assert httpx.post(base + "/login", content=big).status_code == 413

        def chunks() -> Iterator[bytes]:  # the last byte is one too many
            limit = office.settings.web.max_request_bytes
            yield from (b"x" * 4096 for _ in range(limit // 4096))
            yield b"x"

        streamed = httpx.post(
            base + "/login",
            content=chunks(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert streamed.status_code == 413
        assert alice.get("/").status_code == 200, "still serving"

        # a fault (the register lost a table) is a plain 500 with every security header
        with office.register.engine.begin() as conn:
            conn.execute(text("ALTER TABLE cases RENAME TO cases_gone"))
        broken = alice.get("/")
        assert broken.status_code == 500
        for name in (
            "content-security-policy",
            "x-frame-options",
            "referrer-policy",
            "x-content-type-options",
            "cache-control",
        ):
            assert name in broken.headers, name
        assert "Traceback" not in broken.text and "cases_gone" not in broken.text
