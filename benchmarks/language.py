"""Language detection benchmark: lingua's load time, memory, speed and accuracy on the corpus.

    .venv/bin/python benchmarks/language.py [--corpus DIR]

1. In a fresh child process for each mode (lingua's low-accuracy mode, which
   ``inbox_agent.language`` uses, and its full models), build an English + Welsh detector,
   detect one paragraph (the models load on first use), and print the time taken and the
   resident-memory increase.
2. In this process, read every corpus message as production does (``corpus.record_mail`` ->
   ``text.mail_text``: the sender's own words), detect its language with
   ``language.detect_language``, and print, per labelled language, how many came out Welsh,
   English or not known, and the messages per second.

A message the corpus marks Welsh ("language": "cy") should come out Welsh; an English one
English; "not known" means the reply would be bilingual in a Welsh office. Nothing is
asserted about speed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CHILD = """
import sys, time
from pathlib import Path
def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
from lingua import Language, LanguageDetectorBuilder
before, started = rss(), time.perf_counter()
builder = LanguageDetectorBuilder.from_languages(Language.ENGLISH, Language.WELSH)
if sys.argv[1] == "low":
    builder = builder.with_low_accuracy_mode()
detector = builder.build()
detector.compute_language_confidence_values("Hoffwn wneud cais am wybodaeth, os gwelwch yn dda.")
print(f"{time.perf_counter() - started:.2f} {rss() - before:.0f}")
"""


def load_figures(mode: str) -> tuple[float, float]:
    """Seconds and MB to build a detector and load its models, in a fresh process."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True
    ).stdout.split()
    return float(out[0]), float(out[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "data" / "corpus")
    args = parser.parse_args(argv)
    for mode, name in (("low", "low-accuracy mode (used)"), ("high", "full models")):
        seconds, megabytes = load_figures(mode)
        print(f"lingua {name}: load {seconds:.2f} s, +{megabytes:.0f} MB resident")

    from inbox_agent.classify.text import mail_text
    from inbox_agent.classify.training.corpus import load_corpus, record_mail
    from inbox_agent.language import Language, detect_language

    records = load_corpus(args.corpus)
    texts = [(r.language, mail_text(record_mail(r))) for r in records]
    detect_language("warm up")
    started = time.perf_counter()
    found = Counter((labelled, detect_language(text)) for labelled, text in texts)
    elapsed = time.perf_counter() - started
    print(f"\n{len(texts)} corpus messages, {len(texts) / elapsed:.0f} per second")
    print(f"{'labelled':<10} {'Welsh':>7} {'English':>8} {'unknown':>8}")
    for labelled in sorted({lang for lang, _ in texts}):
        row = [found[(labelled, d)] for d in (Language.WELSH, Language.ENGLISH, Language.UNKNOWN)]
        print(f"{labelled:<10} {row[0]:7d} {row[1]:8d} {row[2]:8d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
