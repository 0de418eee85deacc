"""Similarity benchmark: precision and recall on labelled pairs, then index size and speed.

    .venv/bin/python benchmarks/similarity.py [--pairs FILE] [--texts N] [--seconds S]

1. Score every pair of ``data/similarity/pairs.jsonl`` (``similar.score_pairs``) and print
   precision and recall of "the same question" (paraphrases against the rest) at
   ``similar.SAME_QUESTION``, of "related" (paraphrases and same-topic pairs against the
   unrelated) at ``similar.RELATED``, and a sweep of thresholds around them.
2. Build an index of ``--texts`` request-like texts (the labelled texts recombined), print
   the build time and the sparse matrices' size, the latency of one query, and the time to
   find every near-duplicate pair (``pairs``), as the case page and campaign grouping do.

Nothing is asserted about speed; the exit status is 1 when the labelled set does not load.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inbox_agent.similar import LabelledPair

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pairs", type=Path, default=ROOT / "data" / "similarity" / "pairs.jsonl")
    parser.add_argument("--texts", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    from inbox_agent import similar

    print(f"import {time.perf_counter() - started:.2f} s")
    try:
        pairs = similar.load_pairs(args.pairs.read_text(encoding="utf-8").splitlines())
    except (OSError, ValueError) as exc:
        print(f"{args.pairs}: {exc}")
        return 1
    scores = similar.score_pairs(pairs)
    counts = {k: sum(p.kind == k for p in pairs) for k in similar.KINDS}
    print(f"pairs: {len(pairs)} ({', '.join(f'{v} {k}' for k, v in counts.items())})")
    for kind in similar.KINDS:
        mine = [s for p, s in zip(pairs, scores, strict=True) if p.kind == kind]
        print(
            f"  {kind:<11} score median {statistics.median(mine):.3f}, "
            f"min {min(mine):.3f}, max {max(mine):.3f}"
        )
    tasks = (
        ("same question", {similar.PARAPHRASE}, similar.SAME_QUESTION),
        ("related", {similar.PARAPHRASE, similar.SAME_TOPIC}, similar.RELATED),
    )
    for name, positive, chosen in tasks:
        result = similar.at_threshold(pairs, scores, chosen, positive)
        print(
            f"{name} at {chosen:.2f}: precision {result.precision:.3f}, recall "
            f"{result.recall:.3f} (tp {result.true_positives}, fp {result.false_positives}, "
            f"fn {result.false_negatives})"
        )
        sweep = [chosen + step / 100 for step in range(-10, 11, 5)]
        for threshold in sweep:
            r = similar.at_threshold(pairs, scores, threshold, positive)
            print(f"    at {threshold:.2f}: precision {r.precision:.3f}, recall {r.recall:.3f}")
    _speed(pairs, args.texts, args.seconds)
    return 0


def _speed(pairs: list[LabelledPair], size: int, seconds: float) -> None:
    from inbox_agent.similar import RELATED, SimilarityIndex

    rng = random.Random(2027)
    sentences = [t for p in pairs for t in (p.a, p.b)]
    texts = [" ".join(rng.sample(sentences, 3)) for _ in range(size)]
    started = time.perf_counter()
    index = SimilarityIndex(texts)
    built = time.perf_counter() - started
    nbytes = index.memory_bytes
    print(f"index of {size} texts: built in {built:.2f} s, {nbytes / 2**20:.1f} MiB of matrices")
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline and len(latencies) < 10_000:
        query = rng.choice(sentences)
        began = time.perf_counter()
        index.nearest(query, limit=5, threshold=RELATED)
        latencies.append(time.perf_counter() - began)
    latencies.sort()
    print(
        f"query: median {statistics.median(latencies) * 1000:.1f} ms, 95th percentile "
        f"{latencies[int(len(latencies) * 0.95)] * 1000:.1f} ms ({len(latencies)} queries)"
    )
    started = time.perf_counter()
    found = sum(1 for _ in index.pairs(0.8))
    print(f"all pairs >= 0.80: {found} in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    raise SystemExit(main())
