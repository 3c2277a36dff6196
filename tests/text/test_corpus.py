"""The cached corpus: built once, memory-mapped, equal to vectorising in memory; sparse batches."""

import json

import numpy as np
import torch
from torch.utils.data import DataLoader

from dirvae.text.corpus import SparseCorpus, build_corpus, cache_key, collate_dense, collate_sparse, source_fingerprint
from dirvae.text.documents import Document, ReadCounts, read_documents
from dirvae.text.vocabulary import Vocabulary


def _folder(tmp_path):
    root = tmp_path / "docs"
    for label, texts in {"fruit": ["apple banana apple", "banana cherry", "the of"], "car": ["engine wheel", "wheel road apple"]}.items():
        (root / label).mkdir(parents=True)
        for i, text in enumerate(texts):
            (root / label / f"{i}.txt").write_text(text)
    return root


def test_round_trip_equals_in_memory_vectorising_and_is_reused(tmp_path):
    root = _folder(tmp_path)
    texts = [d.text for d in read_documents(root)]
    vocabulary = Vocabulary.build(texts, min_df=1, max_df=1.0)
    key = cache_key(source_fingerprint(root), vocabulary)
    counts = ReadCounts()
    path = build_corpus(read_documents(root, counts=counts), vocabulary, tmp_path / "cache", key, read_counts=counts, chunk_documents=2)
    corpus = SparseCorpus(path)
    expected = vocabulary.vectorize(texts)
    nonempty = np.diff(expected.indptr) > 0
    assert len(corpus) == 4 and corpus.meta.empty_after_filtering == 1  # "the of" is all stop words
    assert (corpus.rows() != expected[nonempty]).nnz == 0
    assert isinstance(np.load(path / "indices.npy", mmap_mode="r"), np.memmap)
    assert corpus.meta.label_names == ["car", "fruit"]
    assert list(corpus.label_array()) == [0, 0, 1, 1]
    assert corpus.names()[0] == "car/0.txt"
    assert json.loads((path / "meta.json").read_text())["read_counts"]["documents"] == 5
    # A second build with the same key reads nothing: a generator that would fail is never consumed.
    def exploding():
        raise AssertionError("re-tokenised")
        yield
    assert build_corpus(exploding(), vocabulary, tmp_path / "cache", key) == path
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")]  # no temporary left behind


def test_key_changes_with_the_source_and_the_vocabulary(tmp_path):
    root = _folder(tmp_path)
    vocabulary = Vocabulary.build([d.text for d in read_documents(root)], min_df=1, max_df=1.0)
    other = Vocabulary.build(["apple wheel"], min_df=1, max_df=1.0)
    key = cache_key(source_fingerprint(root), vocabulary)
    assert key != cache_key(source_fingerprint(root), other)
    (root / "car" / "new.txt").write_text("more words")
    assert key != cache_key(source_fingerprint(root), vocabulary)


def test_a_failed_build_leaves_no_entry(tmp_path):
    vocabulary = Vocabulary.build(["apple banana"], min_df=1, max_df=1.0)

    def failing():
        yield Document("apple", None, "a")
        raise OSError("disk gone")

    try:
        build_corpus(failing(), vocabulary, tmp_path / "cache", "k", chunk_documents=1)
    except OSError:
        pass
    assert list((tmp_path / "cache").iterdir()) == []


def test_batches_are_sparse_until_densified(tmp_path):
    documents = [Document(f"apple banana {'cherry ' * i}", str(i % 2), str(i)) for i in range(10)]
    vocabulary = Vocabulary.build([d.text for d in documents], min_df=1, max_df=1.0)
    corpus = SparseCorpus(build_corpus(documents, vocabulary, tmp_path, "k"))
    counts, labels = next(iter(DataLoader(corpus, batch_size=4, collate_fn=collate_sparse(len(vocabulary)))))
    assert counts.layout == torch.sparse_coo and counts.shape == (4, 3) and counts.dtype == torch.float32
    assert counts.to_dense()[3].tolist() == [1.0, 1.0, 3.0] and labels.tolist() == [0, 1, 0, 1]
    dense, _ = next(iter(DataLoader(corpus, batch_size=4, collate_fn=collate_dense(len(vocabulary)))))
    assert torch.equal(dense, counts.to_dense())
