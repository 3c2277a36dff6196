"""Posterior distributions returned by ``DirichletVAE.encode``, as torch.distributions.

Modelled on diffusers' ``DiagonalGaussianDistribution`` (the encoder returns a
distribution object, so code that uses a trained model never touches the
sampler or KL functions) and on ``torch.distributions`` itself, so that
``kl_divergence``, ``Independent`` and friends work on what ``encode`` returns.

Shapes.  A latent is ``[B, K, *rest]`` with the simplex (or the Gaussian
coordinates) on dim 1: ``[B, K]`` for one simplex per item, ``[B, K, H, W]``
for a field of simplices.  Each item's whole latent is one event:

* ``batch_shape = (B,)`` and ``event_shape = (K, *rest)``, so a draw with
  ``sample_shape = S`` is ``[*S, B, K, *rest]``, the layout the decoder takes;
* ``log_prob``, ``entropy`` and ``kl_divergence`` return ``[*S, B]``, summed
  over every position of the field (what the ELBO needs per item);
* the simplex is the first event dim, not the last as in
  ``torch.distributions.Dirichlet``: :meth:`DirichletPosterior.to_torch`
  returns the equivalent torch object over ``[B, *rest, K]``.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
from torch import Tensor
from torch.distributions import Dirichlet, Distribution, Independent, Normal, constraints, register_kl

from dirvae.latent.dirichlet import (
    ALPHA_FLOOR,
    KLKind,
    Sampler,
    dirichlet_log_prob,
    floor_alpha,
    kl_dirichlet,
    rsample_log_dirichlet,
)
from dirvae.latent.fused import rsample_log_dirichlet_with_exact_kl

_TINY = torch.finfo(torch.float32).tiny


def _sum_positions(values: Tensor, event_rest: int) -> Tensor:
    """Sum the last ``event_rest`` dims (the field positions) of a per-position quantity."""
    return values.sum(dim=tuple(range(-event_rest, 0))) if event_rest else values


class _SimplexOnFirstEventDim(constraints.Constraint):
    """Non-negative and summing to one along the first event dim (the simplex)."""

    def __init__(self, event_dim: int) -> None:
        self.event_dim = event_dim
        super().__init__()

    def check(self, value: Tensor) -> Tensor:
        simplex_dim = value.dim() - self.event_dim
        on_simplex = (value >= 0).all(dim=simplex_dim) & ((value.sum(dim=simplex_dim) - 1).abs() < 1e-4)
        return on_simplex.reshape(*on_simplex.shape[:simplex_dim], -1).all(dim=-1)


class DirichletPosterior(Distribution):
    """Dir(α) at every latent position, drawn with the model's reparameterised sampler.

    ``rsample`` uses ``sampler`` (``implicit``: exact draws with implicit
    gradients, or the paper's ``igca``); ``sample`` is the same draw without
    gradients.  Argument validation is off by default: a training step must
    not sync to check α, and a NaN α must reach the loss, where it is counted.
    """

    arg_constraints = {"concentration": constraints.positive}
    has_rsample = True

    def __init__(
        self,
        concentration: Tensor,
        sampler: Sampler = "igca",
        floor: float = ALPHA_FLOOR,
        validate_args: bool | None = False,
    ) -> None:
        if concentration.dim() < 2:
            raise ValueError(f"concentration must be [B, K, *rest], got shape {tuple(concentration.shape)}")
        self.concentration = concentration
        self.sampler = sampler
        self.floor = floor
        super().__init__(concentration.shape[:1], concentration.shape[1:], validate_args=validate_args)

    @property
    def _positions_dims(self) -> int:
        return len(self.event_shape) - 1

    @property
    def support(self) -> constraints.Constraint:
        return _SimplexOnFirstEventDim(len(self.event_shape))

    def _floored(self) -> Tensor:
        return floor_alpha(self.concentration, self.floor)

    # ------------------------------------------------------------- moments
    @property
    def mean(self) -> Tensor:
        """E[z] = α / Σα: the position on the simplex a user reads off."""
        alpha = self._floored()
        return alpha / alpha.sum(dim=1, keepdim=True)

    @property
    def mode(self) -> Tensor:
        """The density's maximum at every position.

        ``(α − 1)₊ / Σ(α − 1)₊`` as in torch's Dirichlet: components with
        α ≤ 1 sit on a face.  Where every α ≤ 1 the density peaks at the
        vertices; the vertex of the largest α is returned.
        """
        alpha = self._floored()
        excess = (alpha - 1).clamp_min(0)
        total = excess.sum(dim=1, keepdim=True)
        vertex = torch.zeros_like(alpha).scatter_(1, alpha.argmax(dim=1, keepdim=True), 1.0)
        return torch.where(total > 0, excess / total.clamp_min(_TINY), vertex)

    @property
    def variance(self) -> Tensor:
        alpha = self._floored()
        total = alpha.sum(dim=1, keepdim=True)
        mean = alpha / total
        return mean * (1 - mean) / (total + 1)

    # ------------------------------------------------------------- sampling
    def _flat_concentration(self, sample_shape: Sequence[int]) -> tuple[Tensor, torch.Size]:
        shape = self._extended_shape(torch.Size(sample_shape))
        if len(shape) == self.concentration.dim():
            return self.concentration, shape
        return self.concentration.expand(shape).reshape(-1, *self.event_shape), shape

    def rsample_log(self, sample_shape: Sequence[int] = torch.Size(), sampler: Sampler | None = None) -> Tensor:
        """``log z`` of a reparameterised draw, finite where ``z`` underflows."""
        alpha, shape = self._flat_concentration(sample_shape)
        return rsample_log_dirichlet(alpha, sampler or self.sampler, floor=self.floor).reshape(shape)

    def rsample(self, sample_shape: Sequence[int] = torch.Size(), sampler: Sampler | None = None) -> Tensor:
        """A reparameterised draw ``[*sample_shape, B, K, *rest]`` (gradients flow to α)."""
        return self.rsample_log(sample_shape, sampler).exp()

    def rsample_with_kl(
        self, prior_alpha: Tensor, kind: KLKind = "dirichlet", sampler: Sampler | None = None
    ) -> tuple[Tensor, Tensor]:
        """One reparameterised draw ``[B, K, *rest]`` and the KL per item ``[B]``, as a training step needs them.

        The same as :meth:`rsample` then :meth:`kl`; for the exact sampler with
        the exact KL to a shared prior (the default recipe) both come from one
        autograd node (:mod:`dirvae.latent.fused`), which saves a CPU step
        about 3%.
        """
        method = sampler or self.sampler
        if method == "implicit" and kind == "dirichlet" and prior_alpha.dim() == 1:
            log_z, kl = rsample_log_dirichlet_with_exact_kl(self.concentration, prior_alpha, floor=self.floor)
            return log_z.exp(), _sum_positions(kl, self._positions_dims)
        return self.rsample(sampler=method), self.kl(prior_alpha, kind)

    def sample(self, sample_shape: Sequence[int] = torch.Size(), sampler: Sampler | None = None) -> Tensor:
        """A draw without gradients, as in torch.distributions."""
        with torch.no_grad():
            return self.rsample(sample_shape, sampler)

    # ------------------------------------------------------------- densities
    def log_prob_from_log(self, log_z: Tensor) -> Tensor:
        """log q(z) from ``log z`` ``[*S, B, K, *rest]``, summed over positions: ``[*S, B]``."""
        alpha = self._floored()
        flat_log_z = log_z.reshape(-1, *self.event_shape)
        if flat_log_z.shape[0] != alpha.shape[0]:
            alpha = alpha.expand(*log_z.shape).reshape(flat_log_z.shape)
        per_position = dirichlet_log_prob(flat_log_z, alpha, floor=self.floor)
        return _sum_positions(per_position, self._positions_dims).reshape(log_z.shape[: log_z.dim() - len(self.event_shape)])

    def log_prob(self, value: Tensor) -> Tensor:
        if self._validate_args:
            self._validate_sample(value)
        return self.log_prob_from_log(value.float().clamp_min(_TINY).log())

    def entropy(self) -> Tensor:
        """H[q] per item ``[B]``, summed over positions (float64 sums, like the KL)."""
        alpha = self._floored().double()
        total = alpha.sum(dim=1)
        components = alpha.shape[1]
        log_beta = torch.lgamma(alpha).sum(dim=1) - torch.lgamma(total)
        per_position = log_beta + (total - components) * torch.digamma(total) - ((alpha - 1) * torch.digamma(alpha)).sum(dim=1)
        return _sum_positions(per_position, self._positions_dims).float()

    def kl(self, prior_alpha: Tensor, kind: KLKind = "dirichlet") -> Tensor:
        """KL to Dir(prior_alpha) per item ``[B]``; ``kind="gamma"`` is the paper's multi-Gamma KL."""
        return _sum_positions(kl_dirichlet(self.concentration, prior_alpha, kind, floor=self.floor), self._positions_dims)

    # ------------------------------------------------------------- interop
    def to_torch(self) -> Distribution:
        """The same distribution as torch objects, over values laid out ``[B, *rest, K]``."""
        base = Dirichlet(self._floored().movedim(1, -1))
        return Independent(base, self._positions_dims) if self._positions_dims else base

    def expand(self, batch_shape: Sequence[int], _instance=None) -> "DirichletPosterior":
        batch_shape = torch.Size(batch_shape)
        if len(batch_shape) != 1:
            raise ValueError("a DirichletPosterior's batch is one dim (the items); add draws with sample_shape")
        return DirichletPosterior(self.concentration.expand(*batch_shape, *self.event_shape), self.sampler, self.floor)

    def __repr__(self) -> str:
        return f"DirichletPosterior(concentration: {tuple(self.concentration.shape)}, sampler={self.sampler!r})"


class GaussianPosterior(Distribution):
    """N(μ, σ²) at every latent position: the Gaussian-VAE baseline on identical nets."""

    arg_constraints = {"loc": constraints.real, "log_variance": constraints.real}
    support = constraints.real
    has_rsample = True

    def __init__(self, mean: Tensor, log_variance: Tensor, validate_args: bool | None = False) -> None:
        self.loc = mean.float()
        self.log_variance = log_variance.float().clamp(-30.0, 20.0)
        super().__init__(self.loc.shape[:1], self.loc.shape[1:], validate_args=validate_args)

    @property
    def _positions_dims(self) -> int:
        return len(self.event_shape) - 1

    @property
    def mean(self) -> Tensor:
        return self.loc

    @property
    def mode(self) -> Tensor:
        return self.loc

    @property
    def stddev(self) -> Tensor:
        return (0.5 * self.log_variance).exp()

    std = stddev

    @property
    def variance(self) -> Tensor:
        return self.log_variance.exp()

    def rsample(self, sample_shape: Sequence[int] = torch.Size(), sampler: Sampler | None = None) -> Tensor:
        shape = self._extended_shape(torch.Size(sample_shape))
        return self.loc + self.stddev * torch.randn(shape, dtype=self.loc.dtype, device=self.loc.device)

    def sample(self, sample_shape: Sequence[int] = torch.Size(), sampler: Sampler | None = None) -> Tensor:
        with torch.no_grad():
            return self.rsample(sample_shape)

    def rsample_log(self, sample_shape: Sequence[int] = torch.Size(), sampler: Sampler | None = None) -> Tensor:
        raise TypeError("a Gaussian latent has no log-simplex sample; use rsample()")

    def log_prob(self, value: Tensor) -> Tensor:
        scaled = (value.float() - self.loc) / self.stddev
        per_coordinate = -0.5 * scaled**2 - 0.5 * self.log_variance - 0.5 * math.log(2 * math.pi)
        return per_coordinate.reshape(*per_coordinate.shape[: per_coordinate.dim() - len(self.event_shape)], -1).sum(-1)

    def entropy(self) -> Tensor:
        per_coordinate = 0.5 * (1 + math.log(2 * math.pi)) + 0.5 * self.log_variance
        return per_coordinate.reshape(per_coordinate.shape[0], -1).sum(dim=1)

    def rsample_with_kl(
        self, prior_alpha: Tensor | None = None, kind: KLKind = "dirichlet", sampler: Sampler | None = None
    ) -> tuple[Tensor, Tensor]:
        """A reparameterised draw and the KL per item, like :meth:`DirichletPosterior.rsample_with_kl`."""
        return self.rsample(), self.kl()

    def kl(self, prior_alpha: Tensor | None = None, kind: KLKind = "dirichlet") -> Tensor:
        """KL to the standard normal prior per item ``[B]`` (a prior α is ignored)."""
        per_coordinate = 0.5 * (self.loc**2 + self.log_variance.exp() - 1.0 - self.log_variance)
        return per_coordinate.reshape(per_coordinate.shape[0], -1).sum(dim=1)

    def to_torch(self) -> Distribution:
        return Independent(Normal(self.loc, self.stddev), len(self.event_shape))

    def __repr__(self) -> str:
        return f"GaussianPosterior(mean: {tuple(self.loc.shape)})"


def standard_normal_log_prob(z: Tensor) -> Tensor:
    """log N(z; 0, I) summed over dim 1: the Gaussian VAE's prior density."""
    return (-0.5 * z.float() ** 2 - 0.5 * math.log(2 * math.pi)).sum(dim=1)


# ---------------------------------------------------------------- KL registry
def _prior_concentration(prior: Distribution, like: DirichletPosterior) -> Tensor:
    """The prior's α in the posterior's layout: a ``[K]`` vector or ``[B, K, *rest]``."""
    if isinstance(prior, Independent):
        prior = prior.base_dist
    if isinstance(prior, DirichletPosterior):
        return prior.concentration
    if not isinstance(prior, Dirichlet):
        raise NotImplementedError(f"no KL from a DirichletPosterior to {type(prior).__name__}")
    alpha = prior.concentration
    if alpha.dim() == 1:
        return alpha
    return alpha.movedim(-1, 1).expand_as(like.concentration)


@register_kl(DirichletPosterior, DirichletPosterior)
def _kl_posterior_posterior(q: DirichletPosterior, p: DirichletPosterior) -> Tensor:
    return q.kl(p.concentration.expand_as(q.concentration), "dirichlet")


@register_kl(DirichletPosterior, Dirichlet)
def _kl_posterior_dirichlet(q: DirichletPosterior, p: Dirichlet) -> Tensor:
    return q.kl(_prior_concentration(p, q), "dirichlet")


@register_kl(DirichletPosterior, Independent)
def _kl_posterior_independent(q: DirichletPosterior, p: Independent) -> Tensor:
    return q.kl(_prior_concentration(p, q), "dirichlet")


@register_kl(GaussianPosterior, Normal)
def _kl_gaussian_normal(q: GaussianPosterior, p: Normal) -> Tensor:
    loc, scale = p.loc, p.scale
    if loc.dim() == 1:
        loc = loc.view(1, -1, *([1] * q._positions_dims))
        scale = scale.view(1, -1, *([1] * q._positions_dims))
    variance_ratio = (q.variance / scale**2)
    per_coordinate = 0.5 * (variance_ratio + ((q.loc - loc) / scale) ** 2 - 1 - variance_ratio.log())
    return per_coordinate.reshape(per_coordinate.shape[0], -1).sum(dim=1)


@register_kl(GaussianPosterior, Independent)
def _kl_gaussian_independent(q: GaussianPosterior, p: Independent) -> Tensor:
    if not isinstance(p.base_dist, Normal):
        raise NotImplementedError(f"no KL from a GaussianPosterior to Independent({type(p.base_dist).__name__})")
    return _kl_gaussian_normal(q, p.base_dist)
