"""Faults the daemon must survive on its own: its peers stop, stall, cut it off or lock it out.

Real peers throughout: Dovecot stopped and started again, PostgreSQL restarted and stopped,
SQLite locked by another connection, SMTP servers that never answer. Only a connection cut at
a chosen byte needs a stand-in, a small TCP proxy in front of the real Dovecot, because no
real server drops a connection on demand. In every case: nothing is moved on the IMAP server
unless the register committed it, nothing is duplicated, and the next pass (or the scheduler's
next try, after its backoff) finishes the work without anyone's help.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email
import random
import re
import select
import socket
import sqlite3
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import LOCALHOST, DovecotServer, PostgresServer, SmtpSink, free_port
from sqlalchemy import func
from sqlalchemy import select as sql_select
from support.builders import HUMAN, MACHINE, imap_settings, message, smtp_config
from support.clock import FakeClock

from inbox_agent.errors import MailboxUnavailable, RegisterUnavailable, TransientError
from inbox_agent.fetch import ImapFetcher
from inbox_agent.pipeline import Pipeline
from inbox_agent.register import db as register_db
from inbox_agent.register.db import Register
from inbox_agent.register.models import (
    Case,
    Disposition,
    LedgerEntry,
    MailboxState,
    OutboxMessage,
    OutboxStatus,
    StoredMessage,
)
from inbox_agent.scheduler import PollJob
from inbox_agent.settings import Settings

pytestmark = pytest.mark.integration

PROCESSED = "Registered"
SEED = 6
THREAD_JOIN_S = 5.0
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.IGNORECASE | re.MULTILINE)


def _after_backoff(clock: FakeClock, job: PollJob) -> None:
    """Move the clock to the moment the scheduler's backoff lets the job try again."""
    assert job.not_before is not None and job.not_before > clock.now
    clock.now = job.not_before


# ------------------------------------------------------------------------------ helpers


def _fill(dovecot: DovecotServer, start: int, count: int, *, pad: int = 0) -> dict[str, str]:
    """Append messages; every fifth is machine mail. Return {Message-ID: requester or ""}."""
    expected = {}
    with dovecot.client() as imap:
        for i in range(start, start + count):
            mid = f"<fault{i}@example.test>"
            if i % 5 == 4:
                _, subject, body, headers = MACHINE[i % len(MACHINE)]
                raw = message(
                    f"Robot <robot{i}@example.com>", subject, body, headers=headers, message_id=mid
                )
                expected[mid] = ""
            else:
                _, subject, body = HUMAN[i % len(HUMAN)]
                address = f"person{i}@example.com"
                filler = "\n".join(["Background to my question follows."] * (pad // 35))
                raw = message(
                    f"Person {i} <{address}>",
                    f"{subject} {i}",
                    f"{body}\n\n{filler}",
                    message_id=mid,
                )
                expected[mid] = address
            imap.append("INBOX", raw)
    return expected


def _settings(
    url: str,
    port: int,
    dovecot: DovecotServer,
    smtp_port: int,
    *,
    smtp_timeout: float = 5.0,
    batch_size: int = 4,
) -> Settings:
    """IMAP at ``port`` (Dovecot's own, or a proxy in front of it) as Dovecot's user."""
    return imap_settings(
        url,
        LOCALHOST,
        port,
        dovecot.user,
        dovecot.password,
        smtp=smtp_config(LOCALHOST, smtp_port, timeout_seconds=smtp_timeout),
        processed_folder=PROCESSED,
        batch_size=batch_size,
    )


def _message_ids(raws: dict[int, bytes]) -> list[str]:
    found = (_MESSAGE_ID.search(raw) for raw in raws.values())
    return [m.group(1).decode() for m in found if m]


def _stored(register: Register) -> list[StoredMessage]:
    with register.transaction() as s:
        return list(s.scalars(sql_select(StoredMessage).order_by(StoredMessage.id)))


def _count(register: Register, model: type[Any]) -> int:
    with register.transaction() as s:
        return int(s.scalar(sql_select(func.count()).select_from(model)) or 0)


def _assert_moved_only_if_committed(dovecot: DovecotServer, register: Register) -> None:
    """The one rule of intake: a message leaves the INBOX only after its row committed."""
    moved = _message_ids(dovecot.fetch_raw(PROCESSED)) if PROCESSED in _folders(dovecot) else []
    stored = [m.message_id for m in _stored(register)]
    assert set(moved) <= set(stored), "a message was moved that the register does not hold"
    assert len(stored) == len(set(stored)), "a message was stored twice"
    assert len(moved) == len(set(moved)), "a message was moved twice"


def _folders(dovecot: DovecotServer) -> list[str]:
    return dovecot.list_folders()


def _assert_complete(
    dovecot: DovecotServer, register: Register, expected: dict[str, str], sink: SmtpSink
) -> None:
    """Everything registered once, moved once, and each person acknowledged exactly once."""
    assert dovecot.uids("INBOX") == []
    assert sorted(_message_ids(dovecot.fetch_raw(PROCESSED))) == sorted(expected)
    stored = _stored(register)
    assert sorted(m.message_id for m in stored) == sorted(expected)
    assert _count(register, LedgerEntry) == len(expected)
    for m in stored:
        want = Disposition.CASE if expected[m.message_id] else Disposition.MACHINE
        assert m.disposition == want, (m.message_id, m.disposition, m.error)
    people = sorted(a for a in expected.values() if a)
    with register.transaction() as s:
        requesters = sorted(s.scalars(sql_select(Case.requester_email)))
        unsent = s.scalars(
            sql_select(OutboxMessage).where(OutboxMessage.status != OutboxStatus.SENT)
        ).all()
    assert requesters == people, "one case per person, none duplicated"
    assert unsent == []
    acks = [
        rcpt
        for received in sink.messages
        for rcpt in received.rcpt_tos
        if email.message_from_bytes(received.data)["Auto-Submitted"] == "auto-replied"
    ]
    assert sorted(acks) == people, "one acknowledgement each"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'register.sqlite3'}"


@pytest.fixture
def register(sqlite_url: str) -> Iterator[Register]:
    reg = Register(sqlite_url)
    yield reg
    reg.dispose()


# ----------------------------------------------------------------------- 1. Dovecot stops


def test_dovecot_stopped_mid_pass_and_restarted_resumes_without_loss(
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    register: Register,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    expected = _fill(dovecot, 0, 12)
    port = dovecot.port
    clock = FakeClock(dt.datetime.now(dt.UTC))
    settings = _settings(sqlite_url, port, dovecot, smtp_sink.port)
    pipeline = Pipeline(settings, register, clock=clock)
    job = PollJob(pipeline, settings.poll.interval_seconds)

    # the server goes away after the second batch committed, before it could be moved
    real_store = ImapFetcher._store_batch
    batches: list[list[int]] = []

    def store_then_stop(self: ImapFetcher, client: Any, batch: Any, report: Any) -> list[int]:
        stored = real_store(self, client, batch, report)
        batches.append(list(batch))
        if len(batches) == 2:
            dovecot.stop()
        return stored

    monkeypatch.setattr(ImapFetcher, "_store_batch", store_then_stop)
    job()
    monkeypatch.undo()
    assert job.failures == 1
    assert len(_stored(register)) == 8, "two batches committed before the server went"
    assert _count(register, Case) == 0, "a failed fetch stops the pass before registering"
    with register.transaction() as s:
        state = s.scalars(sql_select(MailboxState)).one()
        assert state.last_error and "IMAP" in state.last_error

    # down: the scheduler backs off instead of hammering the address
    with pytest.raises(MailboxUnavailable):
        pipeline.run_once()
    job()  # inside the backoff: not even tried
    assert job.failures == 1

    dovecot.start()
    assert dovecot.port == port, "Dovecot must come back on the same port"
    _after_backoff(clock, job)
    job()
    assert job.failures == 0, "the next try after the backoff resumes by itself"
    _assert_moved_only_if_committed(dovecot, register)
    _assert_complete(dovecot, register, expected, smtp_sink)


# ------------------------------------------------------------------ 2. connection cut off


class CuttingProxy:
    """127.0.0.1:port forwarding to a real server; a connection may be cut after N bytes.

    ``cut_next(n)`` arms the next connection: once the server has sent it n bytes, both sides
    are closed (with an RST on every other cut, a plain FIN otherwise). What each cut
    connection had received is kept in ``cut_streams`` so a test can see where it fell.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.cut_streams: list[bytes] = []
        self._cuts: deque[int | None] = deque()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._listener = socket.create_server((LOCALHOST, self.port))
        self._listener.settimeout(0.05)
        self._start(self._accept_loop)

    def cut_next(self, after: int | None) -> None:
        self._cuts.append(after)

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(THREAD_JOIN_S)
        self._listener.close()

    def _start(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._start(self._pump, client, self._cuts.popleft() if self._cuts else None)

    def _pump(self, client: socket.socket, limit: int | None) -> None:
        with contextlib.suppress(OSError, ValueError), client:
            upstream = socket.create_connection((LOCALHOST, self.upstream_port), timeout=5)
            with upstream:
                self._forward(client, upstream, limit)

    def _forward(self, client: socket.socket, upstream: socket.socket, limit: int | None) -> None:
        received = bytearray()
        while not self._stop.is_set():
            readable, _, _ = select.select([client, upstream], [], [], 0.05)
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                if sock is client:
                    upstream.sendall(data)
                    continue
                if limit is not None and len(received) + len(data) >= limit:
                    data = data[: limit - len(received)]
                    client.sendall(data)
                    received += data
                    self._cut(client, bytes(received))
                    return
                client.sendall(data)
                received += data

    def _cut(self, client: socket.socket, received: bytes) -> None:
        if len(self.cut_streams) % 2:  # an RST: the client's next read fails at once
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.cut_streams.append(received)


def _inside_literal(stream: bytes) -> bool:
    """True when the stream stops inside a message body the server was sending."""
    literals = list(re.finditer(rb"BODY\[\] \{(\d+)\}\r\n", stream))
    return bool(literals) and len(stream) - literals[-1].end() < int(literals[-1].group(1))


@pytest.fixture
def proxy(dovecot: DovecotServer) -> Iterator[CuttingProxy]:
    p = CuttingProxy(dovecot.port)
    try:
        yield p
    finally:
        p.close()


def test_imap_connection_cut_at_random_bytes_loses_and_duplicates_nothing(
    dovecot: DovecotServer,
    proxy: CuttingProxy,
    smtp_sink: SmtpSink,
    register: Register,
    sqlite_url: str,
) -> None:
    expected = _fill(dovecot, 0, 15, pad=3000)
    settings = _settings(sqlite_url, proxy.port, dovecot, smtp_sink.port, batch_size=3)
    pipeline = Pipeline(settings, register)
    rng = random.Random(SEED)
    cut_passes = 0
    for _ in range(25):  # bounded: each pass commits at least what came before its cut
        left = dovecot.fetch_raw("INBOX")
        if not left:
            break
        proxy.cut_next(rng.randint(50, sum(map(len, left.values())) + 2000))
        try:
            pipeline.run_once()
        except MailboxUnavailable:
            cut_passes += 1
        _assert_moved_only_if_committed(dovecot, register)
    stored_under_cuts = len(_stored(register))
    proxy.cut_next(None)
    pipeline.run_once()
    mid_body = sum(map(_inside_literal, proxy.cut_streams))
    print(
        f"\nIMAP cuts: {len(proxy.cut_streams)} ({mid_body} inside a message body); "
        f"{stored_under_cuts} of {len(expected)} registered by the passes that were cut"
    )
    assert cut_passes >= 3
    assert stored_under_cuts > 0, "a cut pass keeps what it committed before the cut"
    assert mid_body >= 1, "at least one cut must fall in the middle of a fetched message"
    _assert_complete(dovecot, register, expected, smtp_sink)


def test_connection_cut_during_login_is_transient_not_an_operator_error(
    dovecot: DovecotServer,
    proxy: CuttingProxy,
    smtp_sink: SmtpSink,
    register: Register,
    sqlite_url: str,
) -> None:
    expected = _fill(dovecot, 0, 3)
    with socket.create_connection((LOCALHOST, dovecot.port), timeout=5) as direct:
        greeting = direct.recv(4096)
    assert greeting.endswith(b"\r\n")
    proxy.cut_next(len(greeting))  # the greeting arrives; the LOGIN answer never does
    pipeline = Pipeline(_settings(sqlite_url, proxy.port, dovecot, smtp_sink.port), register)
    with pytest.raises(MailboxUnavailable):
        pipeline.run_once()
    assert dovecot.uids("INBOX") != [] and _stored(register) == []
    pipeline.run_once()
    _assert_complete(dovecot, register, expected, smtp_sink)


# ------------------------------------------------------------------------ 3. SMTP stalls


class SilentSmtpServer:
    """Accepts connections and then says nothing (``"silent"``), or stalls after DATA.

    ``"after_data"`` greets, accepts EHLO/MAIL/RCPT/DATA and the message, and never gives the
    final reply: the client cannot know whether the message was taken.
    """

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.port = free_port()
        self.connections = 0
        self._stop = threading.Event()
        self._listener = socket.create_server((LOCALHOST, self.port))
        self._listener.settimeout(0.05)
        self._threads = [threading.Thread(target=self._accept_loop, daemon=True)]
        self._threads[0].start()

    def close(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(THREAD_JOIN_S)
        self._listener.close()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with contextlib.suppress(OSError), conn:
            conn.settimeout(0.05)
            if self.mode == "after_data":
                self._converse(conn)
            while not self._stop.wait(0.05):
                with contextlib.suppress(TimeoutError):
                    if conn.recv(65536) == b"":
                        return

    def _converse(self, conn: socket.socket) -> None:
        conn.sendall(b"220 stall.example.test ESMTP\r\n")
        buffer = b""
        in_data = False
        while not self._stop.is_set():
            try:
                chunk = conn.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                return
            buffer += chunk
            if in_data:
                if b"\r\n.\r\n" in buffer:
                    return  # the message is in; the reply never comes
                continue
            while b"\r\n" in buffer and not in_data:
                line, buffer = buffer.split(b"\r\n", 1)
                verb = line[:4].upper()
                if verb == b"EHLO":
                    conn.sendall(b"250-stall.example.test\r\n250 8BITMIME\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 go ahead\r\n")
                    in_data = True
                else:
                    conn.sendall(b"250 OK\r\n")


@pytest.mark.parametrize("mode", ["silent", "after_data"])
def test_smtp_that_never_answers_times_out_and_the_email_waits_its_turn(
    mode: str,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    register: Register,
    sqlite_url: str,
) -> None:
    expected = _fill(dovecot, 0, 4)
    staller = SilentSmtpServer(mode)
    clock = FakeClock(dt.datetime.now(dt.UTC))
    try:
        stalled = Pipeline(
            _settings(sqlite_url, dovecot.port, dovecot, staller.port, smtp_timeout=0.5),
            register,
            clock=clock,
        )
        report = stalled.run_once()
    finally:
        staller.close()
    # a server silent from the greeting on is probed once more for TLS (peers.tls_mismatch tells
    # a slow peer from an implicit-TLS port); either way no second email is tried
    probes = 1 if mode == "silent" else 0
    assert staller.connections == 1 + probes, "the drain stops at the first dead connection"
    assert (report.sent.sent, report.sent.deferred) == (0, 1)
    people = [address for address in expected.values() if address]
    assert report.cases_opened == len(people), "registering does not wait for SMTP"
    assert dovecot.uids("INBOX") == []
    first, *rest = sorted(_outbox(register), key=lambda r: r.id)
    assert first.status == OutboxStatus.QUEUED and first.attempts == 1
    assert "timed out" in (first.last_error or "")
    assert first.next_attempt_at > clock.now
    assert all(r.status == OutboxStatus.QUEUED and r.attempts == 0 for r in rest)

    clock.advance(dt.timedelta(minutes=5))
    healthy = Pipeline(
        _settings(sqlite_url, dovecot.port, dovecot, smtp_sink.port), register, clock=clock
    )
    assert healthy.run_once().sent.sent == len(rest) + 1
    _assert_complete(dovecot, register, expected, smtp_sink)


def _outbox(register: Register) -> list[OutboxMessage]:
    with register.transaction() as s:
        return list(s.scalars(sql_select(OutboxMessage)))


# --------------------------------------------------------------------- 4. PostgreSQL down


def test_postgres_restarted_between_passes_the_next_pass_works(
    dovecot: DovecotServer, smtp_sink: SmtpSink, postgres: PostgresServer, postgres_url: str
) -> None:
    register = Register(postgres_url)
    try:
        pipeline = Pipeline(
            _settings(postgres_url, dovecot.port, dovecot, smtp_sink.port), register
        )
        expected = _fill(dovecot, 0, 5)
        pipeline.run_once()
        postgres.restart()  # every pooled connection is now dead
        expected |= _fill(dovecot, 5, 5)
        report = pipeline.run_once()
        assert report.fetch.stored == 5
        _assert_complete(dovecot, register, expected, smtp_sink)
    finally:
        register.dispose()


@pytest.mark.parametrize("when", ["before_the_pass", "after_the_fetch"])
def test_postgres_unavailable_during_a_pass_touches_nothing_and_resumes(
    when: str,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    postgres: PostgresServer,
    postgres_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    register = Register(postgres_url)
    try:
        clock = FakeClock(dt.datetime.now(dt.UTC))
        settings = _settings(postgres_url, dovecot.port, dovecot, smtp_sink.port)
        pipeline = Pipeline(settings, register, clock=clock)
        job = PollJob(pipeline, settings.poll.interval_seconds)
        expected = _fill(dovecot, 0, 5)
        pipeline.run_once()  # the connection pool is warm
        expected |= _fill(dovecot, 5, 5)
        inbox_before = dovecot.uids("INBOX")
        if when == "before_the_pass":
            postgres.stop()
        else:
            real = Pipeline.process_pending

            def stop_first(self: Pipeline, report: Any) -> None:
                postgres.stop()
                real(self, report)

            monkeypatch.setattr(Pipeline, "process_pending", stop_first)
        with pytest.raises(TransientError) as failure:
            pipeline.run_once()
        assert isinstance(failure.value, RegisterUnavailable)
        monkeypatch.undo()
        if when == "before_the_pass":
            assert dovecot.uids("INBOX") == inbox_before, "nothing moves when nothing committed"
        job()
        assert job.failures == 1
        assert not postgres.running
        postgres.start()
        _after_backoff(clock, job)
        job()
        assert job.failures == 0
        _assert_moved_only_if_committed(dovecot, register)
        _assert_complete(dovecot, register, expected, smtp_sink)
    finally:
        if not postgres.running:
            postgres.start()
        register.dispose()


# ------------------------------------------------------------------------ 5. SQLite locked


class LockHolder:
    """Another process's writer: holds SQLite's write lock until released."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.conn.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()


def test_sqlite_lock_shorter_than_the_busy_timeout_is_waited_out(
    dovecot: DovecotServer, smtp_sink: SmtpSink, register: Register, sqlite_url: str, tmp_path: Path
) -> None:
    expected = _fill(dovecot, 0, 5)
    holder = LockHolder(tmp_path / "register.sqlite3")
    timer = threading.Timer(1.0, holder.release)
    timer.start()
    try:
        started = time.monotonic()
        Pipeline(_settings(sqlite_url, dovecot.port, dovecot, smtp_sink.port), register).run_once()
        waited = time.monotonic() - started
    finally:
        timer.join(THREAD_JOIN_S)
    assert waited >= 0.9, "the pass must have met the lock"
    _assert_complete(dovecot, register, expected, smtp_sink)


@pytest.mark.parametrize("when", ["before_the_pass", "after_the_fetch"])
def test_sqlite_locked_past_the_busy_timeout_fails_cleanly_and_resumes(
    when: str,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    tmp_path: Path,
    sqlite_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(register_db, "BUSY_TIMEOUT_MS", 200)
    register = Register(sqlite_url)
    try:
        settings = _settings(sqlite_url, dovecot.port, dovecot, smtp_sink.port)
        pipeline = Pipeline(settings, register)
        expected = _fill(dovecot, 0, 5)
        holders: list[LockHolder] = []
        if when == "before_the_pass":
            holders.append(LockHolder(tmp_path / "register.sqlite3"))
        else:
            real = Pipeline.process_pending

            def lock_first(self: Pipeline, report: Any) -> None:
                holders.append(LockHolder(tmp_path / "register.sqlite3"))
                real(self, report)

            monkeypatch.setattr(Pipeline, "process_pending", lock_first)
        try:
            with pytest.raises(RegisterUnavailable):
                pipeline.run_once()
        finally:
            for holder in holders:
                holder.release()
        stored = _stored(register)
        if when == "before_the_pass":
            assert stored == [] and len(dovecot.uids("INBOX")) == len(expected)
        else:
            assert len(stored) == len(expected), "the fetch committed before the lock"
            assert {m.disposition for m in stored} == {Disposition.PENDING}
            assert _count(register, Case) == 0
        _assert_moved_only_if_committed(dovecot, register)
        monkeypatch.undo()
        pipeline.run_once()
        _assert_complete(dovecot, register, expected, smtp_sink)
    finally:
        register.dispose()
