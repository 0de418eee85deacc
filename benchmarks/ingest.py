"""Ingest benchmark: a full ``inbox-agent run --once`` against a private Dovecot, next to mbsync.

    .venv/bin/python benchmarks/ingest.py [--messages N] [--db sqlite|URL] [--seed S] [--workers W]

1. Generate N deterministic messages: human enquiries (plain, HTML, with attachments, replies)
   and machine mail (auto-replies, bounces, list mail).
2. Start a private Dovecot (``tests/servers.py``) and APPEND them to INBOX on one connection,
   and again for a second user, whom ``mbsync`` pulls into a Maildir just before the ingest.
3. Run the CLI's ``run --once`` in a child process with a temporary TOML (IMAP without TLS,
   the register in a temp dir, outgoing mail to a local Maildir) and time the fetch+store
   stage, the registering, the drain and the whole pass; the child's peak RSS and CPU time
   come from ``os.wait4``, its process tree's memory (analysis workers) from /proc samples.
4. Time ``mbsync`` again just after: its rate is the mean of the two, for a reference.
5. Print the figures, one per line, and check the ledger holds one row per message.

The child is this file again with ``--child-ingest``: it calls ``inbox_agent.cli.main`` with
``--config <tmp.toml> run --once`` (exactly what the ``inbox-agent`` script does) after
wrapping ``ImapFetcher.fetch_new``, ``Pipeline.process_pending``, ``Sender.drain`` and
``Pipeline.run_once`` in timers. Only standard-library
modules are imported at the top, so the child's peak RSS is the CLI's own.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import json
import math
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from inbox_agent.pipeline import PassReport, Pipeline

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support.profiles import INBOX, ImapAccount, base_config, imap_section, write_profile  # noqa: E402  (stdlib only)

MBSYNC_USER = "mbsync"
MBSYNC_PASSWORD = "mbsync-bench-password"
MB = 1024 * 1024
REPLY_WINDOW = 200  # a reply answers one of the last this many enquiries

# --------------------------------------------------------------------------- message corpus

FIRST = "Ann Bob Cat Dev Eve Faisal Gita Huw Isla Jon Kemi Liam Mair Nia Owen Priya Rhys Sian Tom"
SURNAMES = "Jones Patel Evans Khan Hughes Smith Roberts Davies Ahmed Lewis Price Morgan Shah Reid"
PUBLIC_DOMAINS = ("example.com", "mail.example.net", "home.example.org", "isp.example.co.uk")
CANDIDATE_DOMAINS = ("vote-for-change.example.org", "campaign.example.com", "party.example.net")
PRESS_DOMAINS = ("newsroom.example.co.uk", "testshire-gazette.example.com", "radio.example.org")
PLACES = ("Northbridge", "Eastmoor", "Kingsford", "Westhaven", "Ashby Vale", "Millbrook")
TOPICS = ("rural crime", "knife crime", "road safety", "domestic abuse", "shoplifting", "fraud")

CANDIDATE = (
    (
        "Nomination papers",
        "Where must the nomination papers be delivered, and by what time on "
        "the last day? How many subscribers do I need from {place}?",
    ),
    (
        "Deposit for the PCC election",
        "How is the deposit paid, by banker's draft or transfer, "
        "and when is it returned to a candidate?",
    ),
    (
        "Request for a meeting",
        "As a candidate I would like to meet the Chief Constable to "
        "discuss {topic} in {place}. Could you suggest a date and time?",
    ),
    (
        "Candidate briefing",
        "Is there a briefing pack for candidates on the police and crime "
        "plan and the budget for {topic}?",
    ),
    (
        "Visit to {place} police station",
        "Could I visit {place} police station with my "
        "campaign team next week and take some photographs?",
    ),
    (
        "Election expenses",
        "What is the spending limit for a candidate in this police area, "
        "and does it cover leaflets about {topic}?",
    ),
)
PUBLIC = (
    (
        "Freedom of Information request",
        "Under the Freedom of Information Act 2000, please "
        "send me the number of {topic} offences recorded in {place} in each of the last {n} years.",
    ),
    (
        "Subject access request",
        "Please send me all the personal data your office holds about "
        "me, under the Data Protection Act 2018. My reference from last year was {n}.",
    ),
    (
        "Where do I vote?",
        "I moved to {place} recently. Where is my polling station and can I "
        "still apply for a postal vote?",
    ),
    (
        "Complaint about a candidate",
        "A candidate's leaflet in {place} says {topic} has doubled. "
        "I believe this is false and I want to complain about their conduct.",
    ),
    (
        "Question about {topic}",
        "How much of the commissioner's budget was spent on {topic} "
        "last year, and how many officers work on it in {place}?",
    ),
)
PRESS = (
    (
        "Media enquiry: {topic}",
        "I am a reporter preparing a piece on {topic} in {place} for "
        "tomorrow's edition. Could the commissioner's office give us a statement by 5pm?",
    ),
    (
        "Interview request",
        "We would like to interview the commissioner about {topic} on our "
        "breakfast programme. Is anyone available on the {n}th?",
    ),
    (
        "Press query about hustings",
        "Will OPCC staff attend the hustings in {place}? We are "
        "covering the debate on {topic} live.",
    ),
)
FILLER = (
    "I have looked on your website but could not find the answer.",
    "Many residents in {place} have asked me the same question.",
    "I would be grateful for a reply within the next few days.",
    "Please let me know if you need anything else from me.",
    "I appreciate this is a busy time for your office.",
    "This matters a great deal to people who live near {place}.",
    "I have copied this to my agent for information.",
    "Apologies if this has been answered before.",
)
HTML_STYLE = (
    "<style>p.MsoNormal{margin:0cm;font-size:11pt;font-family:Calibri,sans-serif}"
    "table.sig td{padding:2px 8px;color:#1F3864}</style>"
)


@dataclass(frozen=True)
class Sender:
    name: str
    address: str


def _people(rng: random.Random, domains: tuple[str, ...], count: int) -> list[Sender]:
    first, last = FIRST.split(), SURNAMES.split()
    people = []
    for i in range(count):
        f, s = rng.choice(first), rng.choice(last)
        address = f"{f.lower()}.{s.lower()}{i}@{rng.choice(domains)}"
        people.append(Sender(f"{f} {s}", address))
    return people


class Corpus:
    """Deterministic message factory: the same seed gives the same bytes."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.base = dt.datetime(2027, 3, 1, 8, 0, tzinfo=dt.UTC)
        self.groups = (
            (_people(self.rng, CANDIDATE_DOMAINS, 60), CANDIDATE),
            (_people(self.rng, PUBLIC_DOMAINS, 500), PUBLIC),
            (_people(self.rng, PRESS_DOMAINS, 40), PRESS),
        )
        self.sent: list[tuple[Sender, str, str, str]] = []  # sender, subject, body, message-id

    def generate(self, count: int, first: int = 0) -> list[bytes]:
        """Messages ``first`` to ``first + count - 1`` of a chunk: a chunk made in slices
        (``soak.py``, which must not hold a whole chunk) has the bytes of one made at once."""
        kinds: list[tuple[float, Callable[[int], EmailMessage]]] = [
            (0.60, self.plain),
            (0.10, self.html),
            (0.10, self.with_attachments),
            (0.06, self.reply),
            (0.06, self.auto_reply),
            (0.04, self.list_mail),
            (0.04, self.bounce),
        ]
        weights = [w for w, _ in kinds]
        out = []
        for i in range(first, first + count):
            make = self.rng.choices([k for _, k in kinds], weights)[0]
            if make == self.reply and not self.sent:
                make = self.plain
            out.append(self._finish(make(i), i))
        del self.sent[:-REPLY_WINDOW]  # a long soak must not grow with its own corpus
        return out

    def _fill(self, template: str) -> str:
        rng = self.rng
        return template.format(
            place=rng.choice(PLACES), topic=rng.choice(TOPICS), n=rng.randint(2, 28)
        )

    def _enquiry(self) -> tuple[Sender, str, str]:
        people, topics = self.rng.choices(self.groups, (15, 70, 15))[0]
        sender = self.rng.choice(people)
        subject, ask = self.rng.choice(topics)
        extra = " ".join(self._fill(s) for s in self.rng.sample(FILLER, self.rng.randint(0, 5)))
        text = textwrap.fill(f"{self._fill(ask)} {extra}".strip(), width=72)
        body = f"Dear Sir or Madam,\n\n{text}\n\nKind regards,\n{sender.name}\n"
        return sender, self._fill(subject), body

    def _headers(self, i: int, sender: Sender, subject: str, to: str = INBOX) -> EmailMessage:
        msg = EmailMessage(policy=policy.SMTP)
        msg["From"] = f"{sender.name} <{sender.address}>"
        msg["To"] = to
        msg["Subject"] = subject
        when = self.base + dt.timedelta(minutes=17 * i + self.rng.randint(0, 16))
        msg["Date"] = format_datetime(when)
        msg["Message-ID"] = f"<bench-{self.seed}-{i}@{sender.address.split('@')[1]}>"
        return msg

    def plain(self, i: int) -> EmailMessage:
        sender, subject, body = self._enquiry()
        msg = self._headers(i, sender, subject)
        msg.set_content(body)
        self.sent.append((sender, subject, body, str(msg["Message-ID"])))
        return msg

    def html(self, i: int) -> EmailMessage:
        sender, subject, body = self._enquiry()
        msg = self._headers(i, sender, subject)
        paras = "".join(f'<p class="MsoNormal">{p}</p>' for p in body.split("\n") if p)
        sig = f'<table class="sig"><tr><td>{sender.name}</td><td>{sender.address}</td></tr></table>'
        html = f"<html><head>{HTML_STYLE}</head><body>{paras}{sig}</body></html>"
        if self.rng.random() < 0.6:
            msg.set_content(body)
            msg.add_alternative(html, subtype="html")
        else:
            msg.set_content(html, subtype="html")
        self.sent.append((sender, subject, body, str(msg["Message-ID"])))
        return msg

    def with_attachments(self, i: int) -> EmailMessage:
        msg = self.plain(i)
        kinds = (("application", "pdf", "pdf"), ("image", "jpeg", "jpg"))
        for k in range(self.rng.randint(1, 3)):
            size = self._attachment_size()
            maintype, subtype, ext = self.rng.choice(kinds)
            head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" if subtype == "pdf" else b"\xff\xd8\xff\xe0"
            data = head + self.rng.randbytes(size - len(head))
            name = f"evidence-{i}-{k}.{ext}"
            msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
        return msg

    def _attachment_size(self) -> int:
        if self.rng.random() < 0.08:  # a few large scans
            return self.rng.randint(MB, 2 * MB)
        return int(math.exp(self.rng.uniform(math.log(10_000), math.log(400_000))))

    def reply(self, i: int) -> EmailMessage:
        sender, subject, body, parent = self.rng.choice(self.sent[-REPLY_WINDOW:])
        msg = self._headers(i, sender, f"Re: {subject}")
        msg["In-Reply-To"] = parent
        msg["References"] = parent
        quoted = "".join(f"> {line}\n" for line in body.splitlines())
        msg.set_content(f"Thank you. One more question: {self._fill(PUBLIC[4][1])}\n\n{quoted}")
        return msg

    def auto_reply(self, i: int) -> EmailMessage:
        sender = self.rng.choice(self.groups[self.rng.randint(0, 2)][0])
        msg = self._headers(i, sender, "Automatic reply: Election enquiry")
        msg["Auto-Submitted"] = "auto-replied"
        msg["X-Auto-Response-Suppress"] = "All"
        msg.set_content(
            f"I am out of the office until the {self.rng.randint(2, 28)}th. "
            "For urgent matters please call the office.\n"
        )
        return msg

    def list_mail(self, i: int) -> EmailMessage:
        sender = Sender("Policing News", "news@lists.example.org")
        msg = self._headers(i, sender, f"Weekly digest no. {i}")
        msg["List-Id"] = "Policing News <news.lists.example.org>"
        msg["List-Unsubscribe"] = "<mailto:leave@lists.example.org>"
        msg["Precedence"] = "bulk"
        items = [self._fill("News from {place}: a new approach to {topic}.") for _ in range(8)]
        msg.set_content("\n\n".join(items))
        msg.add_alternative("".join(f"<h2>{t}</h2><p>{t}</p>" for t in items), subtype="html")
        return msg

    def bounce(self, i: int) -> EmailMessage:
        daemon = Sender("Mail Delivery System", "MAILER-DAEMON@mx.example.net")
        msg = self._headers(i, daemon, "Undelivered Mail Returned to Sender")
        msg["Auto-Submitted"] = "auto-replied"
        lost = self.rng.choice(self.groups[1][0]).address
        msg.set_content(
            f"This is the mail system. Your message could not be delivered to <{lost}>:"
            " 550 5.1.1 user unknown.\n"
        )
        status = message_from_bytes(
            b"Content-Type: message/delivery-status\r\n\r\n"
            b"Reporting-MTA: dns; mx.example.net\r\n\r\n"
            b"Final-Recipient: rfc822; " + lost.encode() + b"\r\n"
            b"Action: failed\r\nStatus: 5.1.1\r\n",
            policy=policy.SMTP,
        )
        msg.make_mixed()
        msg.attach(status)
        msg.replace_header("Content-Type", 'multipart/report; report-type="delivery-status"')
        return msg

    def _finish(self, msg: EmailMessage, i: int) -> bytes:
        for n, part in enumerate(msg.walk()):
            if part.is_multipart():
                part.set_boundary(f"=_bench_{self.seed}_{i}_{n}")
        return msg.as_bytes(policy=policy.SMTP)


# --------------------------------------------------------------------------- helpers


class Dovecot(ImapAccount, Protocol):
    """What this script uses of ``tests/servers.py``'s ``DovecotServer``."""

    def start(self) -> None: ...
    def close(self) -> None: ...
    def add_user(self, user: str, password: str) -> None: ...
    def client(self, user: str | None = None) -> contextlib.AbstractContextManager[Any]: ...


@dataclass(frozen=True)
class ChildRun:
    returncode: int
    wall_s: float
    peak_rss_mb: float  # the child process itself (ru_maxrss from os.wait4)
    tree: TreeMemory
    cpu_s: float  # user + system CPU of the child (workers are the forkserver's, not in it)


@dataclass
class TreeMemory:
    """Resident memory of a process and all its descendants (workers, forkserver), sampled.

    ``peak_sum_mb`` is the largest sum over the tree at one sample: what the machine had to
    hold at once. ``peak_each_mb`` is each process's own peak, by pid. Sampling every
    ``TREE_SAMPLE_S`` can miss a spike shorter than that; the child's own ``ru_maxrss``
    cannot.
    """

    peak_sum_mb: float = 0.0
    peak_each_mb: dict[int, float] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    samples: int = 0

    def sample(self, root: int) -> None:
        rss = _tree_rss(root)
        if not rss:
            return
        self.samples += 1
        self.peak_sum_mb = max(self.peak_sum_mb, sum(mb for mb, _ in rss.values()))
        for pid, (mb, name) in rss.items():
            self.peak_each_mb[pid] = max(self.peak_each_mb.get(pid, 0.0), mb)
            self.names.setdefault(pid, name)


TREE_SAMPLE_S = 0.05


def _proc_status(pid: int) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    except OSError:  # gone between the listing and the read
        return {}
    return dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)


def _tree_rss(root: int) -> dict[int, tuple[float, str]]:
    """pid -> (VmRSS in MiB, name) for ``root`` and every descendant, from /proc (Linux)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            status = _proc_status(int(entry.name))
            if "PPid" in status:
                parents[int(entry.name)] = int(status["PPid"])
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    out = {}
    for pid in tree:
        status = _proc_status(pid)
        if "VmRSS" in status:
            out[pid] = (int(status["VmRSS"].split()[0]) / 1024, status.get("Name", "?").strip())
    return out


def _wait_measured(
    pid: int, timeout: float, tree: TreeMemory
) -> tuple[int, resource.struct_rusage]:
    """Reap ``pid`` with ``os.wait4`` (for its rusage), sampling its process tree's memory
    meanwhile; raise TimeoutError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done == pid:
            return status, usage
        tree.sample(pid)
        time.sleep(TREE_SAMPLE_S)
    raise TimeoutError(f"process {pid} did not finish within {timeout:.0f}s")


def run_measured(cmd: list[str], *, timeout: float, cwd: Path, log: Path) -> ChildRun:
    """Run ``cmd`` to completion within ``timeout``; return its wall time and peak RSS."""
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        tree = TreeMemory()
        try:
            status, usage = _wait_measured(proc.pid, timeout, tree)
        except BaseException:
            proc.kill()  # timed out or interrupted: the child must not outlive the benchmark
            proc.wait(timeout=10)
            raise
        wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return ChildRun(proc.returncode, wall, usage.ru_maxrss / 1024, tree, cpu)  # Linux: KiB


def append_all(server: Dovecot, messages: list[bytes], user: str | None = None) -> float:
    started = time.perf_counter()
    with server.client(user) as imap:
        for raw in messages:
            imap.append("INBOX", raw)
    return time.perf_counter() - started


def ingest_config(work: Path, server: Dovecot, db_url: str) -> dict[str, dict[str, object]]:
    """The tests' ``imap_settings`` config, with the production batch size and a local outbox."""
    data: dict[str, dict[str, object]] = base_config(db_url)
    data["imap"] = imap_section(server, processed_folder="Registered")
    data["smtp"] = {"from_address": INBOX, "deliver": "maildir", "maildir_path": str(work / "out")}
    return data


MBSYNCRC = """\
FSync yes

IMAPAccount bench
Host {host}
Port {port}
User {user}
Pass {password}
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account bench

MaildirStore local
Path {maildir}/
Inbox {maildir}/INBOX

Channel bench
Far :remote:INBOX
Near :local:INBOX
Sync Pull
Create Near
SyncState *
"""


def count_maildir(path: Path) -> int:
    return sum(1 for sub in ("cur", "new") if (path / sub).is_dir() for _ in (path / sub).iterdir())


# --------------------------------------------------------------------------- the child


def child_ingest(config: str, timings_path: str, profile: str | None) -> int:
    """Run the CLI's ``run --once`` with timers around the fetch stage and the whole pass."""
    from unittest import mock

    from inbox_agent import cli
    from inbox_agent.fetch import ImapFetcher
    from inbox_agent.pipeline import Pipeline
    from inbox_agent.send import Sender as Drainer

    timings: dict[str, Any] = {}
    real_pass = Pipeline.run_once

    def timed(key: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kw: Any) -> Any:
            started = time.perf_counter()
            try:
                return real(*args, **kw)
            finally:
                timings[key] = time.perf_counter() - started

        return wrapper

    def timed_pass(self: Pipeline) -> PassReport:
        started = time.perf_counter()
        try:
            report = real_pass(self)
            timings["report"] = {
                **vars(report),
                "fetch": vars(report.fetch),
                "sent": vars(report.sent),
            }
            return report
        finally:
            timings["full_pass_s"] = time.perf_counter() - started

    argv = ["--config", config, "run", "--once"]
    with (
        mock.patch.object(ImapFetcher, "fetch_new", timed("fetch_store_s", ImapFetcher.fetch_new)),
        mock.patch.object(Pipeline, "run_once", timed_pass),
        mock.patch.object(
            Pipeline, "process_pending", timed("register_s", Pipeline.process_pending)
        ),
        mock.patch.object(Drainer, "drain", timed("drain_s", Drainer.drain)),
    ):
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            code = profiler.runcall(cli.main, argv)
            profiler.dump_stats(profile)
        else:
            code = cli.main(argv)
    Path(timings_path).write_text(json.dumps(timings, default=str), encoding="utf-8")
    return code


# --------------------------------------------------------------------------- the benchmark


@dataclass
class Figures:
    values: dict[str, str]

    def add(self, key: str, value: float | int | str, fmt: str = "") -> None:
        self.values[key] = format(value, fmt) if fmt else str(value)


def start_dovecot(stack: contextlib.ExitStack) -> Dovecot:
    servers = importlib.import_module("servers")  # tests/servers.py, not an installed package
    server: Dovecot = servers.DovecotServer()
    stack.callback(server.close)
    server.start()
    server.add_user(MBSYNC_USER, MBSYNC_PASSWORD)
    return server


def measure_ingest(args: argparse.Namespace, work: Path, server: Dovecot, figures: Figures) -> None:
    from inbox_agent.settings import load_settings

    db_url = f"sqlite:///{work / 'register.sqlite3'}" if args.db == "sqlite" else args.db
    config = work / "inbox-agent.toml"
    sections = ingest_config(work, server, db_url)
    if args.workers is not None:
        sections["poll"] = {"workers": args.workers}
    write_profile(config, sections)
    settings = load_settings(config)  # fail fast here, not inside the timed child
    # a release before [poll] workers analysed every message in the main process
    figures.add("workers", getattr(settings.poll, "workers", 1))
    timings = work / "timings.json"
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child-ingest",
        str(config),
        str(timings),
    ]
    if args.profile:
        cmd += ["--profile", str(Path(args.profile).resolve())]
    print("ingest: inbox-agent --config <tmp.toml> run --once (child process) ...", flush=True)
    run = run_measured(cmd, timeout=args.timeout, cwd=work, log=work / "ingest.log")
    if run.returncode != 0:
        sys.stdout.write((work / "ingest.log").read_text(encoding="utf-8", errors="replace"))
        raise SystemExit(f"ingest child exited with status {run.returncode}")
    got = json.loads(timings.read_text(encoding="utf-8"))
    n = args.messages
    print(f"  pass report: {json.dumps(got['report'])}")
    print(f"  process wall time incl. interpreter start, imports, migrations: {run.wall_s:.2f}s")
    print("  peak_rss_mb: the ingest child's own peak (ru_maxrss via os.wait4)")
    print(
        f"  process tree (the child, its forkserver and workers), sampled every "
        f"{TREE_SAMPLE_S}s, {run.tree.samples} samples; each process's peak RSS:"
    )
    for pid, mb in sorted(run.tree.peak_each_mb.items()):
        print(f"    pid {pid} {run.tree.names.get(pid, '?')}: {mb:.1f} MiB")
    figures.add("fetch_store_s", got["fetch_store_s"], ".2f")
    figures.add("register_s", got["register_s"], ".2f")
    figures.add("drain_s", got["drain_s"], ".2f")
    figures.add("full_pass_s", got["full_pass_s"], ".2f")
    figures.add("ingest_process_wall_s", run.wall_s, ".2f")
    figures.add("ingest_process_cpu_s", run.cpu_s, ".2f")
    figures.add("ingest_fetch_store_msgs_per_s", n / got["fetch_store_s"], ".1f")
    figures.add("ingest_full_pass_msgs_per_s", n / got["full_pass_s"], ".1f")
    figures.add("peak_rss_mb", run.peak_rss_mb, ".1f")
    figures.add("tree_processes", len(run.tree.peak_each_mb))
    figures.add("tree_peak_sum_rss_mb", run.tree.peak_sum_mb, ".1f")
    figures.add("tree_peak_each_rss_mb", max(run.tree.peak_each_mb.values(), default=0.0), ".1f")
    figures.add("ledger_rows", count_ledger(settings, db_url))
    figures.add("outbox_written", count_maildir(work / "out"))


def count_ledger(settings: Any, db_url: str) -> int:
    from sqlalchemy import func, select

    from inbox_agent.register.db import Register
    from inbox_agent.register.models import LedgerEntry

    register = Register(db_url, migrate=False)
    try:
        with register.transaction() as session:
            account = settings.imap.account
            query = select(func.count()).where(LedgerEntry.account == account)
            return int(session.scalar(query) or 0)
    finally:
        register.dispose()


def run_mbsync(args: argparse.Namespace, work: Path, server: Dovecot, label: str) -> ChildRun:
    """Pull the mbsync user's INBOX into a new Maildir (and new sync state) under ``label``."""
    maildir = work / f"mbsync-{label}"
    maildir.mkdir()
    rc = work / f"mbsyncrc-{label}"
    rc.write_text(
        MBSYNCRC.format(
            host=server.host,
            port=server.port,
            user=MBSYNC_USER,
            password=MBSYNC_PASSWORD,
            maildir=maildir,
        ),
        encoding="utf-8",
    )
    rc.chmod(0o600)
    mbsync = shutil.which("mbsync") or "/usr/bin/mbsync"
    print(f"mbsync ({label} the ingest): pull INBOX into a Maildir ...", flush=True)
    log = work / f"mbsync-{label}.log"
    run = run_measured([mbsync, "-c", str(rc), "bench"], timeout=args.timeout, cwd=work, log=log)
    pulled = count_maildir(maildir / "INBOX")
    if run.returncode != 0 or pulled != args.messages:
        sys.stdout.write(log.read_text(encoding="utf-8", errors="replace"))
        raise SystemExit(f"mbsync exited {run.returncode} with {pulled}/{args.messages} messages")
    return run


def add_mbsync(args: argparse.Namespace, runs: list[ChildRun], figures: Figures) -> None:
    """mbsync's figures from a run before and one after the ingest: on a shared machine the
    load drifts during a long ingest, and the mean of the two is the fairer yardstick."""
    mean = sum(r.wall_s for r in runs) / len(runs)
    figures.add("mbsync_before_s", runs[0].wall_s, ".2f")
    figures.add("mbsync_after_s", runs[-1].wall_s, ".2f")
    figures.add("mbsync_s", mean, ".2f")
    figures.add("mbsync_msgs_per_s", args.messages / mean, ".1f")
    figures.add("mbsync_peak_rss_mb", max(r.peak_rss_mb for r in runs), ".1f")


def benchmark(args: argparse.Namespace) -> int:
    figures = Figures({})
    print(f"load average (1 min) at start: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    started = time.perf_counter()
    messages = Corpus(args.seed).generate(args.messages)
    total = sum(len(m) for m in messages)
    print(
        f"generated {len(messages)} messages, {total / MB:.1f} MiB, "
        f"largest {max(map(len, messages)) / MB:.2f} MiB, "
        f"in {time.perf_counter() - started:.1f}s",
        flush=True,
    )
    figures.add("messages", len(messages))
    figures.add("bytes", total)
    with contextlib.ExitStack() as stack:
        work = Path(tempfile.mkdtemp(prefix="inbox-agent-bench-"))
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        server = start_dovecot(stack)
        append_s = append_all(server, messages)
        print(f"appended to INBOX in {append_s:.1f}s (not part of the figures)", flush=True)
        figures.add("append_s", append_s, ".2f")
        append_s = append_all(server, messages, MBSYNC_USER)
        print(f"appended again for user {MBSYNC_USER} in {append_s:.1f}s", flush=True)
        before = run_mbsync(args, work, server, "before")
        measure_ingest(args, work, server, figures)
        add_mbsync(args, [before, run_mbsync(args, work, server, "after")], figures)
    v = figures.values
    figures.add(
        "ratio_fetch_store_vs_mbsync",
        float(v["ingest_fetch_store_msgs_per_s"]) / float(v["mbsync_msgs_per_s"]),
        ".3f",
    )
    figures.add(
        "ratio_full_pass_vs_mbsync",
        float(v["ingest_full_pass_msgs_per_s"]) / float(v["mbsync_msgs_per_s"]),
        ".3f",
    )
    print(f"load average (1 min) at end: {os.getloadavg()[0]:.2f}")
    print("\n== figures ==")
    for key, value in figures.values.items():
        print(f"{key}: {value}")
    if int(v["ledger_rows"]) != args.messages:
        print(f"FAIL: ledger has {v['ledger_rows']} rows for {args.messages} messages")
        return 1
    print("OK: one ledger row per message")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="how many (default 2000)")
    parser.add_argument(
        "--db",
        default="sqlite",
        help="'sqlite' (a temp file, the default) or an empty database's URL",
    )
    parser.add_argument("--seed", type=int, default=2027, help="corpus seed (default 2027)")
    parser.add_argument(
        "--workers",
        type=int,
        help="[poll] workers for the ingest (default: the setting's own default, from the CPUs)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=1800.0,
        help="seconds allowed for each timed child (default 1800)",
    )
    parser.add_argument(
        "--profile",
        help="write cProfile stats of the ingest to this file "
        "(slows the ingest; its figures are then not comparable)",
    )
    parser.add_argument(
        "--child-ingest", nargs=2, metavar=("TOML", "TIMINGS"), help=argparse.SUPPRESS
    )
    return parser


def _terminate(signum: int, _frame: object) -> None:
    """Unwind once, so the clean-up runs; a second signal must not interrupt the clean-up."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def _signals() -> Iterator[None]:
    previous = {sig: signal.signal(sig, _terminate) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def main() -> int:
    args = _parser().parse_args()
    if args.child_ingest:
        return child_ingest(args.child_ingest[0], args.child_ingest[1], args.profile)
    if args.messages < 1:
        raise SystemExit("--messages must be at least 1")
    with _signals():
        return benchmark(args)


if __name__ == "__main__":
    sys.exit(main())
