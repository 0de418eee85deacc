"""The trained text classifier: a blank English spaCy pipeline with one ``textcat``.

The model ships inside the package (``model/textcat/``, written by ``inbox-agent model train``)
and is loaded once per process, on first use. It reads two things, joined by ``model_input``:

* the text: ``text.mail_text`` (subject, the sender's own words, the forwarded original),
  lower-cased and with every digit written as 0, so "£5,000" and "£5000" share a shape and a
  capital letter does not make a new word, and with Welsh clitics apart (``text.
  separate_clitics``: "swyddfa'r" is "swyddfa 'r"), so a mutated article does not either;
* the rules' evidence, as made-up words (``evidence_words``): "zzruleelectoralprocess" when
  the electoral rules scored, "...strong" when they fired, "zzchose..." for the rules' answer.
  The model learns from the corpus how far to trust each rule, next to the words themselves;
  in two 5-fold cross-validations on train + dev (different folds) this lifted the model's
  macro-F1 from 0.88 to 0.92 and from 0.90 to 0.91 (``benchmarks/classify_cv.py``).

Training builds its docs with the same two functions. The version is a fingerprint of the
files the model was loaded from; their meta.json records the fingerprint of its corpus.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import cast

import spacy
from spacy.language import Language
from spacy.pipeline import TextCategorizer

from inbox_agent.classify import Category
from inbox_agent.classify.rules import THRESHOLD as RULE_THRESHOLD
from inbox_agent.classify.text import separate_clitics
from inbox_agent.spacy_memory import bounded_memory

log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).resolve().parent / "model" / "textcat"
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class TextModel:
    nlp: Language
    version: str  # "textcat-" + fingerprint of the model files
    labels: tuple[Category, ...]

    def scores(self, text: str, evidence: str = "") -> dict[Category, float]:
        """Each category's probability (they sum to 1 over the model's labels)."""
        with bounded_memory(self.nlp):  # once warm, the message's words are not kept
            cats = self.nlp(model_input(text, evidence)).cats
        return {Category(label): float(score) for label, score in cats.items()}


def model_input(text: str, evidence: str = "") -> str:
    """What the textcat reads: the text in lower case with digits as 0, then the evidence."""
    words = _DIGIT.sub("0", separate_clitics(text).lower())
    return f"{words}\n\n{evidence}" if evidence else words


def evidence_words(chosen: Category, rule_scores: Mapping[Category, float]) -> str:
    """The rules' evidence as words: per category scored, "zzrule<category>" (score >= 1) and
    "zzrule<category>strong" (score >= the rules' threshold); then "zzchose<category>"."""
    words: list[str] = []
    for category, score in sorted(rule_scores.items()):
        name = category.value.replace("_", "")
        if score >= RULE_THRESHOLD:
            words.append(f"zzrule{name}strong")
        if score >= 1.0:
            words.append(f"zzrule{name}")
    words.append(f"zzchose{chosen.value.replace('_', '')}")
    return " ".join(words)


def load_model(path: Path) -> TextModel:
    """Load a trained pipeline from ``path``; its version fingerprints its files."""
    nlp = spacy.load(path)
    textcat = cast(TextCategorizer, nlp.get_pipe("textcat"))
    labels = tuple(Category(label) for label in textcat.labels)
    return TextModel(nlp, f"textcat-{model_fingerprint(path)}", labels)


def model_fingerprint(path: Path) -> str:
    """sha256 over the model's files (meta.json carries the corpus fingerprint), 12 hex digits."""
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(file.relative_to(path).as_posix().encode() + b"\x00")
        digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


@cache
def shipped_model() -> TextModel | None:
    """The packaged model, or None when the package was built without one (rules only)."""
    if not (MODEL_DIR / "meta.json").is_file():
        log.warning("event=no_textcat_model path=%s: classifying by rules only", MODEL_DIR)
        return None
    return load_model(MODEL_DIR)
