"""The web UI's parts without a browser: sanitising, file names, the queue, accounts, casework.

Pure functions are checked with tables; anything that touches the register uses a real
SQLite file, migrated by Alembic exactly as the daemon migrates it.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import functools
import io
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from support.builders import demo_office, message

from inbox_agent.casework.register_rows import register_rows
from inbox_agent.cli import main
from inbox_agent.deadlines import UkCalendar
from inbox_agent.errors import ConfigError
from inbox_agent.register.db import Register
from inbox_agent.register.models import (
    AuditEvent,
    Case,
    CaseStatus,
    LabelCorrection,
    LoginThrottle,
    OutboxMessage,
    OutboxStatus,
    StoredMessage,
    WebUser,
)
from inbox_agent.settings import Settings, WebSettings, settings_from_dict
from inbox_agent.web import accounts, casework, signin
from inbox_agent.web.downloads import register_csv, register_xlsx
from inbox_agent.web.mailview import (
    attachment_bytes,
    attachment_parts,
    content_disposition,
    describe_attachments,
    safe_filename,
    sanitise_html,
)
from inbox_agent.web.queue import QueueFilters, find_cases
from inbox_agent.web.security import csrf_token, csrf_valid, safe_next

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2027, 4, 14, 10, 0, tzinfo=dt.UTC)  # Wednesday
TODAY = NOW.date()
CALENDAR = UkCalendar()
PASSWORD = "a long enough password"


@pytest.fixture
def register(tmp_path: Path) -> Register:
    return Register(f"sqlite:///{tmp_path / 'r.sqlite3'}")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    from support.builders import base_config

    data = base_config(f"sqlite:///{tmp_path / 'r.sqlite3'}")
    data["maildir"] = {"path": str(tmp_path / "mail")}
    return settings_from_dict(data, tmp_path / "inbox-agent.toml")


def add_case(session: Any, reference: str, **values: Any) -> Case:
    fields: dict[str, Any] = {
        "reference": reference,
        "status": CaseStatus.NEW,
        "category": "information_request",
        "confidence": 0.9,
        "classifier_version": "test",
        "date_of_contact": NOW - dt.timedelta(days=1),
        "requester_email": f"{reference.lower()}@example.org",
        "date_added_to_register": NOW,
        "updated_at": NOW,
    } | values
    case = Case(**fields)
    session.add(case)
    session.flush()
    return case


def add_message(session: Any, case: Case, raw: bytes, sender: str) -> StoredMessage:
    stored = StoredMessage(
        sha256=str(hash(raw)),
        body_sha256="b",
        message_id="<m1@example.org>",
        raw=raw,
        size=len(raw),
        received_at=NOW - dt.timedelta(days=1),
        disposition="case",
        sender=sender,
        case_id=case.id,
    )
    session.add(stored)
    session.flush()
    return stored


# --------------------------------------------------------------------------- mail view


@pytest.mark.parametrize(
    ("html", "kept", "gone"),
    [
        ("<p>Hi<script>alert(1)</script></p>", "<p>Hi</p>", "script"),
        ('<p><a href="javascript:alert(1)">x</a></p>', "<p>x</p>", "javascript"),
        ('<p><a href="https://evil.example/">x</a></p>', "<p>x</p>", "evil"),
        ('<img src="https://t.example/p.png" onerror="x()">', "", "img"),
        ('<div onclick="x()" style="background:url(//t.example/)">d</div>', "<div>d</div>", "on"),
        ("<style>p{color:red}</style><p>t</p>", "<p>t</p>", "color"),
        ('<iframe src="https://x.example"></iframe><b>b</b>', "<b>b</b>", "iframe"),
        ('<svg><image href="//x.example/i"/></svg>ok', "ok", "svg"),
        ('<form action="//x.example"><input name=q></form>', "", "form"),
        ("<table><tr><td colspan=2 background=x>c</td></tr></table>", 'colspan="2"', "background"),
    ],
)
def test_sanitise_html_keeps_structure_and_drops_everything_active(
    html: str, kept: str, gone: str
) -> None:
    clean = sanitise_html(html)
    assert kept in clean
    assert gone not in clean.replace("colspan", "")


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("report.pdf", "application/pdf", "report.pdf"),
        ("../../etc/passwd", "text/plain", "passwd"),
        ("C:\\Users\\x\\evil.exe", "application/octet-stream", "evil.exe"),
        ("a\r\nb.txt", "text/plain", "a_b.txt"),
        ("inv\u202egnp.exe", "image/png", "invgnp.exe"),
        ('quote";.html', "text/html", "quote_.html"),
        ("...", "message/rfc822", "attachment-3.eml"),
        (None, "application/pdf", "attachment-3.pdf"),
        ("x" * 300 + ".docx", "application/octet-stream", "x" * 115 + ".docx"),
    ],
)
def test_safe_filename(name: str | None, content_type: str, expected: str) -> None:
    assert safe_filename(name, 2, content_type) == expected


def test_content_disposition_is_attachment_with_an_ascii_fallback() -> None:
    value = content_disposition("Zoë's notes.pdf")
    assert value.startswith('attachment; filename="Zo_\'s notes.pdf"')
    assert "filename*=UTF-8''Zo%C3%AB%27s%20notes.pdf" in value


def test_attachments_are_listed_in_order_and_returned_byte_for_byte() -> None:
    msg = EmailMessage()
    msg["From"] = "a@example.org"
    msg["Subject"] = "two files"
    msg.set_content("see attached")
    msg.add_attachment(
        b"%PDF-1.4 binary\x00\xff", maintype="application", subtype="pdf", filename="one.pdf"
    )
    inner = message("b@example.org", "inner", "inner body")
    msg.add_attachment(inner, maintype="message", subtype="rfc822")  # base64, as Outlook does
    msg.add_attachment(email.message_from_bytes(inner, policy=email.policy.default))
    raw = bytes(msg)
    views = describe_attachments(raw)
    assert [(v.filename, v.content_type) for v in views] == [
        ("one.pdf", "application/pdf"),
        ("attachment-2.eml", "message/rfc822"),
        ("attachment-3.eml", "message/rfc822"),
    ]
    parts = attachment_parts(raw)
    assert attachment_bytes(parts[0]) == b"%PDF-1.4 binary\x00\xff"
    assert attachment_bytes(parts[1]) == inner
    assert b"inner body" in attachment_bytes(parts[2])
    assert b"Subject: inner" in attachment_bytes(parts[2])


# --------------------------------------------------------------------------- security


def test_csrf_token_is_per_session_and_checked_in_constant_time() -> None:
    session: dict[str, Any] = {}
    token = csrf_token(session)
    assert csrf_token(session) == token and len(token) >= 32
    assert csrf_valid(session, token)
    assert not csrf_valid(session, token[:-1] + "x")
    assert not csrf_valid(session, None)
    assert not csrf_valid({}, token)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/cases/TST-2027-0001", "/cases/TST-2027-0001"),
        ("/?category=foi_request", "/?category=foi_request"),
        ("//evil.example/", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/x\r\nSet-Cookie: a=b", "/"),
        (None, "/"),
    ],
)
def test_safe_next_only_allows_local_paths(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_login_throttle_counts_per_account_and_source_before_hashing(register: Register) -> None:
    def attempt(name: str, client: str, at: dt.datetime, device: str | None = None) -> bool:
        with register.transaction() as s:
            keys = signin.attempt_keys(name, client, device)
            return signin.count_attempt(s, keys, at) is None

    assert [attempt("Tom", "10.0.0.1", NOW) for _ in range(6)] == [True] * 5 + [False]
    assert attempt("tom ", "10.9.9.9", NOW), "another source is not kept out by this one"
    assert attempt("tom", "10.0.0.1", NOW, device="d1"), "a known browser counts on its own"
    assert attempt("tom", "10.0.0.1", NOW + dt.timedelta(minutes=16)), "the window passes"
    spraying = [attempt(f"user{n}", "10.0.0.7", NOW) for n in range(31)]
    assert spraying == [True] * 30 + [False], "per source, any account"
    with register.transaction() as s:
        rows = s.scalar(select(func.count()).select_from(LoginThrottle))
    assert not any(attempt(f"more{n}", "10.0.0.7", NOW) for n in range(20))
    with register.transaction() as s:
        assert s.scalar(select(func.count()).select_from(LoginThrottle)) == rows, "no growth"
    with register.transaction() as s:
        found = {(lock.kind, lock.username, lock.client) for lock in signin.lockouts(s, NOW)}
        assert found == {("source", "", "10.0.0.7")}
        assert signin.clear_lockouts(s, key="source:10.0.0.7") == 1
    assert attempt("new", "10.0.0.7", NOW)
    later = NOW + dt.timedelta(hours=2)
    with register.transaction() as s:  # a success sweeps out counters long past their window
        signin.forget_failures(s, signin.attempt_keys("ann", "10.0.0.9", None), later)
        assert s.scalar(select(func.count()).select_from(LoginThrottle)) == 0


def test_device_cookies_are_signed_and_per_account() -> None:
    cookies = signin.DeviceCookies("k" * 40, secure=True)
    value = cookies.issue("Tom")
    assert cookies.name == "__Host-inbox-agent-device"
    assert cookies.device_for(value, "tom")
    assert cookies.device_for(value, "ann") is None
    assert cookies.device_for(value[:-2] + "xx", "tom") is None
    assert signin.DeviceCookies("z" * 40, secure=False).device_for(value, "tom") is None


# --------------------------------------------------------------------------- settings


def _web(**values: Any) -> WebSettings:
    return WebSettings.model_validate(values)


def test_web_settings_defaults_are_safe() -> None:
    web = WebSettings()
    assert web.address == ("127.0.0.1", 8080)
    assert web.secure_cookies is True
    assert web.trusted_proxy_header is None
    assert _web(listen="[::1]:9000").address == ("::1", 9000)


def test_web_settings_refuse_a_proxy_header_off_loopback_and_bad_listen() -> None:
    with pytest.raises(ValueError, match="loopback"):
        _web(listen="0.0.0.0:8080", trusted_proxy_header="X-Remote-User")
    with pytest.raises(ValueError, match="host:port"):
        _web(listen="8080")
    with pytest.raises(ValueError):
        _web(trusted_proxy_header="X Remote User")


def test_secret_key_from_env_file_and_credential(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "k" * 40
    monkeypatch.setenv("WEB_KEY", key)
    assert _web(secret_key_env="WEB_KEY").secret_key().get_secret_value() == key
    (tmp_path / "key").write_text(key + "\n")
    assert _web(secret_key_file=tmp_path / "key").secret_key().get_secret_value() == key
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert _web(secret_key_credential="key").secret_key().get_secret_value() == key
    with pytest.raises(ConfigError, match="exactly one"):
        WebSettings().secret_key()
    monkeypatch.setenv("WEB_KEY", "short")
    with pytest.raises(ConfigError, match=r"web.secret_key_env: .*32 characters"):
        _web(secret_key_env="WEB_KEY").secret_key()


def test_the_example_profile_documents_the_web_section() -> None:
    text = (ROOT / "config" / "example.toml").read_text(encoding="utf-8")
    assert "[web]" in text


# --------------------------------------------------------------------------- queue


def test_queue_puts_open_statutory_cases_first_then_by_due_date(register: Register) -> None:
    with register.transaction() as s:
        add_case(s, "T-1", due_date=TODAY + dt.timedelta(days=2))
        add_case(s, "T-2", category="foi_request", due_date=TODAY + dt.timedelta(days=20))
        add_case(s, "T-3", category="subject_access_request", due_date=TODAY + dt.timedelta(9))
        add_case(s, "T-4", status=CaseStatus.CLOSED, category="foi_request", due_date=TODAY)
        add_case(s, "T-5", due_date=None)
        page = find_cases(s, QueueFilters(status="all"), TODAY, CALENDAR)
        assert [c.reference for c in page.cases] == ["T-3", "T-2", "T-1", "T-5", "T-4"]
        assert page.total == 5


def test_queue_filters(register: Register) -> None:
    with register.transaction() as s:
        add_case(s, "T-1", due_date=TODAY - dt.timedelta(days=1), officer="Sam")
        add_case(s, "T-2", due_date=TODAY + dt.timedelta(days=3), needs_review=True)
        add_case(s, "T-3", due_date=TODAY + dt.timedelta(days=30), subject="Rural 100%_crime")
        add_case(s, "T-4", status=CaseStatus.ANSWERED, requester_name="Ann Example")

        def refs(**query: str) -> list[str]:
            page = find_cases(s, QueueFilters.from_query(query), TODAY, CALENDAR)
            return sorted(c.reference for c in page.cases)

        assert refs() == ["T-1", "T-2", "T-3"]
        assert refs(due="overdue") == ["T-1"]
        assert refs(due="soon") == ["T-2"]
        assert refs(review="yes") == ["T-2"]
        assert refs(officer="sam") == ["T-1"]
        assert refs(officer="-") == ["T-2", "T-3"]
        assert refs(q="100%_c") == ["T-3"], "LIKE wildcards are searched for literally"
        assert refs(q="t-4", status="all") == ["T-4"]
        assert refs(q="ann exa", status="answered") == ["T-4"]
        assert refs(status="nonsense", category="nonsense", page="x") == refs()


# --------------------------------------------------------------------------- accounts


def test_accounts_hash_with_argon2_and_sessions_end_on_reset_or_disable(
    register: Register,
) -> None:
    with register.transaction() as s:
        accounts.add_user(
            s, "Sam.Jones", PASSWORD, role="triage", display_name=" Sam  J ", actor="t", now=NOW
        )
    with register.transaction() as s:
        user = s.scalars(select(WebUser)).one()
        assert user.username == "sam.jones" and user.display_name == "Sam J"
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash
        staff = accounts.authenticate(s, "SAM.JONES", PASSWORD, NOW)
        assert staff is not None and staff.role == "triage"
        assert accounts.authenticate(s, "sam.jones", PASSWORD + "x", NOW) is None
        assert accounts.authenticate(s, "nobody", PASSWORD, NOW) is None
        assert accounts.load_user(s, staff.id, staff.generation) is not None
        accounts.reset_password(s, "sam.jones", "another long password", actor="t", now=NOW)
        assert accounts.load_user(s, staff.id, staff.generation) is None, "old session ended"
        accounts.set_active(s, "sam.jones", False, actor="t", now=NOW)
        assert accounts.authenticate(s, "sam.jones", "another long password", NOW) is None
        actions = list(s.scalars(select(AuditEvent.action)))
        assert actions == ["user_added", "user_password_reset", "user_disabled"]


@pytest.mark.parametrize(
    ("username", "password", "role", "error"),
    [
        ("x", PASSWORD, "triage", "username"),
        ("has space", PASSWORD, "triage", "username"),
        ("sam", "short", "triage", "at least 12"),
        ("samsamsamsam", "SamSamSamSam", "triage", "not be the username"),
        ("sam", PASSWORD, "root", "role"),
    ],
)
def test_accounts_refuse_bad_input(
    register: Register, username: str, password: str, role: str, error: str
) -> None:
    with register.transaction() as s, pytest.raises(accounts.AccountError, match=error):
        accounts.add_user(s, username, password, role=role, display_name="", actor="t", now=NOW)


def _demo_config(tmp_path: Path) -> Path:
    """The example profile and the demo mailbox, copied; its register lands in demo/."""
    return demo_office(tmp_path)


def test_users_command_reads_the_password_from_stdin_never_argv(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _demo_config(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO(PASSWORD + "\n"))
    argv = ["--config", str(config), "users", "add", "sam", "--role", "admin", "--name", "Sam"]
    assert main(argv) == 0
    assert PASSWORD not in " ".join(argv)
    assert main(["--config", str(config), "users", "disable", "sam"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["--config", str(config), "users", "reset", "sam"]) == 2
    assert main(["--config", str(config), "users", "list"]) == 0
    out, err = capsys.readouterr()
    assert "sam: added (admin)" in out and "at least 12 characters" in err
    assert "sam                      admin   disabled" in out


def test_users_lockouts_and_unlock_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _demo_config(tmp_path)
    assert main(["--config", str(config), "users", "lockouts"]) == 0
    assert "no sign-in lockouts" in capsys.readouterr().out
    register = Register(f"sqlite:///{tmp_path / 'demo' / 'register.sqlite3'}")
    try:
        now = dt.datetime.now(dt.UTC)
        with register.transaction() as s:
            keys = signin.attempt_keys("sam", "192.0.2.7", None)
            for _ in range(6):
                signin.count_attempt(s, keys, now)
    finally:
        register.dispose()
    assert main(["--config", str(config), "users", "lockouts"]) == 0
    out = capsys.readouterr().out
    assert "pair     account sam" in out and "source 192.0.2.7" in out
    assert main(["--config", str(config), "users", "unlock", "sam"]) == 0
    assert "sam: 2 sign-in counter(s) cleared" in capsys.readouterr().out
    assert main(["--config", str(config), "users", "lockouts"]) == 0
    assert "no sign-in lockouts" in capsys.readouterr().out


def test_read_password_asks_twice_on_a_terminal() -> None:
    answers = iter(["first password!", "other password"])
    with pytest.raises(accounts.AccountError, match="differ"):
        accounts.read_password(io.StringIO(), prompt=lambda _: next(answers), tty=True)
    same = iter(["same password 1", "same password 1"])
    assert accounts.read_password(io.StringIO(), prompt=lambda _: next(same), tty=True) == (
        "same password 1"
    )


# --------------------------------------------------------------------------- casework


def _outbox(session: Any, case: Case, kind: str) -> None:
    session.add(
        OutboxMessage(
            case_id=case.id,
            kind=kind,
            recipient="x@example.org",
            status=OutboxStatus.SENT,
            created_at=NOW,
            next_attempt_at=NOW,
            give_up_at=NOW,
        )
    )


def test_reclassify_records_a_label_new_due_date_and_follow_ups(
    register: Register, settings: Settings
) -> None:
    with register.transaction() as s:
        case = add_case(s, "T-1", category="electoral_process", due_date=TODAY)
        add_message(s, case, message("a@example.org", "Q", "question"), "a@example.org")
        _outbox(s, case, "acknowledgement")
        _outbox(s, case, "paro_forward")
        notes = casework.reclassify(
            s, settings, CALENDAR, case, category="foi_request", note="FOIA", actor="sam", now=NOW
        )
        assert len(notes) == 2
        assert any("PARO" in n for n in notes) and any("acknowledgement" in n for n in notes)
        assert case.category == "foi_request" and case.needs_review
        assert case.due_date is not None and case.due_date > TODAY + dt.timedelta(days=20)
        s.flush()
        s.refresh(case)
        assert casework.open_follow_ups(case) == notes
        label = s.scalars(select(LabelCorrection)).one()
        assert (label.old_category, label.new_category, label.user) == (
            "electoral_process",
            "foi_request",
            "sam",
        )
        casework.mark_reviewed(s, case, actor="sam", now=NOW)
        s.flush()
        s.refresh(case)
        assert casework.open_follow_ups(case) == []
        with pytest.raises(casework.ActionError):
            casework.reclassify(
                s, settings, CALENDAR, case, category="automated", note="", actor="s", now=NOW
            )


def test_reply_is_threaded_from_the_office_and_recorded(
    register: Register, settings: Settings
) -> None:
    raw = message(
        "Ann <ann@example.org>",
        "Budget",
        "How much?",
        message_id="<m1@example.org>",
        headers={"References": "<older@example.org>"},
    )
    with register.transaction() as s:
        case = add_case(s, "TST-2027-0001", requester_email="ann@example.org", subject="Budget")
        add_message(s, case, raw, "ann@example.org")
        draft = "Dear Ann,\n\nThank you for your email.\n\nSam"
        reply = functools.partial(casework.send_reply, s, settings, case, draft=draft, actor="sam")
        with pytest.raises(casework.ActionError, match="Write the reply"):
            reply("  \r\n ", form_token="t" * 30, now=NOW)
        with pytest.raises(casework.ActionError, match="unchanged draft"):
            reply(
                " Dear Ann,\r\n\r\nThank you for   your email.\n\nSam ",
                form_token="t" * 30,
                now=NOW,
            )
        with pytest.raises(casework.ActionError, match="100,001 characters long"):
            reply("x" * 100_001, form_token="t" * 30, now=NOW)
        row = reply("It is £5.\r\nSam", form_token="t" * 30, now=NOW)
        with pytest.raises(casework.AlreadySent):
            reply("It is £5.\r\nSam", form_token="t" * 30, now=NOW)
        sent = row.raw.decode()
        assert "In-Reply-To: <m1@example.org>" in sent
        assert "References: <older@example.org> <m1@example.org>" in sent
        assert "Subject: [TST-2027-0001] Re: Budget" in sent
        assert "Auto-Submitted" not in sent
        assert row.kind == "reply" and row.status == OutboxStatus.QUEUED
        assert case.status == CaseStatus.ANSWERED
        assert case.information_provided is not None
        assert case.information_provided.endswith("It is £5.\nSam")


def test_website_date_and_close_reopen_are_audited(register: Register) -> None:
    with register.transaction() as s:
        case = add_case(s, "T-1")
        with pytest.raises(casework.ActionError):
            casework.mark_on_website(s, case, "2099-01-01", actor="sam", now=NOW)
        with pytest.raises(casework.ActionError):
            casework.mark_on_website(s, case, "yesterday", actor="sam", now=NOW)
        casework.mark_on_website(s, case, "2027-04-13", actor="sam", now=NOW)
        casework.set_status(s, case, CaseStatus.CLOSED, "done", actor="sam", now=NOW)
        casework.set_status(s, case, CaseStatus.IN_PROGRESS, "", actor="ann", now=NOW)
        with pytest.raises(casework.ActionError):
            casework.set_status(s, case, "deleted", "", actor="ann", now=NOW)
        assert case.date_added_to_website == dt.date(2027, 4, 13)
        events = list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        assert [(e.actor, e.action) for e in events] == [
            ("sam", "added_to_website"),
            ("sam", "case_closed"),
            ("ann", "case_reopened"),
        ]


# --------------------------------------------------------------------------- downloads


def test_register_downloads_never_hold_a_formula(register: Register, settings: Settings) -> None:
    long_reply = "Figures follow. " * 3000  # 48,000 characters: more than an Excel cell holds
    with register.transaction() as s:
        add_case(s, "T-1", information_sought='=HYPERLINK("http://x","click")')
        add_case(
            s,
            "T-2",
            information_sought="Escape \x1b and \x0b here",
            information_provided=long_reply,
        )
        csv_bytes = register_csv(list(register_rows(s, settings)))
        xlsx_bytes = register_xlsx(list(register_rows(s, settings)))
    assert csv_bytes.startswith(b"\xef\xbb\xbfReference,")
    assert b"'=HYPERLINK" in csv_bytes
    assert long_reply.encode() in csv_bytes, "the CSV carries the reply whole"
    sheet = load_workbook(io.BytesIO(xlsx_bytes)).active
    assert sheet is not None
    assert sheet["A1"].value == "Reference"
    cell = next(c for c in sheet[2] if str(c.value).startswith("=HYPERLINK"))
    assert cell.data_type == "s"
    titles = [c.value for c in sheet[1]]
    sought = sheet[3][titles.index("Information sought")].value
    assert sought == "Escape \ufffd and \ufffd here"
    provided = str(sheet[3][titles.index("Information provided")].value)
    assert len(provided) == 32_767 and provided.endswith("characters: the CSV has it all]")
    assert provided.startswith("Figures follow. Figures follow.")
