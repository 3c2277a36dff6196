"""A text source as a training dataset: the vocabulary from the training split, then the cached sparse corpus.

The vocabulary must come from the training documents only, and the held-out
documents must be the same ones before and after vectorising (documents
the vocabulary empties are dropped, which changes positions).  So text holds
out by a hash of each document's name: stable, known before anything is
counted, and the same for every run over the same source.  ``holdout`` (the
hash threshold) is chosen once, from the document count, so that about
``val_fraction`` of the documents, at most :data:`~dirvae.data.split.VAL_CAP`,
are held out; the run records it.

Items are documents.  A batch fetched together (``__getitems__``) is one
sparse ``[B, V]`` tensor of counts: batches stay sparse until the encoder.
A single item (tools, the live view) is a dense ``[V]`` vector.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, Subset

from dirvae.data.loader import Batch
from dirvae.data.split import VAL_CAP
from dirvae.text.corpus import SparseCorpus, build_corpus, cache_key, collate_scipy, csr_to_torch, source_fingerprint
from dirvae.text.documents import Document, ReadCounts, read_documents
from dirvae.text.vocabulary import Vocabulary, VocabularySettings

CACHE_ENVIRONMENT = "DIRVAE_CACHE"
"""Where vectorised corpora are kept (default ``~/.cache/dirvae``): shared by runs over the same source."""


def cache_folder() -> Path:
    base = os.environ.get(CACHE_ENVIRONMENT) or os.path.join(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache", "dirvae")
    return Path(base) / "corpora"


def name_hash(name: str) -> float:
    """A document's place in [0, 1): the held-out documents are those below the run's threshold."""
    return int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "big") / 2.0**64


def holdout_threshold(documents: int, val_fraction: float, cap: int = VAL_CAP) -> float:
    """The hash threshold that holds out about ``val_fraction`` of ``documents``, at most ``cap`` of them."""
    if val_fraction <= 0 or documents < 2:
        return 0.0
    return min(float(val_fraction), cap / documents)


def is_held_out(name: str, threshold: float) -> bool:
    return threshold > 0 and name_hash(name) < threshold


def build_vocabulary(
    documents: Iterator[Document], settings: VocabularySettings, threshold: float
) -> Vocabulary:
    """One streaming pass: the vocabulary of the documents not held out."""
    return Vocabulary.build((doc.text for doc in documents if not is_held_out(doc.name, threshold)), settings)


class TextCorpus(Dataset):
    """The documents of a source over a frozen vocabulary, from the corpus cache (built on first use)."""

    decodes_items = False  # held in memory (or memory-mapped): data workers would only add start-up and copies

    def __init__(
        self, source: str | os.PathLike, vocabulary: Vocabulary, *, unit: str | None = None, text_field: str = "text",
        label_field: str | None = None,
    ) -> None:  # fmt: skip
        self.source = Path(source)
        self.vocabulary = vocabulary
        reader = {"unit": unit, "text_field": text_field, "label_field": label_field}
        self.read_counts = ReadCounts()
        key = cache_key(source_fingerprint(self.source), vocabulary, **reader)
        documents = read_documents(self.source, counts=self.read_counts, **reader)
        self.corpus = SparseCorpus(build_corpus(documents, vocabulary, cache_folder(), key, read_counts=self.read_counts))
        self.paths: list[str] = self.corpus.names()
        self.classes: list[str] = list(self.corpus.meta.label_names)

    @property
    def item_shape(self) -> tuple[int]:
        return (len(self.vocabulary),)

    def __len__(self) -> int:
        return len(self.corpus)

    def describe(self, index: int) -> str:
        return self.paths[index]

    def label(self, index: int) -> int:
        return int(self.corpus.labels[index])

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        ids, counts, label = self.corpus[index]
        dense = torch.zeros(len(self.vocabulary))
        dense[torch.from_numpy(ids.astype(np.int64))] = torch.from_numpy(counts.astype(np.float32))
        return dense, label

    def __getitems__(self, indices: Sequence[int]) -> Batch:
        rows = [self.corpus[int(i)] for i in indices]
        labels = torch.tensor([label for _, _, label in rows], dtype=torch.long)
        return Batch(csr_to_torch(collate_scipy(rows, len(self.vocabulary))), labels, 0)

    def problems(self) -> dict[str, Any]:
        """What the readers skipped or repaired, and documents the vocabulary left empty (from the cache's record)."""
        counts = dict(self.corpus.meta.read_counts)
        counts["empty_after_filtering"] = self.corpus.meta.empty_after_filtering
        return counts


class SubsetBatches(Subset):
    """A ``Subset`` that keeps its dataset's batched fetch (sparse batches through a split)."""

    def __getitems__(self, indices: Sequence[int]) -> Any:
        fetch = getattr(self.dataset, "__getitems__", None)
        chosen = [self.indices[i] for i in indices]
        return fetch(chosen) if fetch is not None else [self.dataset[i] for i in chosen]


def split_by_name(dataset: TextCorpus, threshold: float) -> tuple[Dataset, Dataset | None]:
    """(training, held-out) documents by the name hash (see the module docstring)."""
    held = [i for i, name in enumerate(dataset.paths) if is_held_out(name, threshold)]
    if not held or len(held) == len(dataset):
        return dataset, None
    chosen = set(held)
    kept = [i for i in range(len(dataset)) if i not in chosen]
    return SubsetBatches(dataset, kept), SubsetBatches(dataset, held)
