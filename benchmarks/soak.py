"""Soak: many messages through a real Dovecot and a real SMTP server, in one long-lived process.

The daemon runs for weeks, so what matters is that memory levels off and the rate holds. This
feeds ``--messages`` generated messages (default 20,000) into a private Dovecot ``--every``
at a time (default 1,000), runs one pipeline pass per chunk in this process (fetch, register,
acknowledge, send to an aiosmtpd server), and prints the rate and the current RSS after each
chunk, then a summary. Usage::

    .venv/bin/python benchmarks/soak.py [--messages 20000] [--every 1000] [--seed 7]
    .venv/bin/python benchmarks/soak.py --messages 5000 --malloc-trim   # heap kept vs live

Only the pipeline may grow here, so the harness keeps nothing per message: a chunk is made and
APPENDed ``APPEND_SLICE`` messages at a time (a whole chunk is 70 MB, which would set this
process's heap high-water mark for it), and the SMTP sink is emptied after each pass.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import ingest  # the sibling benchmark owns the message factory and Dovecot set-up

sys.path.insert(0, str(ingest.ROOT / "tests"))
from support.profiles import INBOX, write_profile

APPEND_SLICE = 50  # as many messages as one fetch batch holds


def current_rss_mb() -> float:
    """Resident memory now (not the peak), from /proc: the figure that must level off."""
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def spacy_strings() -> int:
    """Strings held by the classifier's two spaCy pipelines: grows per new word unless the
    pipelines read in memory zones (``inbox_agent.spacy_memory``)."""
    from inbox_agent.classify import rules, textcat

    model = textcat.shipped_model()
    held = len(rules._pipeline().nlp.vocab.strings)
    return held + (len(model.nlp.vocab.strings) if model is not None else 0)


def malloc_trim() -> None:
    """Hand free heap back to the kernel (glibc): the RSS after it is memory still in use, so
    what a trim removes was fragmentation or the allocator's high-water mark, not a leak."""
    ctypes.CDLL("libc.so.6").malloc_trim(0)


def feed(server: ingest.Dovecot, corpus: ingest.Corpus, count: int) -> None:
    """APPEND a chunk a slice at a time: the figures are the pipeline's, not the factory's."""
    for first in range(0, count, APPEND_SLICE):
        ingest.append_all(server, corpus.generate(min(APPEND_SLICE, count - first), first))


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
            "from_address": INBOX,
        }
        sections["actions"] = {"max_acknowledgements_per_sender_per_day": 100}
        write_profile(work / "soak.toml", sections)
        settings = load_settings(work / "soak.toml")
        register = Register(settings.database.url)
        stack.callback(register.dispose)
        pipeline = Pipeline(settings, register)
        corpus = ingest.Corpus(args.seed)
        done, received, started = 0, 0, time.perf_counter()
        rss, strings = [current_rss_mb()], [0]
        print(f"start rss_mb={rss[0]:.1f}", flush=True)
        while done < args.messages:
            count = min(args.every, args.messages - done)
            feed(server, corpus, count)
            t0 = time.perf_counter()
            report = pipeline.run_once()
            elapsed = time.perf_counter() - t0
            done += report.fetch.seen
            received += len(sink.messages)
            sink.clear()  # the daemon keeps no sent mail; the sink must not either
            rss.append(current_rss_mb())
            strings.append(spacy_strings())
            trimmed = ""
            if args.malloc_trim:
                malloc_trim()
                trimmed = f" rss_after_trim_mb={current_rss_mb():.1f}"
            print(
                f"messages={done} pass_msgs_per_s={count / elapsed:.1f} "
                f"cases={report.cases_opened} machine={report.machine} "
                f"sent={report.sent.sent} rss_mb={rss[-1]:.1f}{trimmed} "
                f"spacy_strings={strings[-1]}",
                flush=True,
            )
            if report.fetch.seen != count:
                print(f"error: appended {count}, fetched {report.fetch.seen}", file=sys.stderr)
                return 1
        total = time.perf_counter() - started
        half = len(rss) // 2
        print(f"messages: {done}")
        print(f"emails_at_smtp_server: {received}")
        print(f"overall_msgs_per_s: {done / total:.1f} (including APPEND)")
        print(f"rss_mb_first_chunk: {rss[1]:.1f}")
        print(f"rss_mb_last_chunk: {rss[-1]:.1f}")
        print(f"rss_mb_max: {max(rss):.1f}")
        print(f"rss_growth_second_half_mb: {rss[-1] - rss[half]:.1f}")
        print(f"spacy_strings_growth_second_half: {strings[-1] - strings[half]}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--every", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--malloc-trim",
        action="store_true",
        help="after each chunk, return free heap to the kernel and print the RSS after it",
    )
    return soak(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())
