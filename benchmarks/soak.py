"""Soak: many messages through a real Dovecot and a real SMTP server, in one long-lived process.

The daemon runs for weeks, so what matters is that memory levels off and the rate holds. This
feeds ``--messages`` generated messages (default 20,000) into a private Dovecot ``--every``
at a time (default 1,000), runs one pipeline pass per chunk in this process (fetch, register,
acknowledge, send to an aiosmtpd server), and prints the rate and the current RSS after each
chunk, then a summary. Usage::

    .venv/bin/python benchmarks/soak.py [--messages 20000] [--every 1000] [--seed 7]
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ingest  # the sibling benchmark owns the message factory and Dovecot set-up


def current_rss_mb() -> float:
    """Resident memory now (not the peak), from /proc: the figure that must level off."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def soak(args: argparse.Namespace) -> int:
    from inbox_agent.pipeline import Pipeline
    from inbox_agent.register.db import Register
    from inbox_agent.settings import load_settings

    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="inbox-agent-soak-")))
        server = ingest.start_dovecot(stack)
        servers = importlib.import_module("servers")
        sink = servers.SmtpSink()
        sink.start()
        stack.callback(sink.stop)
        db_url = f"sqlite:///{work / 'register.sqlite3'}"
        sections = ingest.ingest_config(work, server, db_url)
        sections["smtp"] = {
            "host": sink.host,
            "port": sink.port,
            "security": "none",
            "from_address": ingest.INBOX,
        }
        sections["actions"] = {"max_acknowledgements_per_sender_per_day": 100}
        ingest.write_config(work / "soak.toml", sections)
        settings = load_settings(work / "soak.toml")
        register = Register(settings.database.url)
        stack.callback(register.dispose)
        pipeline = Pipeline(settings, register)
        corpus = ingest.Corpus(args.seed)
        done, rss, started = 0, [current_rss_mb()], time.perf_counter()
        print(f"start rss_mb={rss[0]:.1f}", flush=True)
        while done < args.messages:
            count = min(args.every, args.messages - done)
            ingest.append_all(server, corpus.generate(count))
            t0 = time.perf_counter()
            report = pipeline.run_once()
            elapsed = time.perf_counter() - t0
            done += report.fetch.seen
            rss.append(current_rss_mb())
            print(
                f"messages={done} pass_msgs_per_s={count / elapsed:.1f} "
                f"cases={report.cases_opened} machine={report.machine} "
                f"sent={report.sent.sent} rss_mb={rss[-1]:.1f}",
                flush=True,
            )
            if report.fetch.seen != count:
                print(f"error: appended {count}, fetched {report.fetch.seen}", file=sys.stderr)
                return 1
        total = time.perf_counter() - started
        half = len(rss) // 2
        print(f"messages: {done}")
        print(f"emails_at_smtp_server: {len(sink.messages)}")
        print(f"overall_msgs_per_s: {done / total:.1f} (including APPEND)")
        print(f"rss_mb_first_chunk: {rss[1]:.1f}")
        print(f"rss_mb_last_chunk: {rss[-1]:.1f}")
        print(f"rss_growth_second_half_mb: {rss[-1] - rss[half]:.1f}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--every", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    return soak(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
