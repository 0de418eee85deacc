"""Classification benchmark: throughput on one core, model load time and memory.

    .venv/bin/python benchmarks/classify.py [--corpus DIR] [--seconds S] [--model DIR]

1. Pin this process to one CPU and to one BLAS/OpenMP thread, before numpy is imported.
2. Import the classifier (spaCy with it) and time it; read the RSS.
3. Load the shipped textcat (``textcat.load_model``) and time it; the RSS increase is the
   model's memory. Build the rules' PhraseMatcher (first use) and time that too.
4. Parse the corpus's messages (every split: nothing is tuned here) ahead of time, then
   classify them round-robin for ``--seconds`` (``classify_with_model``, the body of
   ``classify_message``: header rules, text rules, textcat, fusion) and print messages/second
   by the wall clock and per CPU-second (the honest figure on a busy machine), with the median
   and 95th-percentile latency.

Only standard-library modules are imported at the top, so the figures are the classifier's.
Nothing is asserted about speed; the run fails only if the model is missing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")


def rss_mb() -> float:
    """Resident set size now, from /proc (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def folder_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / (1024 * 1024)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "data" / "corpus")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--model", type=Path, help="model folder (default: the shipped one)")
    args = parser.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    print(f"python {sys.version.split()[0]}, one CPU, RSS at start {rss_mb():.0f} MB")

    started = time.perf_counter()
    from inbox_agent.classify import classifier, rules, textcat

    print(f"import classifier (spaCy included): {time.perf_counter() - started:.2f} s")
    before = rss_mb()
    model_dir = args.model or textcat.MODEL_DIR
    if not (model_dir / "meta.json").is_file():
        print(f"no model at {model_dir}: run `inbox-agent model train` first", file=sys.stderr)
        return 1
    started, cpu_started = time.perf_counter(), time.process_time()
    model = textcat.load_model(model_dir)
    load_s, load_cpu = time.perf_counter() - started, time.process_time() - cpu_started
    print(
        f"model load: {load_s:.3f} s ({load_cpu:.3f} CPU-s; {model.version}, "
        f"{folder_mb(model_dir):.1f} MB on disk)"
    )
    print(f"model memory: RSS +{rss_mb() - before:.1f} MB (now {rss_mb():.0f} MB)")
    started = time.perf_counter()
    rules.classify_text("warm up", "Where do I hand in my nomination papers?")
    print(f"rules first use (PhraseMatcher build): {time.perf_counter() - started:.3f} s")

    mails = _messages(args.corpus)
    chars = statistics.mean(len(m.subject) + len(m.request_text) for m in mails)
    print(f"messages: {len(mails)} from {args.corpus}, mean {chars:.0f} characters")
    own = frozenset({"spoc@opcc.example.org"})
    for mail in mails[:50]:
        classifier.classify_with_model(mail, own, model)
    latencies: list[float] = []
    deadline = time.perf_counter() + args.seconds
    index = 0
    cpu_started = time.process_time()
    while time.perf_counter() < deadline:
        mail = mails[index % len(mails)]
        t0 = time.perf_counter()
        classifier.classify_with_model(mail, own, model)
        latencies.append(time.perf_counter() - t0)
        index += 1
    cpu = time.process_time() - cpu_started
    total = sum(latencies)
    quantiles = statistics.quantiles(latencies, n=20)
    print(
        f"throughput: {len(latencies) / total:.0f} messages/s on one core by the wall clock, "
        f"{len(latencies) / cpu:.0f} per CPU-second ({len(latencies)} classifications; median "
        f"{statistics.median(latencies) * 1000:.2f} ms, p95 {quantiles[18] * 1000:.2f} ms; "
        f"load average {os.getloadavg()[0]:.1f})"
    )
    print(f"peak RSS {_peak_mb():.0f} MB")
    return 0


def _messages(corpus: Path) -> list[Any]:
    """The corpus's messages as parsed mail; the test fixtures when there is no corpus."""
    from inbox_agent.classify.training.corpus import load_corpus, record_mail
    from inbox_agent.parse import parse_message

    if corpus.is_dir() and any(corpus.glob("*.jsonl")):
        return [record_mail(r) for r in load_corpus(corpus)]
    files = sorted((ROOT / "tests" / "data" / "eml").glob("*.eml"))
    return [parse_message(p.read_bytes()) for p in files]


def _peak_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    sys.exit(main())
