"""A frozen vocabulary, built in one streaming pass, identical to scikit-learn's ``CountVectorizer``.

Why not ``CountVectorizer.fit``: it holds the whole document-term matrix of
the training corpus in memory before it prunes, which a million documents do
not allow.  Here the same analyzer (``build_analyzer()``: lower-casing, the
token pattern, scikit-learn's English stop words) runs over a stream, only a
document frequency and a total count per distinct term are kept, and the
pruning is then scikit-learn's own, step for step:

1. terms sorted alphabetically (``_sort_features``);
2. ``min_df``/``max_df`` (an int is a document count, a float a proportion of
   documents) keep terms with ``min_count <= df <= max_count``;
3. if more than ``vocab_size`` remain, the ``vocab_size`` with the largest
   total count, chosen with the same ``(-tfs).argsort()`` (so ties break
   exactly as scikit-learn breaks them), kept in alphabetical order.

So ``Vocabulary.build(docs, ...).words`` equals
``CountVectorizer(min_df, max_df, max_features=vocab_size,
stop_words="english").fit(docs).get_feature_names_out()``, which the tests
check.  After that the vocabulary is frozen: saved as ``vocabulary.json`` and
used unchanged for every later split, run and evaluation.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from numbers import Integral
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from dirvae.io.atomic import atomic_write_bytes

VOCABULARY_FILE = "vocabulary.json"
DEFAULT_VOCAB_SIZE = 2000
FORMAT = 1


@dataclass(frozen=True)
class VocabularySettings:
    """How the vocabulary was built; everything a later run needs to tokenise the same way."""

    vocab_size: int | None = DEFAULT_VOCAB_SIZE
    min_df: float | int = 2
    max_df: float | int = 0.5
    lowercase: bool = True
    token_pattern: str = r"(?u)\b[^\W\d_][^\W\d_]+\b"
    """Words of two or more letters: digits and underscores split words and are dropped (numbers carry no topic)."""
    stop_words: str | None = "english"

    def vectorizer(self, vocabulary: Iterable[str] | None = None) -> CountVectorizer:
        """scikit-learn's vectoriser with these settings (fixed to ``vocabulary`` when given)."""
        return CountVectorizer(
            lowercase=self.lowercase,
            token_pattern=self.token_pattern,
            stop_words=self.stop_words,
            vocabulary=None if vocabulary is None else list(vocabulary),
            min_df=self.min_df if vocabulary is None else 1,
            max_df=self.max_df if vocabulary is None else 1.0,
            max_features=self.vocab_size if vocabulary is None else None,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "vocab_size": self.vocab_size,
            "min_df": self.min_df,
            "max_df": self.max_df,
            "lowercase": self.lowercase,
            "token_pattern": self.token_pattern,
            "stop_words": self.stop_words,
        }


@dataclass
class VocabularyStats:
    """What the building pass saw."""

    documents: int = 0
    distinct_terms: int = 0
    """Distinct terms after stop words, before min_df/max_df/vocab_size."""


@dataclass(frozen=True)
class Vocabulary:
    """Words in index order (alphabetical, as scikit-learn), the settings that made them, and build stats."""

    words: tuple[str, ...]
    settings: VocabularySettings = field(default_factory=VocabularySettings)
    stats: VocabularyStats = field(default_factory=VocabularyStats, compare=False)

    def __len__(self) -> int:
        return len(self.words)

    @property
    def index(self) -> dict[str, int]:
        return {word: i for i, word in enumerate(self.words)}

    # ----------------------------------------------------------------- build
    @classmethod
    def build(cls, texts: Iterable[str], settings: VocabularySettings | None = None, **options: Any) -> "Vocabulary":
        """One pass over ``texts`` (any iterable, consumed once); ``options`` override ``settings`` fields."""
        settings = settings or VocabularySettings()
        if options:
            settings = VocabularySettings(**{**settings.as_dict(), **options})
        analyze = settings.vectorizer().build_analyzer()
        document_frequency: Counter[str] = Counter()
        term_frequency: Counter[str] = Counter()
        documents = 0
        for text in texts:
            documents += 1
            counts = Counter(analyze(text))
            term_frequency.update(counts)
            document_frequency.update(counts.keys())
        words = _prune(document_frequency, term_frequency, documents, settings)
        stats = VocabularyStats(documents=documents, distinct_terms=len(document_frequency))
        return cls(tuple(words), settings, stats)

    # ------------------------------------------------------------- vectorise
    def vectorizer(self) -> CountVectorizer:
        """A fitted-by-construction ``CountVectorizer`` over exactly these words, in this order."""
        return self.settings.vectorizer(self.words)

    def vectorize(self, texts: Iterable[str]) -> sp.csr_matrix:
        """Counts ``[documents, V]`` (int32 CSR, sorted indices) of ``texts`` over the frozen words.

        Documents with no word in the vocabulary are empty rows here (see
        :func:`empty_rows`); the corpus builder counts them and leaves them out.
        """
        matrix = self.vectorizer().transform(texts)
        matrix = sp.csr_matrix(matrix, dtype=np.int32)
        matrix.sort_indices()
        return matrix

    # --------------------------------------------------------------- storage
    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "settings": self.settings.as_dict(),
            "stats": vars(self.stats),
            "words": list(self.words),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Vocabulary":
        if data.get("format") != FORMAT or not isinstance(data.get("words"), list):
            raise ValueError("not a dirvae vocabulary (expected format 1 with a 'words' list)")
        return cls(tuple(data["words"]), VocabularySettings(**data["settings"]), VocabularyStats(**data.get("stats", {})))

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``vocabulary.json`` atomically (``path`` may be a folder or the file)."""
        target = Path(path)
        if target.is_dir():
            target = target / VOCABULARY_FILE
        text = json.dumps(self.to_json(), ensure_ascii=False, indent=1) + "\n"
        return atomic_write_bytes(target, text.encode("utf-8"))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocabulary":
        source = Path(path)
        if source.is_dir():
            source = source / VOCABULARY_FILE
        return cls.from_json(json.loads(source.read_text(encoding="utf-8")))

    def fingerprint(self) -> str:
        """A short hash of the words and settings: part of every corpus cache key."""
        text = json.dumps({"settings": self.settings.as_dict(), "words": self.words}, sort_keys=True)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _prune(document_frequency: Counter, term_frequency: Counter, documents: int, settings: VocabularySettings) -> list[str]:
    """scikit-learn's ``_sort_features`` + ``_limit_features`` on streamed counts (see the module docstring)."""
    if documents == 0 or not document_frequency:
        raise ValueError("empty vocabulary: the training documents hold no words (after stop words)")
    terms = sorted(document_frequency)
    dfs = np.fromiter((document_frequency[t] for t in terms), dtype=np.int64, count=len(terms))
    tfs = np.fromiter((term_frequency[t] for t in terms), dtype=np.int64, count=len(terms))
    max_df, min_df = settings.max_df, settings.min_df
    high = max_df if isinstance(max_df, Integral) else max_df * documents
    low = min_df if isinstance(min_df, Integral) else min_df * documents
    if high < low:
        raise ValueError("max_df corresponds to < documents than min_df")
    mask = (dfs <= high) & (dfs >= low)
    limit = settings.vocab_size
    if limit is not None and mask.sum() > limit:
        chosen = (-tfs[mask]).argsort()[:limit]  # scikit-learn's exact call: same tie order
        new_mask = np.zeros(len(dfs), dtype=bool)
        new_mask[np.where(mask)[0][chosen]] = True
        mask = new_mask
    words = [t for t, keep in zip(terms, mask) if keep]
    if not words:
        raise ValueError("After pruning, no terms remain. Try a lower min_df or a higher max_df.")
    return words


def empty_rows(matrix: sp.csr_matrix) -> np.ndarray:
    """Row indices of documents left with no word by the vocabulary filter."""
    return np.flatnonzero(np.diff(matrix.indptr) == 0)
