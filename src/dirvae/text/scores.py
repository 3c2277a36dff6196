"""A trained topic model scored on documents, with the definitions of :mod:`dirvae.text.metrics`.

What ``dirvae evaluate`` adds for text: perplexity from the ELBO (per word, an
upper bound), document-completion perplexity (θ from one half of each
document, the other half scored), NPMI coherence of each topic's top-10 words
over the reference documents' co-occurrence, topic diversity, 5-NN accuracy
of θ with the Hellinger distance where documents have labels, and the number
of active topics.  Every figure comes from the same code the topic benchmark
uses for LDA and ProdLDA, so they compare.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from dirvae.nets.topic import topic_word
from dirvae.text.dataset import TextCorpus
from dirvae.text.loop import dense_batch, infer_theta
from dirvae.text.metrics import (
    active_topics,
    document_completion_perplexity,
    elbo_perplexity,
    knn_accuracy,
    npmi,
    topic_diversity,
)

BATCH = 1024


@torch.no_grad()
def elbos(model: Any, counts: sp.csr_matrix) -> np.ndarray:
    """Each document's ELBO (nats), one posterior draw, in eval mode."""
    was_training = model.training
    model.eval()
    values = []
    for first in range(0, counts.shape[0], BATCH):
        x = dense_batch(counts[first : first + BATCH])
        output = model(x)
        values.append((-(model.reconstruction_loss(output.decoder_output, x) + model.kl_of(output))).double().numpy())
    model.train(was_training)
    return np.concatenate(values) if values else np.zeros(0)


@torch.no_grad()
def word_distributions(model: Any, theta: np.ndarray) -> np.ndarray:
    """The decoder's word distribution for topic mixes θ ``[D, K]`` (a Gaussian latent reads them as softmax(log θ))."""
    was_training = model.training
    model.eval()
    latent = torch.from_numpy(np.asarray(theta, dtype=np.float32))
    if model.latent_kind == "gaussian":
        latent = latent.clamp_min(1e-12).log()
    parts = [model.decode(latent[i : i + BATCH]).double() for i in range(0, latent.shape[0], BATCH)]
    model.train(was_training)
    return torch.cat(parts).numpy()


def text_scores(model: Any, dataset: TextCorpus, *, reference: TextCorpus | None = None) -> dict[str, Any]:
    """The topic-model report of ``model`` on ``dataset`` (NPMI over ``reference``'s documents, default ``dataset``'s)."""
    counts = dataset.corpus.rows()
    theta = infer_theta(model, counts)
    weights = topic_word(model.decoder).detach().double().cpu().numpy()
    reference_counts = (reference or dataset).corpus.rows()
    lengths = np.asarray(counts.sum(axis=1)).ravel()
    scores: dict[str, Any] = {
        "perplexity (ELBO bound, per word)": elbo_perplexity(elbos(model, counts), lengths),
        "document-completion perplexity": document_completion_perplexity(
            lambda observed: infer_theta(model, observed), lambda mixes: word_distributions(model, mixes), counts
        ),
        "NPMI (top 10, document co-occurrence)": npmi(weights, reference_counts),
        "topic diversity (top 25)": topic_diversity(weights),
        "active topics": f"{active_topics(theta)} / {theta.shape[1]}",
    }
    labels = dataset.corpus.label_array()
    if np.unique(labels[labels >= 0]).size >= 2:
        scores["kNN-5 accuracy (Hellinger)"] = knn_accuracy(theta, labels)
    for key, value in scores.items():
        if isinstance(value, float) and not math.isfinite(value):
            scores[key] = f"{value}"  # infinite perplexity is reported as such, never hidden
    return scores
