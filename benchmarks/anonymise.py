"""Anonymisation benchmark: recall and over-redaction on the test corpus, and throughput.

    .venv/bin/python benchmarks/anonymise.py [--corpus DIR] [--seconds S] [--verbose]

1. Load the corpus (``tests/data/anonymise/*.json``: texts with the exact strings that must
   be redacted) and build the anonymiser for its lexicon; time both.
2. Score it: recall (expected strings wholly redacted), over-redaction (share of redacted
   characters outside every expected string) and wrong spans; ``--verbose`` lists them.
3. Run ``Anonymiser.find`` over the texts round-robin for ``--seconds`` and print texts per
   second with the median and 95th-percentile latency.

Nothing is asserted about speed; the exit status is 1 when recall is below 100%.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "data" / "anonymise")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--verbose", action="store_true", help="list misses and wrong spans")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    from inbox_agent.transparency.anonymise import Anonymiser, load_corpus, score_corpus

    imported = time.perf_counter()
    lexicon, texts = load_corpus(args.corpus)
    anonymiser = Anonymiser(lexicon)
    built = time.perf_counter()
    score = score_corpus(anonymiser, texts)
    print(f"import {imported - started:.2f} s; corpus + pipeline {built - imported:.2f} s")
    print(
        f"corpus: {score.texts} texts, {score.expected} identifiers to redact, "
        f"{len(lexicon.names)} names / {len(lexicon.parties)} parties in the lexicon"
    )
    print(f"recall: {score.recall:.1%} ({score.caught}/{score.expected})")
    print(
        f"over-redaction: {score.over_redaction:.1%} of redacted characters "
        f"({score.over_chars}/{score.redacted_chars}); "
        f"{score.false_spans} of {score.spans} spans redact nothing expected"
    )
    if args.verbose:
        for line in score.missed:
            print(f"  missed: {line}")
        for line in score.false_positives:
            print(f"  over-redacted: {line}")

    latencies: list[float] = []
    chars = 0
    deadline = time.perf_counter() + args.seconds
    i = 0
    while time.perf_counter() < deadline:
        item = texts[i % len(texts)]
        t0 = time.perf_counter()
        anonymiser.find(item.text, item.sender_names)
        latencies.append(time.perf_counter() - t0)
        chars += len(item.text)
        i += 1
    total = sum(latencies)
    p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) >= 20 else max(latencies)
    print(
        f"throughput: {len(latencies) / total:.0f} texts/s ({chars / total / 1000:.0f} kchar/s); "
        f"median {statistics.median(latencies) * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms"
    )
    return 0 if score.recall == 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
