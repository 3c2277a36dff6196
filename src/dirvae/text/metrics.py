"""Topic-model metrics, exactly as defined in the project notes (background.md §6), for every method alike.

Libraries disagree on what "coherence" and "perplexity" mean (gensim's
``c_npmi`` uses a sliding window, gensim logs ``2^-bound``, scikit-learn
normalises the prior term its own way), so a number from one is not
comparable with a number from another.  Every method in the benchmark, LDA
and VAE alike, is therefore scored here, by pure functions of numpy/scipy
arrays: topic-word weights, document-topic proportions, counts.

Inputs that are NaN or infinite raise ``ValueError``: a broken model must
show as broken, never as a silently zeroed score.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import scipy.sparse as sp
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier

NPMI_TOP_WORDS = 10
DIVERSITY_TOP_WORDS = 25


def _finite(name: str, values: np.ndarray) -> np.ndarray:
    values = np.asarray(values)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} holds NaN or infinite values")
    return values


def top_words(topic_word: np.ndarray, n: int) -> np.ndarray:
    """``[K, n]`` word ids of each topic's ``n`` largest weights, largest first (ties: lower id first)."""
    weights = _finite("topic_word", np.asarray(topic_word, dtype=np.float64))
    order = np.argsort(-weights, axis=1, kind="stable")
    return order[:, :n]


def npmi_per_topic(topics: np.ndarray, reference: sp.spmatrix) -> np.ndarray:
    """NPMI of each topic's words ``topics [K, n]`` (usually the top 10) over the reference documents.

    For each of the ``n(n−1)/2`` pairs: ``log(P(a,b) / (P(a)P(b))) / −log P(a,b)``
    with ``P(a) = D(a)/D`` and ``P(a,b) = D(a,b)/D`` counted over the reference
    documents (a word counts once per document); a pair that never co-occurs
    scores −1.  A pair that co-occurs in every document (``P(a,b) = 1``) scores 1.
    A topic's value is the mean over its pairs.
    """
    topics = np.asarray(topics, dtype=np.int64)
    reference = sp.csr_matrix(reference)
    documents = reference.shape[0]
    if documents == 0:
        raise ValueError("NPMI needs at least one reference document")
    words = np.unique(topics)
    present = (reference[:, words] > 0).astype(np.float64)  # [D, W] document incidence of the topics' words
    co = np.asarray((present.T @ present).todense())  # D(a,b); the diagonal is D(a)
    position = {int(w): i for i, w in enumerate(words)}
    scores = np.empty(topics.shape[0])
    for k, row in enumerate(topics):
        ids = [position[int(w)] for w in row]
        values = []
        for i in range(len(ids)):
            for j in range(i + 1, len(ids)):
                a, b = ids[i], ids[j]
                values.append(_npmi(co[a, b], co[a, a], co[b, b], documents))
        scores[k] = float(np.mean(values)) if values else math.nan
    return scores


def _npmi(joint: float, a: float, b: float, documents: int) -> float:
    if joint <= 0:
        return -1.0
    p_ab, p_a, p_b = joint / documents, a / documents, b / documents
    if p_ab >= 1.0:
        return 1.0
    return math.log(p_ab / (p_a * p_b)) / -math.log(p_ab)


def npmi(topic_word: np.ndarray, reference: sp.spmatrix, top_n: int = NPMI_TOP_WORDS) -> float:
    """Mean over topics of the NPMI of each topic's ``top_n`` words (see :func:`npmi_per_topic`)."""
    return float(np.mean(npmi_per_topic(top_words(topic_word, top_n), reference)))


def topic_diversity(topic_word: np.ndarray, top_n: int = DIVERSITY_TOP_WORDS) -> float:
    """Unique words among all topics' top ``top_n``, divided by ``top_n · K`` (1: no word shared)."""
    topics = top_words(topic_word, top_n)
    return float(np.unique(topics).size / topics.size)


def active_topics(theta: np.ndarray) -> int:
    """Topics whose mean proportion over the documents exceeds ``1 / (10 K)``."""
    theta = _finite("theta", np.asarray(theta, dtype=np.float64))
    k = theta.shape[1]
    return int((theta.mean(axis=0) > 1.0 / (10 * k)).sum())


def elbo_perplexity(elbo: np.ndarray, lengths: np.ndarray) -> float:
    """``exp(−Σ_d ELBO_d / Σ_d N_d)``: an upper bound on the per-word perplexity."""
    elbo = _finite("elbo", np.asarray(elbo, dtype=np.float64))
    return float(math.exp(-elbo.sum() / float(np.sum(lengths))))


def split_halves(counts: sp.spmatrix, seed: int = 0) -> tuple[sp.csr_matrix, sp.csr_matrix, np.ndarray]:
    """Each document's tokens split at random into two halves ``(observed, held_out, kept_rows)``.

    Every document's tokens are shuffled and the first ``⌊N/2⌋`` observed,
    the rest held out.  Documents with fewer than 2 tokens cannot be split and
    are left out; ``kept_rows`` says which rows the halves come from.
    """
    counts = sp.csr_matrix(counts)
    lengths = np.asarray(counts.sum(axis=1)).ravel().astype(np.int64)
    kept = np.flatnonzero(lengths >= 2)
    counts = counts[kept]
    lengths = lengths[kept]
    rows = np.repeat(np.arange(counts.shape[0]), np.diff(counts.indptr))
    token_rows = np.repeat(rows, counts.data.astype(np.int64))
    token_words = np.repeat(counts.indices, counts.data.astype(np.int64))
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(token_rows.size), token_rows))
    token_rows, token_words = token_rows[order], token_words[order]
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    rank = np.arange(token_rows.size) - starts[token_rows]
    first = rank < (lengths // 2)[token_rows]
    shape = counts.shape

    def matrix(mask: np.ndarray) -> sp.csr_matrix:
        ones = np.ones(int(mask.sum()), dtype=np.int32)
        return sp.csr_matrix((ones, (token_rows[mask], token_words[mask])), shape=shape)  # duplicates summed

    return matrix(first), matrix(~first), kept


def completion_perplexity(word_probabilities: np.ndarray, held_out: sp.spmatrix) -> float:
    """``exp(−Σ_d Σ_v x_dv log p_dv / Σ_d N_d)`` of the held-out halves under each document's predicted word distribution.

    ``word_probabilities [D, V]``: for document d, the model's word
    distribution given θ inferred from the observed half (θᵀβ for LDA, the
    decoder's softmax for a VAE).  Rows must sum to 1.
    """
    p = _finite("word_probabilities", np.asarray(word_probabilities, dtype=np.float64))
    held_out = sp.coo_matrix(held_out)
    if p.shape != held_out.shape:
        raise ValueError(f"word_probabilities {p.shape} and held_out {held_out.shape} differ in shape")
    if not np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("each row of word_probabilities must sum to 1")
    chosen = p[held_out.row, held_out.col]
    if np.any(chosen <= 0):
        return math.inf  # a held-out word the model gives probability 0: infinite perplexity, honestly
    return float(math.exp(-(held_out.data * np.log(chosen)).sum() / held_out.data.sum()))


def document_completion_perplexity(
    infer_theta: Callable[[sp.csr_matrix], np.ndarray],
    word_probabilities: Callable[[np.ndarray], np.ndarray],
    counts: sp.spmatrix,
    seed: int = 0,
) -> float:
    """Split each document in halves, infer θ from one half, score the other (see :func:`completion_perplexity`)."""
    observed, held_out, _ = split_halves(counts, seed)
    theta = infer_theta(observed)
    return completion_perplexity(word_probabilities(theta), held_out)


def hellinger_features(theta: np.ndarray) -> np.ndarray:
    """``sqrt(θ) / √2``: Euclidean distance between these rows is the Hellinger distance between the θ."""
    theta = _finite("theta", np.asarray(theta, dtype=np.float64))
    if np.any(theta < 0):
        raise ValueError("theta must be non-negative (topic proportions)")
    return np.sqrt(theta) / math.sqrt(2.0)


def knn_accuracy(theta: np.ndarray, labels: np.ndarray, neighbours: int = 5, folds: int = 5, seed: int = 0) -> float:
    """Cross-validated accuracy of a ``neighbours``-NN classifier on θ with the Hellinger distance.

    Stratified ``folds``-fold (plain shuffled K-fold where a class has fewer
    documents than folds); unlabelled documents (label −1) are left out.
    """

    labels = np.asarray(labels)
    keep = labels >= 0 if labels.dtype.kind in "iu" else np.ones(labels.shape, dtype=bool)
    features, labels = hellinger_features(theta)[keep], labels[keep]
    if np.unique(labels).size < 2:
        raise ValueError("kNN accuracy needs at least two labels")
    smallest = np.bincount(np.unique(labels, return_inverse=True)[1]).min()
    splitter = (StratifiedKFold if smallest >= folds else KFold)(n_splits=folds, shuffle=True, random_state=seed)
    classifier = KNeighborsClassifier(n_neighbors=neighbours, metric="euclidean")
    return float(cross_val_score(classifier, features, labels, cv=splitter).mean())
