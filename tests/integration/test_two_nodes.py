"""Two nodes, one PostgreSQL register: one polls, both drain, nothing is done twice.

Two daemons on two servers may share a register so the inbox survives a server going down
(``register.locks``). These tests run the nodes as real processes (or as two ``Register``
instances in one process where a thread is enough) against one PostgreSQL, one Dovecot and
one SMTP sink, all on loopback:

- the mailbox lease has one holder, and passes to the other node when the holder releases it,
  dies (SIGKILL) or loses its connection;
- two senders draining one outbox at once send every row exactly once;
- two nodes firing the same weekly-report cron queue and send one report;
- the headline: two ``inbox-agent run`` daemons, the lease holder SIGKILLed mid-run, and at
  the end every message is one case and every acknowledgement was sent once.

The kill in the headline test is placed where it cannot cause a resend: the victim is
stopped (SIGSTOP) and killed only while it holds no outbox row lock, i.e. it is not between
an SMTP reply and its commit (``test_crash`` measures that window for one node).
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from servers import DovecotServer, ReceivedMessage, SmtpSink
from sqlalchemy import Engine, create_engine, text
from support.builders import HUMAN, INBOX, PARO, base_config, message, smtp_config, write_profile
from support.concurrency import fire_together
from support.profiles import imap_section

from inbox_agent.acknowledge import RenderedEmail
from inbox_agent.deadlines import UkCalendar
from inbox_agent.ops.reports import WeeklyReportJob, queue_weekly_report
from inbox_agent.outbox import queue_email
from inbox_agent.register.db import Register, lock_key
from inbox_agent.register.locks import MailboxLease
from inbox_agent.send import Sender
from inbox_agent.settings import Settings, load_settings, settings_from_dict

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CHIEF_EXECUTIVE = "chief.executive@opcc.testshire.example.org"
PROCESSED = "Registered"
NODES = ("node-a", "node-b")
OUTBOX_ROWS = 60
BEFORE_KILL = 60  # messages in the mailbox when the daemons start
AFTER_KILL = 20  # appended once the lease holder is dead: only the survivor can take them
# when the lease holder dies: after it opened this many cases, or sent this many emails
CASES_BEFORE_KILL = 12
SENT_BEFORE_KILL = 3
POLL_INTERVAL_S = 5  # the smallest poll.interval_seconds; the survivor's takeover delay
STEP_S = 0.02
LINE_TIMEOUT_S = 60.0  # a subprocess to import inbox_agent and answer
START_TIMEOUT_S = 60.0
LEASE_TIMEOUT_S = 30.0
WORK_TIMEOUT_S = 60.0
SETTLE_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
KILL_ATTEMPTS = 200
ELECTORAL_BODY = (
    "I am the election agent for a candidate. When must the nomination papers be delivered "
    "to the Police Area Returning Officer, and how is the deposit paid?"
)
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>]+>)", re.IGNORECASE | re.MULTILINE)
_CASE = re.compile(rb"^X-Inbox-Agent-Case:\s*(\S+)", re.IGNORECASE | re.MULTILINE)

# --------------------------------------------------------------------------- helpers


def _until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(STEP_S)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def _node_url(url: str, node: str) -> str:
    """The same database, with the node's name on every session (pg_stat_activity)."""
    return f"{url}?application_name={node}"


def _read_line(proc: subprocess.Popen[str], timeout: float = LINE_TIMEOUT_S) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise AssertionError(f"no answer from pid {proc.pid} in {timeout:.0f} s")
    return proc.stdout.readline().strip()


def _reap(proc: subprocess.Popen[Any]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


class Probe:
    """A third session on the register, outside both nodes: counts and pg_locks."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = create_engine(url, isolation_level="AUTOCOMMIT")

    def scalar(self, sql: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]

    def advisory_holder(self, key: int) -> str | None:
        """application_name of the session holding the advisory lock ``key``, if any."""
        unsigned = key & 0xFFFFFFFFFFFFFFFF  # pg_locks shows a bigint key as two oids
        found = self.rows(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE a.datname = current_database() AND l.locktype = 'advisory' AND l.granted "
            "AND l.objsubid = 1 "
            "AND l.classid = :hi AND l.objid = :lo",
            hi=unsigned >> 32,
            lo=unsigned & 0xFFFFFFFF,
        )
        return str(found[0][0]) if found else None

    def advisory_waiters(self) -> int:
        return int(
            self.scalar(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )

    def outbox_claims(self, node: str) -> int:
        """Outbox row locks (SELECT ... FOR UPDATE) held by ``node``'s sessions."""
        return int(
            self.scalar(
                "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
                "WHERE a.datname = current_database() AND a.application_name = :node "
                "AND l.relation = 'outbox'::regclass "
                "AND l.mode = 'RowShareLock'",
                node=node,
            )
        )

    def count(self, table: str, where: str = "TRUE") -> int:
        try:
            return int(self.scalar(f"SELECT count(*) FROM {table} WHERE {where}"))
        except Exception as exc:  # before the first migration there are no tables
            if "does not exist" in str(exc):
                return 0
            raise

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture
def probe(postgres_url: str) -> Iterator[Probe]:
    p = Probe(postgres_url)
    try:
        yield p
    finally:
        p.close()


def _by_message_id(received: list[ReceivedMessage]) -> collections.Counter[str]:
    ids = collections.Counter[str]()
    for m in received:
        match = _MESSAGE_ID.search(m.data)
        assert match is not None, m.data[:300]
        ids[match.group(1).decode()] += 1
    return ids


# --------------------------------------------------------------------------- 0. the schema

_MIGRATE = """
import sys
from inbox_agent.register.db import Register
print("ready", flush=True)
sys.stdin.readline()
Register(sys.argv[1]).dispose()
"""


def test_two_nodes_starting_together_on_an_empty_register_both_migrate_it(
    postgres_url: str, probe: Probe
) -> None:
    """Both nodes upgraded and restarted at once: one migrates, the other waits and finds it done.

    Without a lock around the upgrade both run CREATE TABLE, and the second fails with a
    unique violation in ``pg_type`` (its first pass crashes and backs off).
    """
    nodes = [
        subprocess.Popen(
            [sys.executable, "-c", _MIGRATE, _node_url(postgres_url, node)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=_env(),
            text=True,
        )
        for node in NODES
    ]
    try:
        assert [_read_line(p) for p in nodes] == ["ready", "ready"]
        for p in nodes:  # together, so the two upgrades overlap
            assert p.stdin is not None
            p.stdin.write("go\n")
            p.stdin.flush()
        for p in nodes:
            _, err = p.communicate(timeout=LINE_TIMEOUT_S)
            errors = [line for line in err.splitlines() if "Error" in line]
            assert p.returncode == 0, errors[-1:] or err[-2000:]
    finally:
        for p in nodes:
            _reap(p)
    assert probe.count("alembic_version") == 1
    assert probe.count("cases") == 0


# --------------------------------------------------------------------------- 1. the lease

_HOLD_LEASE = """
import sys, time
from inbox_agent.register.db import Register
from inbox_agent.register.locks import MailboxLease
lease = MailboxLease(Register(sys.argv[1], migrate=False), sys.argv[2])
print("held" if lease.held() else "refused", flush=True)
time.sleep(120)
"""


def test_the_lease_has_one_holder_and_passes_on_release(postgres_url: str) -> None:
    a, b = Register(postgres_url), Register(postgres_url)
    try:
        first, second = (
            MailboxLease(a, "imap://spoc@mail/INBOX"),
            MailboxLease(b, "imap://spoc@mail/INBOX"),
        )
        other = MailboxLease(b, "imap://spoc@mail/Other")
        assert first.held() is True
        assert second.held() is False
        assert first.held() is True, "the holder keeps it, pass after pass"
        assert second.held() is False
        assert other.held() is True, "another mailbox is another lease"
        first.release()
        assert second.held() is True, "taken at the other node's next pass"
        assert first.held() is False
        second.release()
        assert first.held() is True
    finally:
        a.dispose()
        b.dispose()


def test_the_lease_passes_when_its_connection_dies_quietly(postgres_url: str, probe: Probe) -> None:
    """The server ends the holder's session (a failover, an idle timeout): nothing local knew."""
    a, b = Register(_node_url(postgres_url, "node-a")), Register(postgres_url)
    try:
        first, second = MailboxLease(a, "box"), MailboxLease(b, "box")
        assert first.held() is True
        assert second.held() is False
        assert probe.advisory_holder(first.key) == "node-a"
        probe.scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'node-a'"
        )
        _until(lambda: probe.advisory_holder(first.key) is None, 10, "the session to end")
        assert second.held() is True
        assert first.held() is False, "the old holder notices and does not think it holds it"
    finally:
        a.dispose()
        b.dispose()


def test_the_lease_passes_when_its_holder_is_killed(postgres_url: str, probe: Probe) -> None:
    Register(postgres_url).dispose()  # migrated once, before either node
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_LEASE, _node_url(postgres_url, "node-a"), "box"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        env=_env(),
        text=True,
    )
    b = Register(postgres_url, migrate=False)
    try:
        assert _read_line(holder) == "held"
        standby = MailboxLease(b, "box")
        assert standby.held() is False
        assert probe.advisory_holder(standby.key) == "node-a"
        holder.send_signal(signal.SIGKILL)
        assert holder.wait(timeout=10) == -signal.SIGKILL
        _until(standby.held, 10, "the standby to take the lease of a killed holder")
        assert probe.advisory_holder(standby.key) not in (None, "node-a")
    finally:
        _reap(holder)
        b.dispose()


# --------------------------------------------------------------------------- 2. the outbox

_DRAIN = """
import datetime as dt, json, sys
from inbox_agent.register.db import Register
from inbox_agent.send import Sender
from inbox_agent.settings import load_settings
settings = load_settings(sys.argv[1])
register = Register(settings.database.url, migrate=False)
sender = Sender(settings, register, clock=lambda: dt.datetime.now(dt.UTC))
print("ready", flush=True)
sys.stdin.readline()
report = sender.drain()
print(json.dumps({"sent": report.sent, "deferred": report.deferred, "failed": report.failed}))
register.dispose()
"""


class SlowSink(SmtpSink):
    """Takes a few milliseconds over each message, so two drains overlap for certain."""

    def _record(self, message: ReceivedMessage) -> None:
        time.sleep(0.003)
        super()._record(message)


def _profile(
    url: str, tmp_path: Path, sink: SmtpSink, **sections: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = base_config(url)
    data["maildir"] = {"path": str(tmp_path / "maildir")}
    data["smtp"] = smtp_config(sink.host, sink.port)
    data.update(sections)
    return data


def _queue_outbox(register: Register, settings: Settings, count: int) -> list[str]:
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    with register.transaction() as session:
        rows = [
            queue_email(
                session,
                None,
                kind="acknowledgement",
                recipient=f"person{i}@example.com",
                rendered=RenderedEmail(f"Your message ({i})", f"Thank you ({i}).\n", None),
                from_address=INBOX,
                office_name=settings.office.name,
                now=now,
                give_up_after=dt.timedelta(hours=1),
            )
            for i in range(count)
        ]
    return [row.message_id for row in rows]


def test_two_senders_draining_one_outbox_send_each_row_once(
    postgres_url: str, probe: Probe, tmp_path: Path
) -> None:
    with SlowSink() as sink:
        register = Register(postgres_url)
        try:
            profile = _profile(postgres_url, tmp_path, sink)
            settings = settings_from_dict(profile, tmp_path / "unused.toml")
            queued = _queue_outbox(register, settings, OUTBOX_ROWS)
        finally:
            register.dispose()
        drains = []
        try:
            for node in NODES:
                profile["database"] = {"url": _node_url(postgres_url, node)}
                config = write_profile(tmp_path / f"{node}.toml", profile)
                drains.append(
                    subprocess.Popen(
                        [sys.executable, "-c", _DRAIN, str(config)],
                        stdin=subprocess.PIPE,
                        stdout=subprocess.PIPE,
                        env=_env(),
                        text=True,
                    )
                )
            assert [_read_line(p) for p in drains] == ["ready", "ready"]
            for p in drains:  # both start together
                assert p.stdin is not None
                p.stdin.write("go\n")
                p.stdin.flush()
            reports = [json.loads(_read_line(p)) for p in drains]
            assert [p.wait(timeout=30) for p in drains] == [0, 0]
        finally:
            for p in drains:
                _reap(p)
        received = sink.messages

    assert [r["deferred"] + r["failed"] for r in reports] == [0, 0]
    assert sum(r["sent"] for r in reports) == OUTBOX_ROWS
    assert all(r["sent"] > 0 for r in reports), f"the drains did not overlap: {reports}"
    assert _by_message_id(received) == collections.Counter(queued), "each row sent exactly once"
    assert probe.rows("SELECT status, attempts, count(*) FROM outbox GROUP BY 1, 2") == [
        ("sent", 1, OUTBOX_ROWS)
    ]


# --------------------------------------------------------------------------- 3. weekly report


def _report_settings(url: str, tmp_path: Path, sink: SmtpSink) -> Settings:
    data = _profile(url, tmp_path, sink, transparency={"weekly_report_to": CHIEF_EXECUTIVE})
    return settings_from_dict(data, tmp_path / "unused.toml")


def test_the_second_node_waits_for_the_first_report_and_queues_none(
    postgres_url: str, probe: Probe, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    settings = _report_settings(postgres_url, tmp_path, smtp_sink)
    calendar = UkCalendar()
    now = dt.datetime(2027, 4, 12, 7, 0, tzinfo=dt.UTC)  # the Monday cron, office time 08:00
    a, b = Register(postgres_url), Register(postgres_url)
    results: list[object] = []

    def second_node() -> None:
        with b.transaction() as session:
            results.append(queue_weekly_report(session, settings, now, calendar))

    thread = threading.Thread(target=second_node)
    try:
        with a.transaction() as session:
            assert queue_weekly_report(session, settings, now, calendar) is not None
            thread.start()
            _until(lambda: probe.advisory_waiters() == 1, 10, "the second node to wait")
            time.sleep(0.2)
            assert thread.is_alive() and results == [], "it waits for the first to commit"
        thread.join(timeout=10)
        assert not thread.is_alive()
        assert results == [None], "the second node sees the queued report"
    finally:
        thread.join(timeout=10)
        a.dispose()
        b.dispose()
    assert probe.count("outbox", "kind = 'report'") == 1
    assert probe.count("audit_events", "action = 'weekly_report_queued'") == 1


def test_two_nodes_firing_the_weekly_report_together_send_one(
    postgres_url: str, probe: Probe, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    settings = _report_settings(postgres_url, tmp_path, smtp_sink)
    registers = [Register(_node_url(postgres_url, node)) for node in NODES]
    jobs = [
        WeeklyReportJob(
            settings,
            r,
            Sender(settings, r, clock=lambda: dt.datetime.now(dt.UTC)),
            clock=lambda: dt.datetime.now(dt.UTC),
        )
        for r in registers
    ]

    try:
        fire_together(jobs, timeout=30)
    finally:
        for r in registers:
            r.dispose()
    reports = [m for m in smtp_sink.messages if m.rcpt_tos == (CHIEF_EXECUTIVE,)]
    assert len(reports) == 1, "one weekly summary reaches the Chief Executive"
    assert probe.rows("SELECT kind, status FROM outbox") == [("report", "sent")]
    assert probe.count("audit_events", "action = 'weekly_report_queued'") == 1


# --------------------------------------------------------------------------- 4. two daemons


def _people_mail(first: int, count: int) -> tuple[list[bytes], set[str]]:
    raws, people = [], set()
    for i in range(first, first + count):
        address = f"person{i}@example.com"
        if i % 15 == 7:  # some for the PARO: a forward as well as the acknowledgement
            subject, body = "Nomination papers and deposit", ELECTORAL_BODY
        else:
            _, subject, body = HUMAN[i % len(HUMAN)]
        mid = f"<twonodes{i}@example.test>"
        raws.append(message(f"Person {i} <{address}>", f"{subject} ({i})", body, message_id=mid))
        people.add(address)
    return raws, people


def _daemon_profile(url: str, dovecot: DovecotServer, sink: SmtpSink) -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = base_config(url)
    data["imap"] = imap_section(
        dovecot, processed_folder=PROCESSED, batch_size=10, timeout_seconds=10, idle=False
    )
    data["smtp"] = smtp_config(sink.host, sink.port)
    data["poll"] = {"interval_seconds": POLL_INTERVAL_S}
    return data


class Node:
    """One ``inbox-agent run`` process with its own profile and log."""

    def __init__(self, name: str, config: Path, log: Path) -> None:
        self.name, self.config, self.log = name, config, log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "inbox_agent.cli", "--config", str(config), "run"],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                env=_env(),
            )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def events(self, event: str) -> int:
        return len(re.findall(rf"\bevent={event}\b", self.text()))

    def tail(self, lines: int = 40) -> str:
        return f"--- {self.name}:\n" + "\n".join(self.text().splitlines()[-lines:])

    def stopped(self) -> bool:
        """Every thread of the process is in the stopped state (SIGSTOP took effect)."""
        states = []
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            try:
                states.append((task / "stat").read_text().rsplit(")", 1)[1].split()[0])
            except FileNotFoundError:  # a thread that ended meanwhile
                continue
        return all(s in ("T", "t") for s in states)


def _kill_outside_the_send_window(victim: Node, probe: Probe) -> int:
    """SIGKILL ``victim`` at a moment it holds no outbox row: stop, look, kill or go on.

    A row lock is held from the claim to the commit of its outcome; with none held the victim
    is not between an SMTP reply and its commit, so nothing it sent can be sent again.
    Returns the number of attempts it took.
    """
    pid = victim.proc.pid
    for attempt in range(1, KILL_ATTEMPTS + 1):
        os.kill(pid, signal.SIGSTOP)
        _until(victim.stopped, 5, f"{victim.name} to stop")
        if probe.outbox_claims(victim.name) == 0:
            os.kill(pid, signal.SIGKILL)
            assert victim.proc.wait(timeout=10) == -signal.SIGKILL
            return attempt
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.003 * (attempt % 7))
    raise AssertionError(f"{victim.name} held an outbox row at each of {KILL_ATTEMPTS} looks")


def _start_nodes(profile: dict[str, dict[str, Any]], url: str, tmp_path: Path) -> dict[str, Node]:
    nodes: dict[str, Node] = {}
    for name in NODES:  # both at once: one polls, both drain
        profile["database"] = {"url": _node_url(url, name)}
        config = write_profile(tmp_path / f"{name}.toml", profile)
        assert load_settings(config).imap is not None
        nodes[name] = Node(name, config, tmp_path / f"{name}.log")
    return nodes


def _roles(nodes: dict[str, Node], probe: Probe, lease_key: int) -> tuple[Node, Node]:
    """(the lease holder, the standby), once a node has taken the lease and both started."""
    holder: list[str] = []

    def lease_taken() -> bool:
        holder[:] = [name] if (name := probe.advisory_holder(lease_key)) else []
        return bool(holder)

    _until(lease_taken, LEASE_TIMEOUT_S + START_TIMEOUT_S, "a node to take the lease")
    _until(
        lambda: all(b"event=started" in n.log.read_bytes() for n in nodes.values()),
        START_TIMEOUT_S,
        "both daemons to start",
    )
    (standby,) = (n for name, n in nodes.items() if name != holder[0])
    return nodes[holder[0]], standby


def _wait_for_phase(phase: str, victim: Node, probe: Probe) -> None:
    if phase == "registering":  # in the middle of opening the first cases
        _until(
            lambda: probe.count("cases") >= CASES_BEFORE_KILL,
            WORK_TIMEOUT_S,
            f"{victim.name} to open {CASES_BEFORE_KILL} cases",
        )
    else:  # in the middle of draining their emails, where it holds row locks
        # the standby drains too, every poll, and may leave it little: then kill it idle
        _until(
            lambda: (
                victim.events("email_sent") >= SENT_BEFORE_KILL
                or (
                    probe.count("cases") == BEFORE_KILL
                    and probe.count("outbox", "status = 'queued'") == 0
                )
            ),
            WORK_TIMEOUT_S,
            f"{victim.name} to send {SENT_BEFORE_KILL} emails",
        )


def _check_mailbox(dovecot: DovecotServer, total: int) -> None:
    """Every message moved to the processed folder once, none left behind."""
    assert dovecot.uids("INBOX") == []
    moved = [_MESSAGE_ID.search(raw) for raw in dovecot.fetch_raw(PROCESSED).values()]
    assert sorted(m.group(1).decode() for m in moved if m) == sorted(
        f"<twonodes{i}@example.test>" for i in range(total)
    )


def _check_register(probe: Probe, everyone: set[str]) -> dict[str, str]:
    """One stored message and one case per message, one requester per case; their references."""
    total = len(everyone)
    stored = probe.rows("SELECT message_id, disposition, case_id FROM stored_messages")
    assert len(stored) == total and len({mid for mid, _, _ in stored}) == total
    assert {disposition for _, disposition, _ in stored} == {"case"}
    assert probe.count("ledger") == total
    case_ids = [cid for _, _, cid in stored]
    assert None not in case_ids and len(set(case_ids)) == total, "one message per case"
    cases = probe.rows("SELECT reference, requester_email FROM cases")
    assert len(cases) == total, "no case duplicated"
    assert {str(email) for _, email in cases} == everyone
    assert len({ref for ref, _ in cases}) == total
    return {str(email): str(ref) for ref, email in cases}


def _check_sink(
    received: list[ReceivedMessage], probe: Probe, reference_of: dict[str, str]
) -> None:
    """Every outbox row sent once; every person exactly one acknowledgement, for their case."""
    outbox = probe.rows("SELECT message_id, kind, status FROM outbox")
    assert {status for _, _, status in outbox} == {"sent"}
    assert _by_message_id(received) == collections.Counter(str(mid) for mid, _, _ in outbox)
    acks = collections.Counter[str]()
    for m in received:
        if m.rcpt_tos == (PARO,):
            continue
        (rcpt,) = m.rcpt_tos
        case = _CASE.search(m.data)
        assert case is not None and case.group(1).decode() == reference_of[rcpt]
        acks[rcpt] += 1
    assert acks == dict.fromkeys(reference_of, 1), "each person acknowledged exactly once"
    forwards = sum(1 for _, kind, _ in outbox if kind == "paro_forward")
    assert forwards >= len(reference_of) // 15, "the PARO forwards went too"


@pytest.mark.parametrize("phase", ["registering", "sending"])
def test_two_daemons_one_killed_mid_run_every_message_one_case_every_ack_once(
    phase: str,
    dovecot: DovecotServer,
    smtp_sink: SmtpSink,
    postgres_url: str,
    probe: Probe,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    first, people = _people_mail(0, BEFORE_KILL)
    later, later_people = _people_mail(BEFORE_KILL, AFTER_KILL)
    everyone, total = people | later_people, BEFORE_KILL + AFTER_KILL
    with dovecot.client() as imap:
        for raw in first:
            imap.append("INBOX", raw)
    # migrated before the nodes start: two nodes migrating together is the test above
    Register(postgres_url).dispose()
    profile = _daemon_profile(postgres_url, dovecot, smtp_sink)
    lease_key = lock_key(f"mailbox:{settings_from_dict(profile, tmp_path / 'x.toml').source_name}")
    nodes: dict[str, Node] = {}
    try:
        nodes = _start_nodes(profile, postgres_url, tmp_path)
        victim, survivor = _roles(nodes, probe, lease_key)
        _wait_for_phase(phase, victim, probe)
        attempts = _kill_outside_the_send_window(victim, probe)
        killed_at = time.monotonic()
        cases_at_kill = probe.count("cases")
        queued_at_kill = probe.count("outbox", "status = 'queued'")
        sent_at_kill = len(smtp_sink.messages)
        assert survivor.proc.poll() is None, survivor.tail()
        with dovecot.client() as imap:  # new mail only the survivor can take
            for raw in later:
                imap.append("INBOX", raw)
        _until(
            lambda: (
                probe.count("stored_messages", "disposition = 'case'") == total
                and probe.count("outbox", "status != 'sent'") == 0
            ),
            SETTLE_TIMEOUT_S,
            "the survivor to register and answer everything",
        )
        took_over_s = time.monotonic() - killed_at
        survivor.proc.send_signal(signal.SIGTERM)
        assert survivor.proc.wait(timeout=STOP_TIMEOUT_S) == 0, survivor.tail()
    except BaseException:
        for node in nodes.values():
            print(node.tail())
        raise
    finally:
        for node in nodes.values():
            _reap(node.proc)

    _check_mailbox(dovecot, total)
    reference_of = _check_register(probe, everyone)
    received = smtp_sink.messages
    _check_sink(received, probe, reference_of)

    # who did what: the victim worked before it died, the survivor took over after
    if phase == "registering":
        assert cases_at_kill < BEFORE_KILL, "killed before it had registered everything"
    assert victim.events("case_opened") >= cases_at_kill >= 1
    assert victim.events("lease_taken") == survivor.events("lease_taken") == 1
    assert survivor.events("case_opened") == total - cases_at_kill
    assert len(received) > sent_at_kill
    for node in nodes.values():
        assert "Traceback" not in node.text() and "poll_crashed" not in node.text(), node.tail()
    assert "event=stopped" in survivor.text()
    print(
        f"\ntwo nodes, kill while {phase}: {victim.name} killed after {cases_at_kill} cases "
        f"and {victim.events('email_sent')} emails, {queued_at_kill} emails still queued "
        f"({attempts} look(s) to find it outside the send window); {survivor.name} finished "
        f"{total - cases_at_kill} cases in {took_over_s:.1f} s; "
        f"{time.monotonic() - started:.1f} s in all"
    )
