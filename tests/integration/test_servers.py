"""The test servers in tests/servers.py are real and behave like the peers they stand for."""

from __future__ import annotations

import smtplib

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from servers import DovecotServer, PostgresServer, SmtpSink
from sqlalchemy import create_engine, text

pytestmark = pytest.mark.integration


def make_message(number: int) -> bytes:
    return (
        f"From: Requester {number} <requester{number}@example.org>\r\n"
        "To: SPOC <spoc@opcc.example>\r\n"
        f"Subject: Nomination pack question {number}\r\n"
        f"Message-ID: <test-{number}@example.org>\r\n"
        "Date: Mon, 01 Apr 2024 09:00:00 +0100\r\n"
        "\r\n"
        f"Body of message {number}.\r\n"
    ).encode("ascii")


def open_client(server: DovecotServer) -> IMAPClient:
    imap = IMAPClient(server.host, port=server.port, ssl=False, timeout=10)
    imap.login(server.user, server.password)
    return imap


# --------------------------------------------------------------------------- Dovecot


def test_dovecot_returns_appended_messages_with_uidvalidity(dovecot: DovecotServer) -> None:
    messages = [make_message(n) for n in (1, 2, 3)]
    appended = [dovecot.append("INBOX", raw) for raw in messages]

    with open_client(dovecot) as imap:
        selected = imap.select_folder("INBOX", readonly=True)
        uids = imap.search(["ALL"])
        fetched = imap.fetch(uids, [b"BODY.PEEK[]"])

    assert selected[b"EXISTS"] == 3
    assert selected[b"UIDVALIDITY"] > 0
    assert appended == sorted(uids) == [1, 2, 3]
    assert [fetched[uid][b"BODY[]"] for uid in sorted(uids)] == messages
    assert dovecot.uids("INBOX") == [1, 2, 3]
    assert dovecot.fetch_raw("INBOX") == dict(zip([1, 2, 3], messages, strict=True))
    assert dovecot.uidvalidity("INBOX") == selected[b"UIDVALIDITY"]


def test_dovecot_recreated_folder_gets_new_uidvalidity(dovecot: DovecotServer) -> None:
    dovecot.create_folder("Cases/2024")
    dovecot.append("Cases/2024", make_message(1))
    before = dovecot.uidvalidity("Cases/2024")

    dovecot.delete_folder("Cases/2024")
    dovecot.create_folder("Cases/2024")

    assert dovecot.uidvalidity("Cases/2024") != before
    assert dovecot.uids("Cases/2024") == []
    assert "Cases/2024" in dovecot.list_folders()


def test_dovecot_restart_keeps_mail_and_uidvalidity(dovecot: DovecotServer) -> None:
    dovecot.append("INBOX", make_message(1))
    before = dovecot.uidvalidity("INBOX")

    dovecot.restart()

    assert dovecot.uidvalidity("INBOX") == before
    assert dovecot.fetch_raw("INBOX") == {1: make_message(1)}


def test_dovecot_idle_reports_new_mail(dovecot: DovecotServer) -> None:
    with open_client(dovecot) as imap:
        assert b"IDLE" in imap.capabilities()
        imap.select_folder("INBOX")
        imap.idle()
        dovecot.append("INBOX", make_message(1))
        responses = imap.idle_check(timeout=5)
        imap.idle_done()

    assert (1, b"EXISTS") in responses


def test_dovecot_users_have_separate_mailboxes(dovecot: DovecotServer) -> None:
    dovecot.add_user("paro", "paro-test-password")
    dovecot.append("INBOX", make_message(1), user="paro")

    assert dovecot.uids("INBOX", user="paro") == [1]
    assert dovecot.uids("INBOX") == []


def test_dovecot_refuses_a_wrong_password(dovecot: DovecotServer) -> None:
    with IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=10) as imap:
        with pytest.raises(LoginError):
            imap.login(dovecot.user, "not-the-password")
        imap.login(dovecot.user, dovecot.password)


# --------------------------------------------------------------------------- PostgreSQL


def test_postgres_round_trips_a_row(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE cases (id serial PRIMARY KEY, subject text)"))
            conn.execute(text("INSERT INTO cases (subject) VALUES (:s)"), {"s": "Nominations"})
        with engine.connect() as conn:
            assert conn.execute(text("SELECT subject FROM cases")).scalar_one() == "Nominations"
    finally:
        engine.dispose()


def test_postgres_survives_a_restart(postgres: PostgresServer, postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE register (word text)"))
            conn.execute(text("INSERT INTO register VALUES ('kept')"))

        postgres.restart()
        engine.dispose()  # pooled connections died with the old server

        with engine.connect() as conn:
            assert conn.execute(text("SELECT word FROM register")).scalar_one() == "kept"
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- SMTP


def test_smtp_sink_records_a_sent_message(smtp_sink: SmtpSink) -> None:
    raw = make_message(1)
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
        refused = client.sendmail("spoc@opcc.example", ["requester1@example.org"], raw)

    assert refused == {}
    [received] = smtp_sink.wait_for_messages(1)
    assert received.mail_from == "spoc@opcc.example"
    assert received.rcpt_tos == ("requester1@example.org",)
    assert received.data == raw


def test_smtp_sink_scripted_451_then_success(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_next(451, "4.3.0 Try again later", count=1)
    raw = make_message(1)
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            client.sendmail("spoc@opcc.example", ["requester1@example.org"], raw)
        assert refused.value.smtp_code == 451
        assert smtp_sink.messages == []

        client.sendmail("spoc@opcc.example", ["requester1@example.org"], raw)

    assert [m.data for m in smtp_sink.wait_for_messages(1)] == [raw]


def test_smtp_sink_scripted_550_at_rcpt(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_next(550, "5.1.1 No such user", stage="RCPT")
    with (
        smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused) as refused,
    ):
        client.sendmail("spoc@opcc.example", ["nobody@example.org"], make_message(1))

    assert refused.value.recipients["nobody@example.org"][0] == 550
    assert smtp_sink.messages == []


def test_smtp_sink_421_closes_the_connection(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail_next(421, "4.3.2 Shutting down")
    with smtplib.SMTP(smtp_sink.host, smtp_sink.port, timeout=10) as client:
        client.ehlo()
        client.mail("spoc@opcc.example")
        client.rcpt("requester1@example.org")
        code, _ = client.data(make_message(1))
        assert code == 421
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.noop()
