"""Known topics are recovered from a synthetic corpus by a DirichletVAE with the topic networks.

Five topics over V = 100: topic k puts 70 % of its mass evenly on its own 10
words, the other 30 % on 50 common words shared by all topics (the role stop
words and frequent words play in real text).  Documents draw θ ~ Dir(0.3) and
60 words.  Learned topics are matched to the true ones by Hungarian
assignment on top-10 overlap; the mean overlap must be at least 0.9.
"""

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from scipy.optimize import linear_sum_assignment

from dirvae import DirichletVAE
from dirvae.text import topic_model, topic_word
from dirvae.text.loop import infer_theta, train_topic_model
from dirvae.text.metrics import active_topics

K, V, DOCUMENTS, LENGTH = 5, 100, 3000, 60


def synthetic_corpus(seed: int = 0) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    beta = np.zeros((K, V))
    beta[:, 50:] = 0.3 / 50
    for k in range(K):
        beta[k, k * 10 : (k + 1) * 10] = 0.07
    theta = rng.dirichlet(np.full(K, 0.3), size=DOCUMENTS)
    return sp.csr_matrix(np.stack([rng.multinomial(LENGTH, t @ beta) for t in theta]))


def matched_overlap(topic_words: np.ndarray) -> float:
    top = np.argsort(-topic_words, axis=1)[:, :10]
    overlap = np.array([[len(set(row) & set(range(j * 10, j * 10 + 10))) / 10 for j in range(K)] for row in top])
    rows, cols = linear_sum_assignment(-overlap)
    return float(overlap[rows, cols].mean())


@pytest.mark.slow
@pytest.mark.parametrize("decoder", ["prodlda", "mixture"])
def test_known_topics_are_recovered(decoder, one_thread):
    torch.manual_seed(0)
    counts = synthetic_corpus(0)
    encoder, topic_decoder = topic_model(V, K, hidden=(50,), decoder=decoder)
    model = DirichletVAE(encoder, topic_decoder, K, decoder_input="simplex", reconstruction="multinomial", prior_alpha=0.3)
    model.decode_head.requires_grad_(False)  # topics are read off the decoder: no K→K mixing in front of it
    train_topic_model(model, counts, epochs=45, batch_size=100, learning_rate=3e-3, seed=0)
    assert matched_overlap(topic_word(topic_decoder).numpy()) >= 0.9
    assert active_topics(infer_theta(model, counts)) == K


def test_a_random_model_does_not_pass_the_overlap_bar():
    rng = np.random.default_rng(1)
    assert matched_overlap(rng.random((K, V))) < 0.5
