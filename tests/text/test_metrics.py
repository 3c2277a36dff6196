"""The metrics of background.md §6 against values worked out by hand."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from dirvae.text import metrics

# Reference documents over words a=0, b=1, c=2, d=3 (d never occurs):
# d0 = {a, b}, d1 = {a, b, c} (a twice), d2 = {c}, d3 = {a}.
REFERENCE = sp.csr_matrix(np.array([[1, 1, 0, 0], [2, 1, 1, 0], [0, 0, 1, 0], [1, 0, 0, 0]]))


def test_npmi_by_hand():
    # D = 4; D(a) = 3, D(b) = 2, D(c) = 2, D(a,b) = 2, D(a,c) = 1, D(b,c) = 1.
    ab = math.log(0.5 / (0.75 * 0.5)) / -math.log(0.5)  # 0.41504
    ac = math.log(0.25 / (0.75 * 0.5)) / -math.log(0.25)  # -0.29248
    bc = math.log(0.25 / (0.5 * 0.5)) / -math.log(0.25)  # 0
    scores = metrics.npmi_per_topic(np.array([[0, 1, 2], [0, 1, 3]]), REFERENCE)
    assert scores[0] == pytest.approx((ab + ac + bc) / 3)
    assert scores[0] == pytest.approx(0.040853, abs=1e-6)
    assert scores[1] == pytest.approx((ab - 1 - 1) / 3)  # pairs with d never co-occur: -1 each
    topic_word = np.array([[0.5, 0.3, 0.2, 0.0], [0.1, 0.2, 0.0, 0.7]])  # top 3: [a, b, c] and [d, b, a]
    assert metrics.npmi(topic_word, REFERENCE, top_n=3) == pytest.approx((scores[0] + (ab - 2) / 3) / 2)


def test_npmi_of_words_in_every_document_is_one():
    always = sp.csr_matrix(np.ones((3, 2)))
    assert metrics.npmi_per_topic(np.array([[0, 1]]), always)[0] == 1.0


def test_topic_diversity_by_hand():
    topic_word = np.array([[0.9, 0.8, 0.1, 0.0], [0.1, 0.8, 0.9, 0.0]])  # top 2: {0, 1} and {2, 1}
    assert metrics.topic_diversity(topic_word, top_n=2) == pytest.approx(3 / 4)
    assert metrics.topic_diversity(np.eye(4), top_n=1) == 1.0


def test_active_topics_threshold_is_one_tenth_of_uniform():
    theta = np.array([[0.5, 0.5 - 0.024, 0.024], [0.5, 0.5 - 0.024, 0.024]])  # 0.024 < 1/30
    assert metrics.active_topics(theta) == 2
    with pytest.raises(ValueError, match="NaN"):
        metrics.active_topics(np.array([[np.nan, 1.0]]))


def test_elbo_perplexity():
    assert metrics.elbo_perplexity(np.array([-10.0, -20.0]), np.array([5, 10])) == pytest.approx(math.exp(2.0))


def test_split_halves_keeps_every_token_once():
    rng = np.random.default_rng(0)
    dense = rng.poisson(0.7, size=(50, 30))
    dense[3] = 0
    dense[4] = 0
    dense[4, 2] = 1  # one token: cannot be split
    counts = sp.csr_matrix(dense)
    observed, held_out, kept = metrics.split_halves(counts, seed=1)
    assert 3 not in kept and 4 not in kept
    assert ((observed + held_out) != counts[kept]).nnz == 0
    lengths = np.asarray(counts[kept].sum(1)).ravel()
    assert np.array_equal(np.asarray(observed.sum(1)).ravel(), lengths // 2)


def test_completion_perplexity_of_a_uniform_model_is_the_vocabulary_size():
    held_out = sp.csr_matrix(np.array([[1, 2, 0], [0, 0, 4]]))
    assert metrics.completion_perplexity(np.full((2, 3), 1 / 3), held_out) == pytest.approx(3.0)
    p = np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]])
    assert metrics.completion_perplexity(p, held_out) == pytest.approx(math.exp(3 * math.log(2) / 7))
    assert metrics.completion_perplexity(np.array([[1.0, 0, 0], [0, 0, 1.0]]), held_out) == math.inf


def test_knn_accuracy_with_hellinger_distance():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 30)
    theta = rng.dirichlet(np.ones(3) * 0.3, size=90) * 0.2 + np.eye(3)[labels] * 0.8
    assert metrics.knn_accuracy(theta, labels) == 1.0
    shuffled = metrics.knn_accuracy(rng.dirichlet(np.ones(3), size=90), labels)
    assert shuffled < 0.7
    # Hellinger distance: ||sqrt(p) - sqrt(q)|| / sqrt(2)
    p, q = np.array([[0.2, 0.8]]), np.array([[0.5, 0.5]])
    distance = np.linalg.norm(metrics.hellinger_features(p) - metrics.hellinger_features(q))
    assert distance == pytest.approx(math.sqrt(1 - (math.sqrt(0.1) + math.sqrt(0.4))))
