"""Similarity benchmark: precision and recall on labelled pairs, then index size and speed.

    .venv/bin/python benchmarks/similarity.py [--pairs FILE] [--texts N] [--seconds S]

1. Score every pair of each labelled set (``data/similarity/pairs.jsonl``, on which the
   thresholds were chosen, and ``heldout.jsonl``, written after they were fixed and never
   used to choose them) with ``similar.score_pairs``, and print
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


DATA = ROOT / "data" / "similarity"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--pairs", type=Path, action="append", help="a labelled set (default: both shipped)"
    )
    parser.add_argument("--texts", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv)

    started = time.perf_counter()
    from inbox_agent import similar

    print(f"import {time.perf_counter() - started:.2f} s")
    everything: list[LabelledPair] = []
    for path in args.pairs or [DATA / "pairs.jsonl", DATA / "heldout.jsonl"]:
        try:
            pairs = similar.load_pairs(path.read_text(encoding="utf-8").splitlines())
        except (OSError, ValueError) as exc:
            print(f"{path}: {exc}")
            return 1
        print(f"== {path.name}")
        _quality(pairs)
        everything += pairs
    _speed(everything, args.texts, args.seconds)
    return 0


def _quality(pairs: list[LabelledPair]) -> None:
    from inbox_agent import similar

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
        for step in range(-10, 11, 5):
            threshold = chosen + step / 100
            r = similar.at_threshold(pairs, scores, threshold, positive)
            print(f"    at {threshold:.2f}: precision {r.precision:.3f}, recall {r.recall:.3f}")


def _speed(pairs: list[LabelledPair], size: int, seconds: float) -> None:
    from inbox_agent.similar import RELATED, SimilarityIndex

    rng = random.Random(2027)
    sentences = [t for p in pairs for t in (p.a, p.b)]
    texts = [" ".join(rng.sample(sentences, 6)) for _ in range(size)]  # about 500 characters
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
    _register(texts)


def _register(texts: list[str]) -> None:
    """What the web UI pays, on a real SQLite register holding ``texts`` as cases: the index
    read cold, again unchanged (every page), after one new case; a case page's matches; the
    campaign groups."""
    import datetime as dt
    import tempfile

    from inbox_agent.register.db import Register
    from inbox_agent.register.models import Case
    from inbox_agent.transparency.campaigns import WINDOW, group_campaigns
    from inbox_agent.transparency.precedents import case_scores, register_index

    now = dt.datetime(2027, 4, 12, 9, 0, tzinfo=dt.UTC)

    def case(n: int, text: str) -> Case:
        return Case(
            reference=f"BEN-2027-{n:05d}",
            category="information_request",
            confidence=0.9,
            classifier_version="benchmark",
            date_of_contact=now,
            requester_email=f"r{n % 500}@example.org",
            subject="A question",
            information_sought=f"Dear team,\n\n{text}\n\nKind regards,\nA resident",
            date_added_to_register=now,
            updated_at=now,
        )

    with tempfile.TemporaryDirectory() as folder:
        register = Register(f"sqlite:///{folder}/register.sqlite3")
        with register.transaction() as session:
            session.add_all(case(n, t) for n, t in enumerate(texts[1:], 1))
        timings = []
        for label in ("cold", "unchanged"):
            with register.transaction() as session:
                started = time.perf_counter()
                index = register_index(session)
                timings.append(f"{label} {time.perf_counter() - started:.2f} s")
        with register.transaction() as session:
            session.add(case(len(texts), texts[0]))
        with register.transaction() as session:
            started = time.perf_counter()
            index = register_index(session)
            timings.append(f"one new case {time.perf_counter() - started:.2f} s")
            newest = session.get(Case, index.ids[0])
            assert newest is not None
            started = time.perf_counter()
            case_scores(index, newest)
            timings.append(f"one case's scores {time.perf_counter() - started:.3f} s")
        register.dispose()
    print(f"register index of {len(index.ids)} cases: {'; '.join(timings)}")
    started = time.perf_counter()
    groups = group_campaigns(index)
    print(
        f"campaign groups among the {WINDOW} newest: {len(groups)} in "
        f"{time.perf_counter() - started:.2f} s"
    )


if __name__ == "__main__":
    raise SystemExit(main())
