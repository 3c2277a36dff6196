"""The vectorised corpus, cached on disk as memory-mapped CSR arrays, and a sparse torch ``Dataset`` over it.

Why a cache: tokenising is the slow part of text (scikit-learn's analyzer runs
at tens of thousands of short documents a second on one core, a training step
at far more), so a corpus is tokenised once per (source, vocabulary) and every
later epoch and run reads integers.  Why CSR on disk: a bag of words is about
1 % non-zero at V = 2000, so a million documents are a few hundred MB as CSR
against 8 GB dense; with ``np.load(mmap_mode="r")`` the pages are read on
demand and the process's resident memory stays bounded.

Layout of a cache entry ``<cache_dir>/<key>/``: ``indptr.npy`` (int64,
documents + 1), ``indices.npy`` (int32 word ids, sorted within a row),
``counts.npy`` (int32), ``labels.npy`` (int32, −1 for none), ``names.txt``
(one per line) and ``meta.json`` (vocabulary size, label names, read counts,
documents left empty by the vocabulary).  It is built in a temporary folder,
chunk by chunk (bounded memory), and renamed into place in one ``os.replace``,
so a killed build leaves no half-written entry.

Batches stay sparse until the encoder: :func:`collate_sparse` returns a
sparse COO tensor of counts ``[B, V]`` (float32); the topic encoder
and the multinomial loss densify it themselves (:func:`dense_counts`), one
batch at a time.  :func:`collate_dense` gives dense counts for code that
wants them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor
from torch.utils.data import Dataset

from dirvae.text.documents import Document, ReadCounts
from dirvae.text.vocabulary import Vocabulary

CHUNK_DOCUMENTS = 8192
"""Documents vectorised at a time: bounds the builder's memory whatever the corpus size."""
CACHE_FORMAT = 1


def source_fingerprint(source: str | os.PathLike) -> dict[str, Any]:
    """What identifies a source's content cheaply: every file's relative path, size and modification time."""
    path = Path(source).resolve()
    if path.is_file():
        stat = path.stat()
        return {"path": str(path), "files": [[path.name, stat.st_size, stat.st_mtime_ns]]}
    files = []
    for directory, subdirs, names in os.walk(path):
        subdirs.sort()
        for name in sorted(names):
            full = Path(directory) / name
            try:
                stat = full.stat()
            except OSError:
                continue
            files.append([str(full.relative_to(path)), stat.st_size, stat.st_mtime_ns])
    return {"path": str(path), "files": files}


def cache_key(source: Any, vocabulary: Vocabulary, **settings: Any) -> str:
    """A hash of the source's fingerprint (or any JSON-able description), the vocabulary and reader settings."""
    blob = json.dumps(
        {"format": CACHE_FORMAT, "source": source, "vocabulary": vocabulary.fingerprint(), "settings": settings},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


@dataclass
class CorpusMeta:
    """What ``meta.json`` records beside the arrays."""

    documents: int
    vocab_size: int
    tokens: int
    label_names: list[str]
    empty_after_filtering: int
    read_counts: dict[str, Any]


class _Appender:
    """A growing 1-D array written to a raw file chunk by chunk, turned into ``.npy`` at the end."""

    def __init__(self, path: Path, dtype: np.dtype) -> None:
        self.path = path
        self.dtype = np.dtype(dtype)
        self.length = 0
        self._raw = path.with_suffix(".raw")
        self._handle = self._raw.open("wb")

    def append(self, values: np.ndarray) -> None:
        values = np.ascontiguousarray(values, dtype=self.dtype)
        self._handle.write(values.tobytes())
        self.length += values.size

    def finish(self) -> None:
        """Write the ``.npy`` header, then stream the raw bytes after it (no full copy in memory)."""
        self._handle.close()
        with self.path.open("wb") as out, self._raw.open("rb") as raw:
            header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": (self.length,)}
            np.lib.format.write_array_header_1_0(out, header)
            shutil.copyfileobj(raw, out, 1 << 22)
            out.flush()
            os.fsync(out.fileno())
        self._raw.unlink()


def build_corpus(
    documents: Iterable[Document],
    vocabulary: Vocabulary,
    cache_dir: str | os.PathLike,
    key: str,
    *,
    label_names: Sequence[str] | None = None,
    read_counts: ReadCounts | None = None,
    chunk_documents: int = CHUNK_DOCUMENTS,
) -> Path:
    """Vectorise ``documents`` into ``cache_dir/key`` (returned at once if already there).

    Documents with no vocabulary word are left out and counted in
    ``meta.json`` (``empty_after_filtering``).  Labels are mapped to integers
    in ``label_names`` order (given, or in order of first appearance).
    ``read_counts`` (the reader's counts, filled while this consumes the
    stream) is recorded too.
    """
    target = Path(cache_dir) / key
    if (target / "meta.json").is_file():
        return target
    Path(cache_dir).mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=cache_dir))
    try:
        _build_into(work, documents, vocabulary, label_names, read_counts, chunk_documents)
        try:
            os.replace(work, target)
        except OSError:
            if not (target / "meta.json").is_file():  # another process may have finished first: keep theirs
                raise
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return target


def _build_into(
    work: Path,
    documents: Iterable[Document],
    vocabulary: Vocabulary,
    label_names: Sequence[str] | None,
    read_counts: ReadCounts | None,
    chunk_documents: int,
) -> None:
    vectorizer = vocabulary.vectorizer()
    labels_index = {name: i for i, name in enumerate(label_names or [])}
    fixed_labels = label_names is not None
    indptr = _Appender(work / "indptr.npy", np.int64)
    indices = _Appender(work / "indices.npy", np.int32)
    counts = _Appender(work / "counts.npy", np.int32)
    labels = _Appender(work / "labels.npy", np.int32)
    indptr.append(np.zeros(1))
    total, empty, kept = 0, 0, 0
    with (work / "names.txt").open("w", encoding="utf-8") as names:

        def flush(batch: list[Document]) -> None:
            nonlocal total, empty, kept
            matrix = sp.csr_matrix(vectorizer.transform([d.text for d in batch]), dtype=np.int32)
            matrix.sort_indices()
            lengths = np.diff(matrix.indptr)
            keep = lengths > 0
            empty += int((~keep).sum())
            matrix = matrix[keep]
            indptr.append(total + matrix.indptr[1:])
            indices.append(matrix.indices)
            counts.append(matrix.data)
            total += int(matrix.indptr[-1])
            codes = []
            for document, kept_row in zip(batch, keep):
                if not kept_row:
                    continue
                names.write(document.name.replace("\n", " ") + "\n")
                if document.label is None:
                    codes.append(-1)
                elif document.label in labels_index:
                    codes.append(labels_index[document.label])
                elif fixed_labels:
                    codes.append(-1)  # a label outside the given list counts as unlabelled
                else:
                    labels_index[document.label] = len(labels_index)
                    codes.append(labels_index[document.label])
            labels.append(np.asarray(codes, dtype=np.int32))
            kept += matrix.shape[0]

        batch: list[Document] = []
        for document in documents:
            batch.append(document)
            if len(batch) >= chunk_documents:
                flush(batch)
                batch = []
        if batch:
            flush(batch)
    for appender in (indptr, indices, counts, labels):
        appender.finish()
    meta = CorpusMeta(
        documents=kept,
        vocab_size=len(vocabulary),
        tokens=total,
        label_names=list(labels_index),
        empty_after_filtering=empty,
        read_counts=read_counts.as_dict() if read_counts is not None else {},
    )
    (work / "meta.json").write_text(json.dumps(vars(meta), indent=1) + "\n", encoding="utf-8")


class SparseCorpus(Dataset):
    """A cached corpus, memory-mapped: ``corpus[i]`` is document i as ``(word_ids, counts, label)``.

    Nothing but the memory maps is opened, so a DataLoader worker inherits it
    cheaply and only touched pages become resident.  :meth:`rows` returns a
    slice of documents as a scipy CSR matrix (for metrics and baselines).
    """

    decodes_items = False  # held in memory (or memory-mapped): data workers would only add start-up and copies

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.meta = CorpusMeta(**json.loads((self.path / "meta.json").read_text(encoding="utf-8")))
        self.indptr = np.load(self.path / "indptr.npy", mmap_mode="r")
        self.indices = np.load(self.path / "indices.npy", mmap_mode="r")
        self.counts = np.load(self.path / "counts.npy", mmap_mode="r")
        self.labels = np.load(self.path / "labels.npy", mmap_mode="r")

    def __len__(self) -> int:
        return self.meta.documents

    @property
    def vocab_size(self) -> int:
        return self.meta.vocab_size

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray, int]:
        start, stop = int(self.indptr[i]), int(self.indptr[i + 1])
        return np.asarray(self.indices[start:stop]), np.asarray(self.counts[start:stop]), int(self.labels[i])

    def rows(self, selection: slice | np.ndarray | None = None) -> sp.csr_matrix:
        """Documents as an in-memory CSR matrix (all, a slice, or an index array)."""
        if selection is None:
            selection = slice(0, len(self))
        if isinstance(selection, slice):
            start, stop, step = selection.indices(len(self))
            if step == 1:
                lo, hi = int(self.indptr[start]), int(self.indptr[stop])
                pointer = np.asarray(self.indptr[start : stop + 1]) - lo
                return sp.csr_matrix(
                    (np.asarray(self.counts[lo:hi]), np.asarray(self.indices[lo:hi]), pointer),
                    shape=(stop - start, self.vocab_size),
                )
            selection = np.arange(start, stop, step)
        return collate_scipy([self[int(i)] for i in selection], self.vocab_size)

    def label_array(self) -> np.ndarray:
        return np.asarray(self.labels)

    def names(self) -> list[str]:
        return (self.path / "names.txt").read_text(encoding="utf-8").splitlines()


def collate_scipy(batch: Sequence[tuple[np.ndarray, np.ndarray, int]], vocab_size: int) -> sp.csr_matrix:
    lengths = np.fromiter((len(ids) for ids, _, _ in batch), dtype=np.int64, count=len(batch))
    pointer = np.concatenate([[0], np.cumsum(lengths)])
    ids = np.concatenate([ids for ids, _, _ in batch]) if batch else np.zeros(0, np.int32)
    values = np.concatenate([c for _, c, _ in batch]) if batch else np.zeros(0, np.int32)
    return sp.csr_matrix((values, ids, pointer), shape=(len(batch), vocab_size))


def collate_sparse(vocab_size: int):
    """A DataLoader ``collate_fn``: documents → ``(counts [B, V] sparse COO float32, labels [B] int64)``."""

    def collate(batch: Sequence[tuple[np.ndarray, np.ndarray, int]]) -> tuple[Tensor, Tensor]:
        matrix = collate_scipy(batch, vocab_size)
        labels = torch.tensor([label for _, _, label in batch], dtype=torch.int64)
        return csr_to_torch(matrix), labels

    return collate


def collate_dense(vocab_size: int):
    """A DataLoader ``collate_fn``: documents → ``(counts [B, V] dense float32, labels [B])``."""
    sparse = collate_sparse(vocab_size)

    def collate(batch: Sequence[tuple[np.ndarray, np.ndarray, int]]) -> tuple[Tensor, Tensor]:
        counts, labels = sparse(batch)
        return counts.to_dense(), labels

    return collate


def csr_to_torch(matrix: sp.csr_matrix) -> Tensor:
    """A scipy CSR matrix (sorted indices) as a coalesced float32 ``torch.sparse_coo_tensor``.

    COO rather than torch's CSR layout: torch's sparse CSR is still marked
    beta and warns; COO is stable, and a batch is densified once anyway.
    """
    rows = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
    indices = np.stack([rows, np.asarray(matrix.indices, dtype=np.int64)])
    return torch.sparse_coo_tensor(
        torch.from_numpy(indices),
        torch.from_numpy(np.asarray(matrix.data, dtype=np.float32)),
        size=matrix.shape,
        is_coalesced=True,
        check_invariants=False,
    )


def dense_counts(x: Tensor) -> Tensor:
    """Counts ``[B, V]`` as a dense float32 tensor, whatever the layout (strided, sparse COO or CSR)."""
    if x.layout != torch.strided:
        x = x.to_dense()
    return x.float()
