"""A plain PyTorch training loop and inference for topic models on an in-memory CSR corpus.

The Lightning trainer serves images, audio and video; topic models are small
(a few hundred thousand weights) and data-bound, so the tests and
``benchmarks/topics.py`` train them here, with AVITM's optimiser (Adam, β₁ =
0.99, lr 2e-3) and the model's own loss.  Batches are sliced from a CSR
matrix shuffled once per epoch (contiguous row slices are cheap) and
densified one batch at a time.

Inference is deterministic: θ is the posterior mean (softmax of the mean for
the logistic-normal baseline), with the networks in eval mode (dropout off,
batch norm on its running statistics).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor

from dirvae.model import DirichletVAE


@dataclass
class TrainStats:
    steps: int
    documents: int
    seconds: float
    skipped_steps: int
    """Steps whose loss was NaN/Inf: no update was made, and they are counted here, not hidden."""
    last_loss: float

    @property
    def documents_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds > 0 else math.nan


def dense_batch(counts: sp.csr_matrix) -> Tensor:
    return torch.from_numpy(counts.toarray().astype(np.float32, copy=False))


def train_topic_model(
    model: DirichletVAE,
    counts: sp.csr_matrix,
    *,
    epochs: int | None = None,
    seconds: float | None = None,
    batch_size: int = 200,
    learning_rate: float = 2e-3,
    betas: tuple[float, float] = (0.99, 0.999),
    seed: int = 0,
    max_skipped: int = 10,
    kl_warmup_steps: int = 0,
) -> TrainStats:
    """Train ``model`` on the rows of ``counts`` for ``epochs`` or until ``seconds`` have passed (whichever first).

    After ``prior_burn_in`` steps a model with a method-of-moments prior
    re-estimates it every step (:meth:`DirichletVAE.update_prior`).  More than
    ``max_skipped`` non-finite steps raise ``FloatingPointError``.
    ``kl_warmup_steps`` ramps the KL weight linearly from 0 to 1 over that
    many steps (0: the true ELBO from the start).
    """
    if epochs is None and seconds is None:
        raise ValueError("give epochs, seconds or both")
    counts = sp.csr_matrix(counts, dtype=np.float32)
    rng = np.random.default_rng(seed)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(parameters, lr=learning_rate, betas=betas)
    model.train()
    start = time.perf_counter()
    steps = documents = skipped = 0
    last = math.nan
    epoch = 0
    while epochs is None or epoch < epochs:
        shuffled = counts[rng.permutation(counts.shape[0])]
        for first in range(0, shuffled.shape[0], batch_size):
            rows = shuffled[first : first + batch_size]
            if rows.shape[0] < 2:  # batch norm needs two documents
                continue
            weight = min(1.0, (steps + 1) / kl_warmup_steps) if kl_warmup_steps > 0 else 1.0
            terms = model.loss(dense_batch(rows), kl_weight=weight)
            if not torch.isfinite(terms.total):
                skipped += 1
                if skipped > max_skipped:
                    raise FloatingPointError(f"{skipped} training steps had a non-finite loss")
                continue
            optimizer.zero_grad(set_to_none=True)
            terms.total.backward()
            optimizer.step()
            model.update_prior(terms.output.latent.detach())
            steps += 1
            documents += rows.shape[0]
            last = float(terms.total.detach())
            if seconds is not None and time.perf_counter() - start >= seconds:
                return TrainStats(steps, documents, time.perf_counter() - start, skipped, last)
        epoch += 1
    return TrainStats(steps, documents, time.perf_counter() - start, skipped, last)


@torch.no_grad()
def posterior_location(model: DirichletVAE, counts: sp.spmatrix, batch_size: int = 2048) -> Tensor:
    """The posterior mean ``[D, K]`` of each document, in eval mode (deterministic)."""
    was_training = model.training
    model.eval()
    counts = sp.csr_matrix(counts, dtype=np.float32)
    parts = [model.encode(dense_batch(counts[i : i + batch_size])).mean for i in range(0, counts.shape[0], batch_size)]
    model.train(was_training)
    return torch.cat(parts) if parts else torch.zeros(0, model.model_size)


def theta_from_location(model: DirichletVAE, location: Tensor) -> np.ndarray:
    """Topic proportions from the posterior mean: itself on the simplex, or its softmax for a Gaussian latent."""
    theta = torch.softmax(location, dim=1) if model.latent_kind == "gaussian" else location
    return theta.double().numpy()


def infer_theta(model: DirichletVAE, counts: sp.spmatrix) -> np.ndarray:
    """Deterministic topic proportions ``[D, K]`` of each document."""
    return theta_from_location(model, posterior_location(model, counts))


@torch.no_grad()
def word_probabilities(model: DirichletVAE, counts: sp.spmatrix, batch_size: int = 2048) -> np.ndarray:
    """``[D, V]``: the decoder's word distribution at each document's posterior mean (eval mode)."""
    was_training = model.training
    model.eval()
    location = posterior_location(model, counts, batch_size)
    parts = [model.decode(location[i : i + batch_size]).double() for i in range(0, location.shape[0], batch_size)]
    model.train(was_training)
    return torch.cat(parts).numpy()
