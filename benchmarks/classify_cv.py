"""Cross-validation of the textcat's input, on train + dev only (never test).

    .venv/bin/python benchmarks/classify_cv.py [--folds 5] [--corpus DIR] [--architecture A]

The design choices in ``inbox_agent/classify/{textcat,fusion}.py`` were made with these
figures: for each variant of what the model reads, train on k-1 folds of train + dev (spaCy
keeps the best checkpoint on the held-out fold, as ``model train`` does on dev) and predict the
held-out fold; the out-of-fold predictions of all folds give macro-F1 and accuracy of the
model's top category (machine mail still from headers first), per variant:

* ``text``: the sender's own words only (``text.mail_text``);
* ``text+evidence``: the same plus the rules' evidence as words (``textcat.evidence_words``),
  which is what ships.

Then the fusion (``fusion.fuse``) is applied to the ``text+evidence`` predictions, with its
PARO-forward precision and recall, how the review threshold (0.5) splits the messages, and
each wrong PARO forward (what would have sent someone's mail to the PARO by mistake).
``--variants text+evidence`` skips the text-only run; ``--save FILE`` writes the out-of-fold
probabilities (JSON, by record id) so fusion constants can be tried on them without
retraining. Several minutes per variant on one core.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    from inbox_agent.classify import Category, Classification
    from inbox_agent.classify.fusion import fuse
    from inbox_agent.classify.machine import machine_reasons
    from inbox_agent.classify.rules import rule_evidence
    from inbox_agent.classify.textcat import load_model
    from inbox_agent.classify.training.corpus import by_split, load_corpus, record_mail
    from inbox_agent.classify.training.evaluation import score
    from inbox_agent.classify.training.train import Example, mail_example, train_textcat

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "data" / "corpus")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--architecture", default="bow")
    parser.add_argument("--variants", nargs="+", default=["text", "text+evidence"])
    parser.add_argument("--save", type=Path, help="write the out-of-fold scores here (JSON)")
    args = parser.parse_args(argv)
    grouped = by_split(load_corpus(args.corpus))
    pool = sorted(
        grouped["train"] + grouped["dev"],
        key=lambda r: hashlib.sha256(f"cv:{r.id}".encode()).hexdigest(),
    )
    mails = {r.id: record_mail(r) for r in pool}
    full = {r.id: mail_example(mails[r.id], r.label, r.id) for r in pool}
    variants = {
        "text": {k: Example(e.text, e.label, e.source) for k, e in full.items()},
        "text+evidence": full,
    }
    gold = [r.label for r in pool]
    machine = {r.id for r in pool if machine_reasons(mails[r.id], frozenset())}
    print(f"{len(pool)} messages of train + dev, {args.folds} folds, {args.architecture}")
    for name, examples in variants.items():
        if name not in args.variants:
            continue
        oof: dict[str, dict[Category, float]] = {}
        for fold in range(args.folds):
            held = [r for i, r in enumerate(pool) if i % args.folds == fold]
            fit = [r for i, r in enumerate(pool) if i % args.folds != fold]
            with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
                output = Path(tmp) / "textcat"
                train_textcat(
                    [examples[r.id] for r in fit],
                    [examples[r.id] for r in held],
                    output,
                    architecture=args.architecture,
                )
                model = load_model(output)
                for r in held:
                    oof[r.id] = model.scores(examples[r.id].text, examples[r.id].evidence)
        tops = []
        for r in pool:
            scores = oof[r.id]
            top = Category.AUTOMATED if r.id in machine else max(scores, key=lambda c: scores[c])
            tops.append(Classification(top, 1.0 if r.id in machine else scores[top], (), ""))
        result = score(gold, tops, 0.5)
        worst = min(s.f1 for s in result.per_category.values())
        print(
            f"{name:<14} model alone: macro-F1 {result.macro_f1:.3f}, accuracy "
            f"{result.accuracy:.3f}, lowest category F1 {worst:.3f}"
        )
        if name != "text+evidence":
            continue
        fused = []
        for r in pool:
            if r.id in machine:
                fused.append(Classification(Category.AUTOMATED, 1.0, (), ""))
                continue
            mail = mails[r.id]
            subject = mail.forwarded.subject if mail.forwarded is not None else mail.subject
            rules, rule_scores = rule_evidence(subject, mail.request_text)
            fused.append(fuse(rules, rule_scores, oof[r.id], "cv"))
        result = score(gold, fused, 0.5)
        print(
            f"{'fused':<14} macro-F1 {result.macro_f1:.3f}, accuracy {result.accuracy:.3f}; "
            f"PARO forwards {result.paro_forwards}, precision {result.paro_precision:.3f}, "
            f"recall {result.paro_recall:.3f}; below 0.5: {result.review} "
            f"({result.review_correct} correct), at or above: {result.confident} "
            f"({result.confident_correct} correct)"
        )
        for r, f in zip(pool, fused, strict=True):
            wrong = r.label is not Category.ELECTORAL_PROCESS
            if wrong and f.category is Category.ELECTORAL_PROCESS and f.confidence >= 0.5:
                print(f"  wrong PARO forward: {r.id} ({r.label.value}) at {f.confidence:.2f}")
        if args.save:
            saved = {k: {c.value: p for c, p in v.items()} for k, v in oof.items()}
            args.save.write_text(json.dumps(saved, indent=1, sort_keys=True), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
