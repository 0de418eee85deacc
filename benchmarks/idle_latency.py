"""IDLE latency benchmark: from a message's arrival in the mailbox to its acknowledgement.

    .venv/bin/python benchmarks/idle_latency.py [--messages N] [--every S] [--poll-interval P]

1. Start a private Dovecot and an SMTP sink (``tests/servers.py``) on 127.0.0.1.
2. Run the daemon (``inbox-agent --config <tmp.toml> run``, a child process) with IMAP IDLE
   on and a scheduled poll every P seconds (default 300, so only IDLE explains speed);
   acknowledgements go to the sink over SMTP.
3. Once the daemon is idling, APPEND N enquiries (default 30), one every S seconds (default 2),
   each from its own sender (so the per-sender daily limit never holds one back).
4. Note when each APPEND completed (arrival) and when the sink accepted the acknowledgement
   that answers it (matched by In-Reply-To); print p50, p95 and max of the difference.

Exit status 1 if an acknowledgement is missing after ``--timeout`` seconds. SIGTERM ends the
daemon; the temporary directory and the servers are removed, even on failure.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from email import message_from_bytes
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Protocol

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from support.profiles import INBOX, ImapAccount, base_config, imap_section, write_profile  # noqa: E402  (stdlib only)

START_LIMIT_S = 120.0
SINK_POLL_S = 0.005
BODIES = (
    (
        "FOI request",
        "Under the Freedom of Information Act 2000, please send me the total cost of the "
        "commissioner's office for 2025/26.",
    ),
    (
        "Deposit and nomination form",
        "How do I pay the deposit for the nomination and where is the nomination form handed in?",
    ),
    (
        "Neighbourhood policing figures",
        "I am a candidate. How many neighbourhood officers were there in each of the last two "
        "years, and what is the budget for them this year?",
    ),
)


class ImapClient(Protocol):
    def append(self, folder: str, msg: bytes) -> bytes: ...


class Dovecot(ImapAccount, Protocol):
    """What this script uses of ``tests/servers.py``'s ``DovecotServer``."""

    def start(self) -> None: ...
    def close(self) -> None: ...
    def client(self, user: str | None = None) -> contextlib.AbstractContextManager[ImapClient]: ...


class Received(Protocol):
    @property
    def data(self) -> bytes: ...


class Sink(Protocol):
    """What this script uses of ``tests/servers.py``'s ``SmtpSink``."""

    @property
    def host(self) -> str: ...
    @property
    def port(self) -> int: ...
    @property
    def messages(self) -> Sequence[Received]: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...


def start_servers(stack: contextlib.ExitStack) -> tuple[Dovecot, Sink]:
    servers = importlib.import_module("servers")  # tests/servers.py, not an installed package
    dovecot: Dovecot = servers.DovecotServer()
    stack.callback(dovecot.close)
    dovecot.start()
    sink: Sink = servers.SmtpSink()
    stack.callback(sink.stop)
    sink.start()
    return dovecot, sink


def write_config(path: Path, dovecot: Dovecot, sink: Sink, poll_interval: int) -> None:
    data: dict[str, dict[str, object]] = base_config(
        f"sqlite:///{path.parent / 'register.sqlite3'}"
    )
    data["imap"] = imap_section(dovecot, idle=True)
    data["poll"] = {"interval_seconds": poll_interval}
    data["smtp"] = {
        "host": sink.host,
        "port": sink.port,
        "security": "none",
        "from_address": INBOX,
        "timeout_seconds": 10.0,
    }
    write_profile(path, data)


def enquiry(i: int) -> tuple[str, bytes]:
    subject, body = BODIES[i % len(BODIES)]
    msg = EmailMessage()
    msg["From"] = f"Voter {i} <voter{i}@example.com>"
    msg["To"] = INBOX
    msg["Subject"] = f"{subject} ({i})"
    msg["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    msg["Message-ID"] = message_id = f"<idle-bench-{i}@example.com>"
    msg.set_content(body)
    return message_id, bytes(msg)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.05)


class AckCollector(threading.Thread):
    """Notes when each acknowledgement reaches the sink, keyed by the id it answers."""

    def __init__(self, sink: Sink) -> None:
        super().__init__(name="ack-collector", daemon=True)
        self.sink = sink
        self.seen_at: dict[str, float] = {}
        self.done = threading.Event()

    def run(self) -> None:
        count = 0
        while not self.done.is_set():
            messages = self.sink.messages
            now = time.monotonic()
            for received in messages[count:]:
                replied_to = message_from_bytes(received.data).get("In-Reply-To")
                if replied_to:
                    self.seen_at.setdefault(str(replied_to).strip(), now)
            count = len(messages)
            time.sleep(SINK_POLL_S)


@contextlib.contextmanager
def daemon(config: Path, log_file: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log_file.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "inbox_agent.cli", "--config", str(config), "run"],
            env={**os.environ, "INBOX_AGENT_CONFIG": str(config)},
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def run(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="idle-bench-")))
        dovecot, sink = start_servers(stack)
        config, log_file = work / "inbox-agent.toml", work / "daemon.log"
        write_config(config, dovecot, sink, args.poll_interval)
        collector = AckCollector(sink)
        collector.start()
        stack.callback(collector.done.set)
        proc = stack.enter_context(daemon(config, log_file))

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"the daemon exited:\n{log_file.read_text()}")
            text = log_file.read_text(encoding="utf-8", errors="replace")
            return "event=idle_watching" in text and "event=fetched" in text

        wait_for(ready, START_LIMIT_S, "the daemon to start idling")
        print(
            f"idle_latency: {args.messages} messages, one every {args.every:g}s, "
            f"poll every {args.poll_interval}s ...",
            flush=True,
        )
        arrived: dict[str, float] = {}
        with dovecot.client() as imap:
            started = time.monotonic()
            for i in range(args.messages):
                time.sleep(max(0.0, started + i * args.every - time.monotonic()))
                message_id, raw = enquiry(i)
                imap.append("INBOX", raw)
                arrived[message_id] = time.monotonic()
        with contextlib.suppress(TimeoutError):
            wait_for(lambda: len(collector.seen_at) >= len(arrived), args.timeout, "acks")
        latencies = [collector.seen_at[m] - t for m, t in arrived.items() if m in collector.seen_at]
        missing = len(arrived) - len(latencies)
        print(f"acknowledged={len(latencies)} missing={missing}")
        if latencies:
            print(f"latency_p50_s={percentile(latencies, 50):.3f}")
            print(f"latency_p95_s={percentile(latencies, 95):.3f}")
            print(f"latency_max_s={max(latencies):.3f}")
        text = log_file.read_text(encoding="utf-8", errors="replace")
        print(f"daemon_passes={text.count('event=fetched')}")
        return 1 if missing else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=30, help="messages to append (30)")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between appends (2)")
    parser.add_argument("--poll-interval", type=int, default=300, help="scheduled poll (300)")
    parser.add_argument("--timeout", type=float, default=60.0, help="wait for the last ack (60)")
    args = parser.parse_args(argv)
    if args.messages < 1 or args.every < 0 or args.poll_interval < 5:
        parser.error("--messages >= 1, --every >= 0, --poll-interval >= 5")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
