"""``inbox-agent model train``: rebuild the shipped textcat from the corpus, reproducibly.

The corpus's train split (plus staff corrections, when asked) becomes a spaCy DocBin, its dev
split another, and spaCy's own ``train`` (``spacy.cli.train.train``, in process) fits the
config in ``model/`` with its fixed seed, keeping the checkpoint that scores best on dev. The
test split is never read here. The result replaces ``model/textcat/`` only once it is complete,
and its ``meta.json`` records the architecture, the seed, the example counts and the corpus
fingerprint, so the same corpus and config give the same files and the same version.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import spacy
from spacy.tokens import DocBin
from thinc.api import Config

from inbox_agent.classify import Category
from inbox_agent.classify.rules import rule_evidence
from inbox_agent.classify.text import classify_subject, mail_text
from inbox_agent.classify.textcat import (
    MODEL_DIR,
    evidence_words,
    model_fingerprint,
    model_input,
)
from inbox_agent.classify.training.corpus import Record, by_split, corpus_digest, record_mail
from inbox_agent.errors import OperatorError
from inbox_agent.parse import ParsedMail

CONFIG_DIR = Path(__file__).resolve().parent.parent / "model"
ARCHITECTURES = {
    "bow": CONFIG_DIR / "config.cfg",
    "ensemble": CONFIG_DIR / "config-ensemble.cfg",
    "cnn": CONFIG_DIR / "config-cnn.cfg",
}


@dataclass(frozen=True)
class Example:
    """One labelled text as the model sees it; ``source`` says where it came from."""

    text: str
    label: Category
    source: str
    evidence: str = ""  # textcat.evidence_words for the message


def mail_example(mail: ParsedMail, label: Category, source: str) -> Example:
    """A parsed message as the classifier reads it: its text and the rules' evidence."""
    rules, rule_scores = rule_evidence(classify_subject(mail), mail.request_text)
    return Example(mail_text(mail), label, source, evidence_words(rules.category, rule_scores))


@dataclass(frozen=True)
class TrainReport:
    output: Path
    version: str
    architecture: str
    train_counts: dict[str, int]
    dev_counts: dict[str, int]
    dev_macro_f: float


def record_examples(records: Iterable[Record]) -> list[Example]:
    return [mail_example(record_mail(r), r.label, f"corpus:{r.id}") for r in records]


def split_examples(records: Sequence[Record]) -> tuple[list[Example], list[Example]]:
    """The train and dev examples of a corpus; test records are left out."""
    grouped = by_split(records)
    return record_examples(grouped["train"]), record_examples(grouped["dev"])


def train_textcat(
    train: Sequence[Example],
    dev: Sequence[Example],
    output: Path = MODEL_DIR,
    *,
    architecture: str = "bow",
    overrides: dict[str, Any] | None = None,
) -> TrainReport:
    """Train with spaCy's ``train`` and install the best checkpoint at ``output``."""
    if architecture not in ARCHITECTURES:
        raise OperatorError(f"model train: unknown architecture {architecture!r}")
    if not train or not dev:
        raise OperatorError("model train: the train and dev splits must both have examples")
    labels = sorted({e.label.value for e in (*train, *dev)})
    with tempfile.TemporaryDirectory(prefix="inbox-agent-train-") as tmp:
        work = Path(tmp)
        _docbin(train, labels).to_disk(work / "train.spacy")
        _docbin(dev, labels).to_disk(work / "dev.spacy")
        _run_spacy_train(ARCHITECTURES[architecture], work, overrides or {})
        best = work / "out" / "model-best"
        _clean_config(best / "config.cfg")
        meta = _annotate_meta(best, architecture, train, dev)
        _install(best, output)
    return TrainReport(
        output=output,
        version=f"textcat-{model_fingerprint(output)}",
        architecture=architecture,
        train_counts=meta["inbox_agent"]["train_examples"],
        dev_counts=meta["inbox_agent"]["dev_examples"],
        dev_macro_f=float(meta.get("performance", {}).get("cats_macro_f", 0.0)),
    )


def _docbin(examples: Sequence[Example], labels: list[str]) -> DocBin:
    nlp = spacy.blank("en")
    docs = DocBin(store_user_data=False)
    for example in examples:
        doc = nlp.make_doc(model_input(example.text, example.evidence))
        doc.cats = {label: float(label == example.label.value) for label in labels}
        docs.add(doc)
    return docs


def _run_spacy_train(config: Path, work: Path, overrides: dict[str, Any]) -> None:
    from spacy.cli.train import train

    settings = {
        "paths.train": str(work / "train.spacy"),
        "paths.dev": str(work / "dev.spacy"),
        **overrides,
    }
    train(config, work / "out", use_gpu=-1, overrides=settings)


def _clean_config(path: Path) -> None:
    """The saved config names the temporary DocBins; they are gone, and they would make two
    identical trainings differ, so the paths go back to null."""
    config = Config().from_disk(path, interpolate=False)
    config["paths"]["train"] = None
    config["paths"]["dev"] = None
    config.to_disk(path)


def _annotate_meta(
    model: Path, architecture: str, train: Sequence[Example], dev: Sequence[Example]
) -> dict[str, Any]:
    meta_path = model / "meta.json"
    meta: dict[str, Any] = json.loads(meta_path.read_text(encoding="utf-8"))
    meta["name"] = "inbox_agent_textcat"
    meta["description"] = "OPCC election inbox categories; see data/corpus/GUIDE.md"
    meta["inbox_agent"] = {
        "architecture": architecture,
        "corpus_sha256": corpus_digest(
            (f"{e.text}\n\n{e.evidence}", e.label.value) for e in (*train, *dev)
        ),
        "train_examples": dict(sorted(Counter(e.label.value for e in train).items())),
        "dev_examples": dict(sorted(Counter(e.label.value for e in dev).items())),
        "corrections": sum(1 for e in train if e.source.startswith("correction:")),
    }
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return meta


def _install(model: Path, output: Path) -> None:
    """Copy beside the target, then swap: a reader never sees half a model."""
    output.parent.mkdir(parents=True, exist_ok=True)
    staging = output.with_name(output.name + ".new")
    old = output.with_name(output.name + ".old")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)
    shutil.copytree(model, staging)
    if output.exists():
        output.rename(old)
    staging.rename(output)
    shutil.rmtree(old, ignore_errors=True)


def run_training(
    records: Sequence[Record],
    out: IO[str],
    *,
    corrections: Sequence[Example] = (),
    architecture: str = "bow",
    output: Path = MODEL_DIR,
) -> TrainReport:
    """Train on the corpus's train split (plus corrections), select on dev, print a summary."""
    train, dev = split_examples(records)
    report = train_textcat([*train, *corrections], dev, output, architecture=architecture)
    print(
        f"trained {report.version} ({architecture}) on {sum(report.train_counts.values())} "
        f"examples ({len(corrections)} staff corrections), dev macro-F1 "
        f"{report.dev_macro_f:.3f}; installed at {output}",
        file=out,
    )
    return report
