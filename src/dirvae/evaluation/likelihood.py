"""Negative log-likelihood by importance sampling, and the ELBO split into its terms.

For each input ``x`` we draw ``S`` latents from the exact posterior
``q(z|x)`` (Dir(α(x)) with the exact "implicit" sampler in log space, or
N(μ, σ²) for a Gaussian latent) and weigh them by

    log w_s = log p(x | z_s) + log p(z_s) − log q(z_s | x)

where ``log p(x|z) = −model.reconstruction_loss(decoder_output(z), x)`` is the
likelihood the model was trained with, ``p(z)`` is Dir(prior α) (N(0, I) for
a Gaussian latent) and a latent field ``[B, K, *rest]`` sums its densities
over positions.  Then ``−log p(x) ≈ −(logsumexp_s log w_s − log S)``, which
is consistent as S grows and, by Jensen, too high on average for finite S
(the importance-weighted bound of Burda et al. 2016).

The proposal is the exact Dirichlet even when the model was trained with the
IGCA sampler: IGCA draws have no tractable density, and importance sampling
is unbiased for ``p(x)`` with any proposal that covers the posterior.  For
such a model the exact posterior is a poor proposal (its decoder was fitted
to IGCA's much tighter draws), so more samples are needed for the same
accuracy, and its ELBO below can be far worse than its training loss, which
is not an ELBO (see benchmarks/results/mnist10k.md).

ELBO.  ``reconstruction`` is ``E_q[−log p(x|z)]`` averaged over the same S
draws.  Two KL terms are reported, and they differ for a DirVAE:

* ``kl_model``: the model's own KL, the one training minimised; for
  ``kl_kind="gamma"`` this is the paper's multi-Gamma KL, which is *not* the
  KL of the Dirichlet posterior.  Because the Dirichlet is a function of the
  Gamma vector (``z = v / Σv``), the data-processing inequality gives
  ``KL_multiGamma ≥ KL_Dirichlet``, so ``−(reconstruction + kl_model)`` is
  still a lower bound on ``log p(x)``, only a looser one.
* ``kl_exact``: the exact KL(Dir(α(x)) ‖ Dir(prior)); ``−(reconstruction +
  kl_exact)`` is the true ELBO of the posterior Dir(α(x)).  For a Gaussian
  latent both are the same closed form.

``log_weight_mean`` (the average of ``log w_s``) is a Monte Carlo estimate of
the true ELBO, a check on the analytic one.

Normalisation.  Bernoulli (on binary data) and Gaussian likelihoods are true
densities.  ``MSELoss`` (``Σ (x − y)²``) is a Gaussian with variance ½ up to
the constant ``D/2 · log π`` per item, which :func:`likelihood_info` adds so
the result is a true NLL for that (fixed-variance) density.  The STFT loss and
user callables are not densities: their "NLL" is a score, flagged as such.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Union

import torch
from torch import Tensor

from dirvae.latent.dirichlet import dirichlet_log_prob, rsample_log_dirichlet
from dirvae.latent.posterior import DirichletPosterior, GaussianPosterior, standard_normal_log_prob

Posterior = Union[DirichletPosterior, GaussianPosterior]

DEFAULT_MAX_ROWS = 4096
"""Latent draws decoded at once (samples × batch items), which bounds memory."""


@dataclass(frozen=True)
class LikelihoodInfo:
    """What ``−log p(x|z)`` means for a model's reconstruction loss."""

    name: str
    normalised: bool
    offset_per_value: float
    note: str

    def offset(self, values_per_item: int) -> float:
        """Constant added to the loss per item to turn it into a true NLL."""
        return self.offset_per_value * values_per_item


def likelihood_info(model) -> LikelihoodInfo:
    """What the model's reconstruction loss means as a likelihood, as the loss declares it."""
    loss = model.likelihood
    name = getattr(loss, "config_name", None) or type(loss).__name__
    if getattr(loss, "density_normalised", False):
        return LikelihoodInfo(name, True, float(loss.density_offset_per_value), loss.density_note or f"{name} likelihood")
    return LikelihoodInfo(name, False, 0.0, f"{name} is not a normalised density: the 'NLL' is a score, not a likelihood")


@dataclass
class LikelihoodEstimate:
    """Per-item results in nats, each ``[B]`` (float64)."""

    nll: Tensor
    reconstruction: Tensor
    kl_model: Tensor
    kl_exact: Tensor
    log_weight_mean: Tensor
    effective_samples: Tensor
    samples: int

    @property
    def elbo(self) -> Tensor:
        """ELBO with the model's own (training) KL."""
        return -(self.reconstruction + self.kl_model)

    @property
    def elbo_exact_kl(self) -> Tensor:
        """The true ELBO of the posterior: exact KL."""
        return -(self.reconstruction + self.kl_exact)

    @staticmethod
    def concatenate(parts: list["LikelihoodEstimate"]) -> "LikelihoodEstimate":
        if not parts:
            raise ValueError("no estimates to concatenate")
        fields = ("nll", "reconstruction", "kl_model", "kl_exact", "log_weight_mean", "effective_samples")
        joined = {name: torch.cat([getattr(p, name) for p in parts]) for name in fields}
        return LikelihoodEstimate(**joined, samples=parts[0].samples)


def _sum_positions(values: Tensor) -> Tensor:
    """``[B, *rest]`` → ``[B]``."""
    return values.reshape(values.shape[0], -1).sum(dim=1)


def _repeat_rows(tensor: Tensor, times: int) -> Tensor:
    """``[B, ...]`` → ``[times·B, ...]``, sample-major (row ``s·B + b``)."""
    return tensor.repeat(times, *([1] * (tensor.dim() - 1)))


def _draw(model, posterior, chunk: int) -> tuple[Tensor, Tensor, Tensor]:
    """``chunk`` exact posterior draws per item: latent ``[chunk·B, K, *rest]``, log p(z), log q(z|x)."""
    if isinstance(posterior, DirichletPosterior):
        alpha = _repeat_rows(posterior.concentration, chunk)
        log_z = rsample_log_dirichlet(alpha, "implicit", floor=posterior.floor)
        log_q = _sum_positions(dirichlet_log_prob(log_z, alpha, floor=posterior.floor))
        log_p = _sum_positions(dirichlet_log_prob(log_z, model.prior_concentration(), floor=posterior.floor))
        return log_z.exp(), log_p, log_q
    if isinstance(posterior, GaussianPosterior):
        mean = _repeat_rows(posterior.mean, chunk)
        log_variance = _repeat_rows(posterior.log_variance, chunk)
        repeated = GaussianPosterior(mean, log_variance)
        z = repeated.sample()
        return z, _sum_positions(standard_normal_log_prob(z)), repeated.log_prob(z)
    raise TypeError(f"unsupported posterior {type(posterior).__name__}")


def scaled_proposal(scale: float) -> Callable[[Posterior], Posterior]:
    """A proposal ``scale`` times as concentrated: Dir(scale·α), or N(μ, σ²/scale).

    Any proposal gives a consistent estimate; comparing scales shows whether
    the exact posterior is a poor proposal for a model (an IGCA-trained
    decoder is fitted to draws less spread than Dir(α)).
    """

    def make(posterior: Posterior) -> Posterior:
        if isinstance(posterior, DirichletPosterior):
            return DirichletPosterior(posterior.concentration * scale, "implicit", posterior.floor)
        return GaussianPosterior(posterior.mean, posterior.log_variance - math.log(scale))

    return make


def exact_kl(model, posterior) -> Tensor:
    """KL(q(z|x) ‖ p(z)) in closed form per item ``[B]``, summed over positions."""
    if isinstance(posterior, DirichletPosterior):
        return posterior.kl(model.prior_concentration(), "dirichlet")
    return posterior.kl()


@torch.no_grad()
def importance_sampled_nll(
    model,
    x: Tensor,
    samples: int = 500,
    *,
    target: Tensor | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    info: LikelihoodInfo | None = None,
    proposal: Callable[[Posterior], Posterior] | None = None,
) -> LikelihoodEstimate:
    """IS estimate of ``−log p(x)`` and the ELBO terms for one batch ``x`` (see module notes).

    ``samples`` draws per item are decoded in chunks of at most ``max_rows``
    rows (draws × items), so memory stays bounded for any ``samples``.
    ``target`` defaults to ``x``.  ``proposal`` maps the posterior to another
    distribution of the same kind to sample from instead (for example a
    sharper Dirichlet, see :func:`scaled_proposal`); the ELBO terms always use
    the posterior itself.  Call on a model in eval mode.
    """
    if samples < 1:
        raise ValueError(f"samples must be at least 1, got {samples}")
    target = x if target is None else target
    info = info or likelihood_info(model)
    offset = info.offset(target[0].numel()) if target.shape[0] else 0.0
    batch = x.shape[0]
    posterior = model.encode(x)
    kl_model = model.kl_per_sample(posterior).double()
    kl_true = exact_kl(model, posterior).double()
    sampled = proposal(posterior) if proposal is not None else posterior

    log_sum = torch.full((batch,), -math.inf, dtype=torch.float64, device=x.device)
    log_sum_squares = log_sum.clone()
    weight_total = torch.zeros(batch, dtype=torch.float64, device=x.device)
    nll_total = torch.zeros(batch, dtype=torch.float64, device=x.device)
    per_chunk = max(1, int(max_rows) // max(1, batch))
    done = 0
    while done < samples:
        chunk = min(per_chunk, samples - done)
        latent, log_p, log_q = _draw(model, sampled, chunk)
        nll_x = model.reconstruction_loss(model.decoder_output(latent), _repeat_rows(target, chunk)).double() + offset
        log_w = (-nll_x + log_p.double() - log_q.double()).view(chunk, batch)
        log_sum = torch.logaddexp(log_sum, torch.logsumexp(log_w, dim=0))
        log_sum_squares = torch.logaddexp(log_sum_squares, torch.logsumexp(2 * log_w, dim=0))
        weight_total += log_w.sum(dim=0)
        nll_total += nll_x.view(chunk, batch).sum(dim=0)
        done += chunk
    return LikelihoodEstimate(
        nll=-(log_sum - math.log(samples)),
        reconstruction=nll_total / samples,
        kl_model=kl_model,
        kl_exact=kl_true,
        log_weight_mean=weight_total / samples,
        effective_samples=(2 * log_sum - log_sum_squares).exp(),
        samples=samples,
    )


@torch.no_grad()
def reconstruction_with_sampler(
    model,
    x: Tensor,
    sampler: str,
    samples: int = 1,
    *,
    target: Tensor | None = None,
    max_rows: int = DEFAULT_MAX_ROWS,
    info: LikelihoodInfo | None = None,
) -> Tensor:
    """``E[−log p(x|z)]`` per item ``[B]`` with z from a named sampler ("igca" or "implicit").

    For an IGCA-trained DirVAE this is the reconstruction term training saw,
    to compare with the exact posterior's (see the benchmark's discussion).
    """
    target = x if target is None else target
    info = info or likelihood_info(model)
    offset = info.offset(target[0].numel()) if target.shape[0] else 0.0
    posterior = model.encode(x)
    batch = x.shape[0]
    total = torch.zeros(batch, dtype=torch.float64, device=x.device)
    per_chunk = max(1, int(max_rows) // max(1, batch))
    done = 0
    while done < samples:
        chunk = min(per_chunk, samples - done)
        if isinstance(posterior, DirichletPosterior):
            alpha = _repeat_rows(posterior.concentration, chunk)
            latent = rsample_log_dirichlet(alpha, sampler, floor=posterior.floor).exp()
        else:
            latent = _draw(model, posterior, chunk)[0]
        nll_x = model.reconstruction_loss(model.decoder_output(latent), _repeat_rows(target, chunk)).double() + offset
        total += nll_x.view(chunk, batch).sum(dim=0)
        done += chunk
    return total / samples
