"""Bounded spaCy memory for a process that reads mail for weeks.

spaCy keeps every string it has ever seen: each new word a tokeniser meets gets a lexeme and
a StringStore entry, and each new whitespace-separated chunk a tokeniser cache entry, for the
life of the ``Language``. The pipelines here are built once per process (``functools.cache``),
and mail is open vocabulary (names, addresses, reference numbers, URLs, typos), so without
care the daemon and the web UI grow with every message they read.

Inside ``nlp.memory_zone()`` those allocations are transient and freed when the zone closes;
what the pipeline was built with (the rules' phrases, the model's strings) stays. A zone
costs time, though: it rebuilds the lexeme of every word that is not permanent and does not
fill the tokeniser cache, which made classification three times slower. So, as spaCy's
release notes advise, a pipeline reads its first ``WARM_UP_TEXTS`` texts outside a zone:
their words (the office's everyday vocabulary) stay, a fixed amount, and every later text is
read in a zone, so only words met for the first time cost extra and nothing accumulates.

Two rules follow from spaCy's design, and ``bounded_memory`` keeps both:

* nothing spaCy allocated in the zone may be used after it (a ``Doc``, a ``Token``, a
  ``Span``): callers copy what they need into Python values before the block ends, and build
  their cached pipelines before entering it;
* a zone belongs to the whole ``Vocab``: while one thread is in it, every lexeme any thread
  creates is transient. The scheduler classifies in a thread pool and the web UI anonymises
  in request threads, so each pipeline is used by one thread at a time.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from spacy.language import Language

WARM_UP_TEXTS = 1_000  # per pipeline; a few MB of lexemes and tokeniser cache


@dataclass
class _Reader:
    """One pipeline's lock, how many texts it has read, and whether its zone is open."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    texts: int = 0
    in_zone: bool = False  # only the thread holding ``lock`` sees or changes it


_READERS: weakref.WeakKeyDictionary[Language, _Reader] = weakref.WeakKeyDictionary()
_READERS_GUARD = threading.Lock()


def _reader_for(nlp: Language) -> _Reader:
    with _READERS_GUARD:
        reader = _READERS.get(nlp)
        if reader is None:
            reader = _READERS[nlp] = _Reader()
        return reader


@contextmanager
def bounded_memory(nlp: Language) -> Iterator[None]:
    """Read one text with ``nlp`` in the block, keeping its words only while warming up.

    spaCy's zones must not nest; a block already in a zone of ``nlp`` on this thread joins it,
    so a caller may hold one block around many texts.
    """
    reader = _reader_for(nlp)
    with reader.lock:
        if reader.in_zone:  # this thread's own zone, further up the stack
            yield
        elif reader.texts < WARM_UP_TEXTS:
            reader.texts += 1
            yield
        else:
            with nlp.memory_zone():
                reader.in_zone = True
                try:
                    yield
                finally:
                    reader.in_zone = False
