"""Crash safety: SIGKILL the real daemon at random moments and lose nothing, duplicate nothing.

The daemon (``python -m inbox_agent.cli run``) ingests and acknowledges 500 messages from a
real Dovecot into a real SMTP server (aiosmtpd) with an SQLite register. A seeded RNG picks
each kill moment: some during start-up, most at a random time after the first poll began, so
kills fall in fetching, registering and sending alike. After each kill the test looks at the
register and the SMTP server: a message the server holds whose outbox row is still queued
means the kill fell between the server's reply and the commit (the "window"). Only such a kill
may cause a duplicate, and the resend carries the same Message-ID.

Up to 22 lives run, within a time budget: a loaded machine starts the daemon more slowly and
fits fewer, so the work left is spread over the lives the budget still affords, and the test
asserts a minimum of kills that landed mid-work (registering or sending, with work left),
printing (and recording as properties) how many happened.
"""

from __future__ import annotations

import collections
import datetime as dt
import os
import random
import re
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from servers import DovecotServer, ReceivedMessage, SmtpSink
from sqlalchemy import func, select
from support.builders import HUMAN, MACHINE, PARO, base_config, message, smtp_config, write_profile
from support.profiles import imap_section

from inbox_agent.register.db import Register
from inbox_agent.register.models import Case

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
SEED = 20270506
MESSAGES = 500
KILLS = 22  # at most this many lives, each ended by a SIGKILL, within KILL_PHASE_BUDGET_S
# at least this many kills must have landed mid-work (the life had registered or sent
# something, and work was still left), however loaded the machine: an idle pair of cores
# reaches all 22 in about 80 s, a loaded one 13-14 in the budget
MIN_MID_WORK_KILLS = 8
EARLY_SHARE = 0.15  # kills at a random time after spawning: imports, migration, IMAP login
EARLY_KILL_S = (0.05, 2.5)
AFTER_START_SHARE = 0.15  # kills at a random time after the first poll began: mostly fetching
AFTER_START_S = (0.0, 0.6)
# the rest: kills just after the n-th event a life logs (n random), plus a random delay, so
# kills land in registering and sending whatever the machine's speed
JITTER_S = 0.02
EVENTS_PER_MESSAGE = 2.4  # one registered or machine entry, and about 1.4 emails
START_TIMEOUT_S = 60.0
EVENT_TIMEOUT_S = 15.0
KILL_PHASE_BUDGET_S = 200.0  # no life starts after this; about 80 s for 22 on two idle cores
FINAL_RUN_TIMEOUT_S = 80.0
PROCESSED = "Registered"
ELECTORAL_BODY = (
    "I am the election agent for a candidate. When must the nomination papers be delivered "
    "to the Police Area Returning Officer, and how is the deposit paid?"
)
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.IGNORECASE | re.MULTILINE)
_CASE = re.compile(rb"^X-Inbox-Agent-Case:\s*(\S+)", re.IGNORECASE | re.MULTILINE)
_WORK_EVENT = re.compile(rb"event=(?:fetched|case_opened|machine_mail|email_sent)\b")
_LOG_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \S+ \S+ event=(\w+)(.*)$")


class TimedSink(SmtpSink):
    """The SMTP sink, noting when it accepted each Message-ID (wall clock, like the logs)."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted: dict[str, list[float]] = collections.defaultdict(list)
        self._times_lock = threading.Lock()

    def _record(self, message: ReceivedMessage) -> None:
        at = time.time()
        super()._record(message)
        match = _MESSAGE_ID.search(message.data)
        with self._times_lock:
            self.accepted[match.group(1).decode() if match else "?"].append(at)

    def counts(self) -> dict[str, int]:
        with self._times_lock:
            return {mid: len(times) for mid, times in self.accepted.items()}


def _mailbox(rng: random.Random) -> tuple[list[bytes], set[str], set[str]]:
    """500 messages: people (one address each), some to the PARO, some machine mail."""
    raws, people, machines = [], set(), set()
    for i in range(MESSAGES):
        mid = f"<crash{i}@example.test>"
        if i % 10 == 9:
            _, subject, body, headers = MACHINE[i % len(MACHINE)]
            robot = f"Robot <robot{i}@example.com>"
            raws.append(message(robot, subject, body, message_id=mid, headers=headers))
            machines.add(mid)
            continue
        address = f"person{i}@example.com"
        if i % 25 == 3:
            subject, body = "Nomination papers and deposit", ELECTORAL_BODY
        else:
            _, subject, body = HUMAN[rng.randrange(len(HUMAN))]
        raws.append(message(f"Person {i} <{address}>", f"{subject} ({i})", body, message_id=mid))
        people.add(address)
    return raws, people, machines


def _config(tmp_path: Path, dovecot: DovecotServer, sink: SmtpSink) -> Path:
    data = base_config(f"sqlite:///{tmp_path / 'register.sqlite3'}")
    data["imap"] = imap_section(
        dovecot, processed_folder=PROCESSED, batch_size=20, timeout_seconds=10
    )
    data["smtp"] = smtp_config(sink.host, sink.port)
    data["poll"] = {"interval_seconds": 5}
    return write_profile(tmp_path / "inbox-agent.toml", data)


def _command(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "inbox_agent.cli", "--config", str(config), *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _query(db: Path, sql: str) -> list[tuple[object, ...]]:
    """Read the register directly; before the first migration there are no tables yet."""
    if not db.exists():
        return []
    conn = sqlite3.connect(db, timeout=30)
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise
    finally:
        conn.close()


def _wait_started(proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if b"event=started" in log.read_bytes():
            return
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    raise AssertionError(f"the daemon did not start (exit {proc.poll()}):\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def _phase(log: Path) -> str:
    """Where the life was when it died, from the last unit of work it logged."""
    events = [m.group(2) for m in map(_LOG_LINE.match, log.read_text().splitlines()) if m]
    if "started" not in events:
        return "start-up"
    work = [e for e in events if e in ("fetched", "case_opened", "machine_mail", "email_sent")]
    if not work:
        return "fetching"
    return "sending" if work[-1] == "email_sent" else "registering"


def _wait_events(proc: subprocess.Popen[bytes], log: Path, count: int) -> None:
    """Until this life has logged ``count`` units of work; an idle daemon is killed anyway."""
    deadline = time.monotonic() + EVENT_TIMEOUT_S
    while time.monotonic() < deadline and proc.poll() is None:
        if len(_WORK_EVENT.findall(log.read_bytes())) >= count:
            return
        time.sleep(0.005)


def _life(config: Path, log: Path, rng: random.Random, max_events: int) -> str:
    """Start the daemon, SIGKILL it at a random moment, reap it; return where it died."""
    with log.open("wb") as err:
        proc = subprocess.Popen(
            _command(config, "run"),
            stdin=subprocess.DEVNULL,
            stdout=err,
            stderr=err,
            env=_env(),
        )
    try:
        mode = rng.random()
        if mode < EARLY_SHARE:
            time.sleep(rng.uniform(*EARLY_KILL_S))
        else:
            _wait_started(proc, log)
            if mode < EARLY_SHARE + AFTER_START_SHARE:
                time.sleep(rng.uniform(*AFTER_START_S))
            else:
                _wait_events(proc, log, rng.randint(1, max_events))
                time.sleep(rng.uniform(0, JITTER_S))
        assert proc.poll() is None, f"the daemon exited on its own:\n{_tail(log)}"
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    return _phase(log)


def _work_left(db: Path) -> int:
    """Log events still to come, roughly: unregistered messages and unsent emails."""
    stored = _query(db, "SELECT disposition FROM stored_messages")
    pending = MESSAGES - len(stored) + sum(1 for (d,) in stored if d == "pending")
    queued = _query(db, "SELECT id FROM outbox WHERE status = 'queued'")
    return round(pending * EVENTS_PER_MESSAGE) + len(queued)


def _affordable_lives(lives_left: int, budget_left_s: float, life_s: list[float]) -> int:
    """How many more lives fit in the budget at the pace so far (at least this one).

    The work left is spread over these, so on a slow machine the fewer kills still span
    registering and sending to the end instead of all falling in the first messages.
    """
    if not life_s:
        return lives_left
    return max(1, min(lives_left, int(budget_left_s / statistics.mean(life_s))))


def _kills_in_window(db: Path, sink: TimedSink, attributed: dict[str, int]) -> int:
    """1 when the SMTP server holds a message whose row is still queued: the kill hit the window.

    ``attributed`` remembers how many copies of each message earlier kills already explain.
    """
    received = sink.counts()
    rows = _query(db, "SELECT message_id FROM outbox WHERE status = 'queued'")
    queued = [str(mid) for (mid,) in rows]
    hit = [mid for mid in queued if received.get(mid, 0) > attributed.get(mid, 0)]
    for mid in hit:
        attributed[mid] = received[mid]
    return len(hit)


def _window_ms(logs: list[Path], sink: TimedSink) -> list[float]:
    """For each email: from the server's acceptance to our logged commit, in milliseconds."""
    by_row: dict[int, float] = {}
    for log in logs:
        for line in log.read_text().splitlines():
            match = _LOG_LINE.match(line)
            if match and match.group(2) == "email_sent":
                row = int(re.search(r"outbox=(\d+)", match.group(3)).group(1))  # type: ignore[union-attr]
                stamp = dt.datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
                by_row[row] = stamp
    windows = []
    for mid, times in sink.accepted.items():
        row_match = re.match(r"<[a-z_]+\.(\d+)\.", mid)
        if row_match is None or int(row_match.group(1)) not in by_row:
            continue
        committed = by_row[int(row_match.group(1))]
        before = [t for t in times if t <= committed + 0.001]
        if before:
            windows.append((committed - before[-1]) * 1000)
    return windows


@pytest.fixture
def timed_sink() -> Iterator[TimedSink]:
    sink = TimedSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


def test_sigkill_at_random_moments_loses_nothing_and_duplicates_only_in_the_window(
    dovecot: DovecotServer,
    timed_sink: TimedSink,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    started = time.monotonic()
    rng = random.Random(SEED)
    raws, people, machines = _mailbox(rng)
    with dovecot.client() as imap:
        for raw in raws:
            imap.append("INBOX", raw)
    config = _config(tmp_path, dovecot, timed_sink)
    db = tmp_path / "register.sqlite3"

    phases: collections.Counter[str] = collections.Counter()
    attributed: dict[str, int] = {}
    in_window = mid_work = 0
    logs: list[Path] = []
    life_s: list[float] = []
    deadline = time.monotonic() + KILL_PHASE_BUDGET_S
    for life in range(KILLS):  # bounded by count and by time
        budget_left_s = deadline - time.monotonic()
        if budget_left_s <= 0 or (life and _work_left(db) == 0):
            break  # out of time, or nothing left for a kill to interrupt
        logs.append(tmp_path / f"life-{life:02d}.log")
        # n up to twice this life's share of the work left, so the lives together span it
        lives = _affordable_lives(KILLS - life, budget_left_s, life_s)
        share = _work_left(db) / (lives * (1 - EARLY_SHARE - AFTER_START_SHARE))
        began = time.monotonic()
        phase = _life(config, logs[-1], rng, max(1, round(2 * share)))
        life_s.append(time.monotonic() - began)
        phases[phase] += 1
        if phase in ("registering", "sending") and _work_left(db) > 0:
            mid_work += 1
        in_window += _kills_in_window(db, timed_sink, attributed)
    kills = sum(phases.values())

    logs.append(tmp_path / "final.log")
    with logs[-1].open("wb") as err:
        final = subprocess.run(
            _command(config, "run", "--once"),
            stdin=subprocess.DEVNULL,
            stdout=err,
            stderr=err,
            env=_env(),
            timeout=FINAL_RUN_TIMEOUT_S,
            check=False,
        )
    assert final.returncode == 0, _tail(logs[-1])

    # the mailbox: everything moved once, nothing left behind
    assert dovecot.uids("INBOX") == []
    moved = [_MESSAGE_ID.search(raw) for raw in dovecot.fetch_raw(PROCESSED).values()]
    assert sorted(m.group(1).decode() for m in moved if m) == sorted(
        f"<crash{i}@example.test>" for i in range(MESSAGES)
    )

    # the register: each message stored once, and exactly one case or one machine entry
    stored = _query(db, "SELECT message_id, disposition, case_id FROM stored_messages")
    assert len(stored) == MESSAGES
    assert len({mid for mid, _, _ in stored}) == MESSAGES
    assert len(_query(db, "SELECT id FROM ledger")) == MESSAGES
    dispositions = {str(mid): str(disp) for mid, disp, _ in stored}
    assert {mid for mid, disp in dispositions.items() if disp == "machine"} == machines
    assert collections.Counter(dispositions.values()) == {
        "case": MESSAGES - len(machines),
        "machine": len(machines),
    }
    cases = _query(db, "SELECT id, reference, requester_email FROM cases")
    assert len(cases) == len(people), "no case duplicated"
    assert {str(email) for _, _, email in cases} == people
    case_ids = [cid for _, _, cid in stored if cid is not None]
    assert len(case_ids) == len(set(case_ids)) == len(cases), "one message per case"
    unsent = _query(db, "SELECT id, status FROM outbox WHERE status != 'sent'")
    assert unsent == []

    # the SMTP server: every person acknowledged; duplicates only from kills in the window
    reference_of = {str(email): str(ref) for _, ref, email in cases}
    acks: collections.Counter[tuple[str, str]] = collections.Counter()
    ids_of: dict[tuple[str, str], set[bytes]] = collections.defaultdict(set)
    for received in timed_sink.messages:
        if received.rcpt_tos == (PARO,):
            continue
        (rcpt,) = received.rcpt_tos
        case = _CASE.search(received.data)
        mid = _MESSAGE_ID.search(received.data)
        assert case is not None and mid is not None
        key = (rcpt, case.group(1).decode())
        acks[key] += 1
        ids_of[key].add(mid.group(1))
    assert {rcpt for rcpt, _ in acks} == people, "every person has an acknowledgement"
    assert all(reference_of[rcpt] == ref for rcpt, ref in acks)
    assert all(len(ids) == 1 for ids in ids_of.values()), "a resend has the same Message-ID"
    duplicate_acks = sum(n - 1 for n in acks.values())
    duplicate_emails = sum(n - 1 for n in timed_sink.counts().values())
    windows = sorted(_window_ms(logs, timed_sink))
    record_property("sigkills", kills)
    record_property("sigkills_mid_work", mid_work)
    print(
        f"\ncrash test: {kills} SIGKILLs (seed {SEED}), {mid_work} mid-work, by phase "
        f"{dict(sorted(phases.items()))}; mean life {statistics.mean(life_s):.1f} s; "
        f"kills in the reply-to-commit window {in_window}; duplicate acknowledgements "
        f"{duplicate_acks}, duplicate emails of any kind {duplicate_emails}; window "
        f"median {statistics.median(windows):.1f} ms, p95 "
        f"{windows[int(len(windows) * 0.95)]:.1f} ms, max {windows[-1]:.1f} ms over "
        f"{len(windows)} emails; {time.monotonic() - started:.0f} s"
    )
    assert mid_work >= MIN_MID_WORK_KILLS, (
        f"only {mid_work} of {kills} SIGKILLs landed mid-work in {KILL_PHASE_BUDGET_S:.0f} s "
        f"(by phase {dict(phases)}); at least {MIN_MID_WORK_KILLS} are needed"
    )
    assert duplicate_acks <= duplicate_emails <= in_window


_CRASH_MID_MIGRATION = """
import os, signal, sys
from alembic import op
real = op.create_table
made = []
def create_table(*args, **kwargs):
    result = real(*args, **kwargs)
    made.append(args[0])
    if len(made) == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    return result
op.create_table = create_table
from inbox_agent.register.db import Register
Register(sys.argv[1])
"""


def test_sigkill_during_the_first_schema_migration_leaves_a_register_that_migrates(
    tmp_path: Path,
) -> None:
    """SQLite runs DDL outside transactions unless told: half a schema would block every start."""
    url = f"sqlite:///{tmp_path / 'register.sqlite3'}"
    died = subprocess.run(
        [sys.executable, "-c", _CRASH_MID_MIGRATION, url],
        env=_env(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert died.returncode == -signal.SIGKILL, died.stderr.decode()
    tables = _query(tmp_path / "register.sqlite3", "SELECT name FROM sqlite_master")
    assert tables == [], "the killed migration must leave nothing behind"
    reg = Register(url)
    try:
        with reg.transaction() as session:
            assert session.scalar(select(func.count()).select_from(Case)) == 0
    finally:
        reg.dispose()
