"""``inbox-agent model evaluate``: the figures, on the test split, next to a keyword baseline.

Each record goes through exactly the production path (``corpus.record_message`` ->
``parse_message`` -> the classifier), once for each system:

* **fused**: the shipped classifier (header rules, then text rules and textcat through
  ``fusion.py``);
* **textcat alone**: the model's top category (a diagnostic: what the fusion adds);
* **keyword baseline**: the same header rules and the PhraseMatcher keyword rules, no model.

For each: per-category precision / recall / F1, macro-F1 over the categories present in the
split, the confusion matrix, PARO forwards (electoral process at a confidence at or above
``cases.review_below_confidence``: precision and recall) and how the review threshold splits
the cases. On the test split, records pinned to test (the fresh hold-outs, see ``corpus.py``)
get their own tables after the hashed test split's, one hold-out file at a time. A group that
holds messages written in Welsh gets its Welsh messages' tables as well, so a Welsh office
sees its own figures beside the overall ones. Then machine-mail recall on the sisimai
bounces (every file must be automated).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from inbox_agent.classify import Category, Classification
from inbox_agent.classify.classifier import classify_with_model
from inbox_agent.classify.textcat import TextModel
from inbox_agent.classify.training.corpus import Record, record_message
from inbox_agent.classify.training.train import mail_example
from inbox_agent.errors import SenderError
from inbox_agent.parse import ParsedMail, parse_message

OWN = frozenset({"spoc@opcc.example.org"})
CORPORA_ENV = "INBOX_AGENT_CORPORA"
# other projects' bounces, auto-replies and malformed MIME, kept beside the checkout (never
# copied into it); $INBOX_AGENT_CORPORA points elsewhere for a checkout that stands alone
PUBLIC_CORPORA = Path(
    os.environ.get(CORPORA_ENV) or Path(__file__).resolve().parents[4] / "shared" / "corpora"
)
SISIMAI = PUBLIC_CORPORA / "sisimai" / "maildir"
SHORT = {
    Category.AUTOMATED: "aut",
    Category.SUBJECT_ACCESS_REQUEST: "sar",
    Category.FOI_REQUEST: "foi",
    Category.ELECTORAL_PROCESS: "ele",
    Category.MEETING_REQUEST: "mtg",
    Category.CONDUCT_CONCERN: "cnd",
    Category.MEDIA_ENQUIRY: "med",
    Category.INFORMATION_REQUEST: "inf",
    Category.OUT_OF_SCOPE: "oos",
}
Classifier = Callable[[ParsedMail], Classification]
# Issue 15's targets, printed beside every table's figures so a reader sees at once whether
# a group meets them: macro-F1, the weakest category's F1, and the precision of PARO forwards
# (a wrong one sends a person's mail to a third party).
TARGET_MACRO_F1 = 0.93
TARGET_CATEGORY_F1 = 0.85
TARGET_PARO_PRECISION = 0.98


@dataclass(frozen=True)
class CategoryScore:
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Scores:
    """How one system did on one set of records."""

    per_category: dict[Category, CategoryScore]
    macro_f1: float
    accuracy: float
    confusion: Counter[tuple[Category, Category]]
    paro_forwards: int
    paro_precision: float
    paro_recall: float
    review: int
    review_correct: int
    confident: int
    confident_correct: int


def score(
    gold: Sequence[Category], results: Sequence[Classification], review_below: float
) -> Scores:
    """Precision, recall and F1 per category; macro-F1 over the categories in ``gold``."""
    predicted = [r.category for r in results]
    confusion: Counter[tuple[Category, Category]] = Counter(zip(gold, predicted, strict=True))
    per_category = {c: _category_score(c, confusion) for c in Category if c in set(gold)}
    macro = sum(s.f1 for s in per_category.values()) / max(1, len(per_category))
    correct = sum(n for (g, p), n in confusion.items() if g is p)
    electoral = Category.ELECTORAL_PROCESS
    forwards = [
        g
        for g, r in zip(gold, results, strict=True)
        if r.category is electoral and r.confidence >= review_below
    ]
    review = [
        g is r.category for g, r in zip(gold, results, strict=True) if r.confidence < review_below
    ]
    sure = [
        g is r.category for g, r in zip(gold, results, strict=True) if r.confidence >= review_below
    ]
    return Scores(
        per_category=per_category,
        macro_f1=macro,
        accuracy=correct / max(1, len(gold)),
        confusion=confusion,
        paro_forwards=len(forwards),
        paro_precision=_ratio(sum(g is electoral for g in forwards), len(forwards)),
        paro_recall=_ratio(sum(g is electoral for g in forwards), gold.count(electoral)),
        review=len(review),
        review_correct=sum(review),
        confident=len(sure),
        confident_correct=sum(sure),
    )


def _category_score(c: Category, confusion: Counter[tuple[Category, Category]]) -> CategoryScore:
    tp = confusion[(c, c)]
    predicted = sum(n for (_, p), n in confusion.items() if p is c)
    support = sum(n for (g, _), n in confusion.items() if g is c)
    precision, recall = _ratio(tp, predicted), _ratio(tp, support)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return CategoryScore(precision, recall, f1, support)


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def parse_records(records: Sequence[Record]) -> list[ParsedMail]:
    return [parse_message(record_message(r)) for r in records]


def fused(model: TextModel | None) -> Classifier:
    return lambda mail: classify_with_model(mail, OWN, model)


def textcat_alone(model: TextModel) -> Classifier:
    """The model's top category (machine mail still from headers, as in production)."""

    def classify(mail: ParsedMail) -> Classification:
        machine = classify_with_model(mail, OWN, None)
        if machine.category is Category.AUTOMATED:
            return machine
        example = mail_example(mail, machine.category, "")  # the label is not read
        scores = model.scores(example.text, example.evidence)
        top = max(scores, key=lambda c: scores[c])
        return Classification(top, scores[top], (), model.version)

    return classify


def write_report(
    title: str, gold: Sequence[Category], scores: Scores, review_below: float, out: IO[str]
) -> None:
    """The per-category table, macro-F1, the confusion matrix, PARO and review figures."""
    print(f"\n== {title}", file=out)
    print(f"{'category':<24} {'prec':>6} {'rec':>6} {'f1':>6} {'n':>5}", file=out)
    for c, s in scores.per_category.items():
        row = f"{c.value:<24} {s.precision:6.3f} {s.recall:6.3f} {s.f1:6.3f} {s.support:5d}"
        print(row, file=out)
    print(f"macro-F1 {scores.macro_f1:.3f}   accuracy {scores.accuracy:.3f}", file=out)
    labels = [c for c in Category if c in scores.per_category or _predicted(scores, c)]
    print("confusion (rows: true, columns: predicted)", file=out)
    print("     " + "".join(f"{SHORT[c]:>5}" for c in labels), file=out)
    for g in labels:
        if g in scores.per_category:
            counts = "".join(f"{scores.confusion[(g, p)]:5d}" for p in labels)
            print(f"{SHORT[g]:<5}{counts}", file=out)
    print(
        f"PARO forwards (electoral_process at confidence >= {review_below:.2f}): "
        f"{scores.paro_forwards}, precision {scores.paro_precision:.3f}, "
        f"recall {scores.paro_recall:.3f}",
        file=out,
    )
    print(
        f"review (confidence < {review_below:.2f}): {scores.review} cases, "
        f"{scores.review_correct} correct ({_ratio(scores.review_correct, scores.review):.0%}); "
        f"the other {scores.confident}: {scores.confident_correct} correct "
        f"({_ratio(scores.confident_correct, scores.confident):.0%})",
        file=out,
    )
    print(target_line(scores), file=out)


def target_line(scores: Scores) -> str:
    """Each target beside the figure it judges, and whether the figure meets it."""
    below = [c.value for c, s in scores.per_category.items() if s.f1 < TARGET_CATEGORY_F1]
    parts = [
        f"macro-F1 {scores.macro_f1:.3f} >= {TARGET_MACRO_F1:.2f} "
        + _verdict(scores.macro_f1 >= TARGET_MACRO_F1),
        f"every category F1 >= {TARGET_CATEGORY_F1:.2f} "
        + (_verdict(not below) if scores.per_category else "(no categories)")
        + (f" (below: {', '.join(below)})" if below else ""),
    ]
    if scores.paro_forwards:
        parts.append(
            f"PARO precision {scores.paro_precision:.3f} >= {TARGET_PARO_PRECISION:.2f} "
            + _verdict(scores.paro_precision >= TARGET_PARO_PRECISION)
        )
    else:
        parts.append(f"PARO precision >= {TARGET_PARO_PRECISION:.2f} (no forwards)")
    return "targets: " + "; ".join(parts)


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def _predicted(scores: Scores, c: Category) -> bool:
    return any(p is c for (_, p), n in scores.confusion.items() if n)


@dataclass(frozen=True)
class MachineRecall:
    files: int
    automated: int
    quarantined: int
    missed: tuple[str, ...]


def machine_recall(folder: Path = SISIMAI, classify: Classifier | None = None) -> MachineRecall:
    """Every bounce, ARF report and auto-reply in sisimai's bsd/ and err/ must be automated."""
    classify = classify or fused(None)
    files = sorted(p for sub in ("bsd", "err") for p in (folder / sub).glob("*") if p.is_file())
    automated = quarantined = 0
    missed: list[str] = []
    for path in files:
        try:
            mail = parse_message(path.read_bytes())
        except SenderError:
            quarantined += 1
            continue
        if classify(mail).category is Category.AUTOMATED:
            automated += 1
        else:
            missed.append(path.name)
    return MachineRecall(len(files), automated, quarantined, tuple(missed))


def run_evaluation(
    records: Sequence[Record],
    split: str,
    model: TextModel | None,
    review_below: float,
    out: IO[str],
    *,
    limit: int | None = None,
    sisimai: Path | None = SISIMAI,
) -> dict[str, Scores]:
    """Print every table for ``split`` of ``records``; return the scores by system."""
    _print_split_counts(records, out)
    chosen = sorted((r for r in records if r.split == split), key=lambda r: r.id)[:limit]
    hashed = [r for r in chosen if not r.pinned]
    fresh = [r for r in chosen if r.pinned]
    if model is None:
        print("no trained model: the fused classifier is the rules alone", file=out)
    else:
        print(f"model {model.version} ({', '.join(c.value for c in model.labels)})", file=out)
    results: dict[str, Scores] = {}
    for name, prefix, group in _groups(split, hashed, fresh):
        welsh = [r for r in group if r.language == "cy"]
        parts = [(name, prefix, group)]
        if welsh and len(welsh) < len(group):
            parts.append((f"{name}, Welsh messages only", f"{prefix}welsh ", welsh))
        for title_of, key_prefix, records_of in parts:
            scores_by_system = _evaluate_group(title_of, records_of, model, review_below, out)
            for title, scores in scores_by_system.items():
                results[key_prefix + title] = scores
    if sisimai is not None and not (sisimai / "bsd").is_dir():
        print(
            f"\nmachine mail: no sisimai corpus at {sisimai} "
            f"(--sisimai DIR or ${CORPORA_ENV}): skipped",
            file=out,
        )
    elif sisimai is not None:
        recall = machine_recall(sisimai, fused(model))
        print(
            f"\nmachine mail (sisimai bsd/ + err/): {recall.files} files, {recall.automated} "
            f"automated, {recall.quarantined} quarantined, recall "
            f"{_ratio(recall.automated, recall.files):.3f}"
            + (f"; missed: {', '.join(recall.missed)}" if recall.missed else ""),
            file=out,
        )
    return results


def _groups(
    split: str, hashed: Sequence[Record], fresh: Sequence[Record]
) -> list[tuple[str, str, list[Record]]]:
    """The hashed split, then each hold-out file's records: (title, result key prefix, records).

    The first hold-out keeps the title and key it always had; later files are named by file.
    """
    groups = [(split, "", list(hashed))]
    by_file: dict[str, list[Record]] = {}
    for record in fresh:
        by_file.setdefault(record.source.split(":", 1)[0], []).append(record)
    for i, (file, records) in enumerate(sorted(by_file.items())):
        title = "the fresh hold-out (pinned to test)"
        if i:
            title = f"the fresh hold-out {file} (pinned to test)"
        groups.append((title, "hold-out " if not i else f"hold-out {file} ", records))
    return groups


def _evaluate_group(
    name: str,
    records: Sequence[Record],
    model: TextModel | None,
    review_below: float,
    out: IO[str],
) -> dict[str, Scores]:
    """Every system's tables for one group of records."""
    gold = [r.label for r in records]
    mails = parse_records(records)
    counts = ", ".join(f"{c.value} {n}" for c, n in sorted(Counter(gold).items()))
    print(f"\nevaluating on {name}: {len(records)} messages ({counts})", file=out)
    systems: list[tuple[str, Classifier]] = []
    if model is not None:
        systems += [
            ("fused: rules + textcat", fused(model)),
            ("textcat alone", textcat_alone(model)),
        ]
    systems.append(("keyword baseline: header rules + PhraseMatcher keywords", fused(None)))
    results: dict[str, Scores] = {}
    for title, classify in systems:
        scores = score(gold, [classify(m) for m in mails], review_below)
        write_report(title, gold, scores, review_below, out)
        results[title.split(":")[0]] = scores
    return results


def _print_split_counts(records: Sequence[Record], out: IO[str]) -> None:
    by_label: Counter[tuple[str, Category]] = Counter((r.split, r.label) for r in records)
    print(f"corpus: {len(records)} messages; per split and category:", file=out)
    pinned = Counter(r.label for r in records if r.pinned)
    print(f"{'category':<24} {'train':>6} {'dev':>6} {'test':>6} {'(fresh)':>8}", file=out)
    for c in Category:
        row = [by_label[(s, c)] for s in ("train", "dev", "test")]
        if any(row):
            row[2] -= pinned[c]
            print(f"{c.value:<24} {row[0]:6d} {row[1]:6d} {row[2]:6d} {pinned[c]:8d}", file=out)
