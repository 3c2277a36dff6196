"""Posterior distribution objects returned by ``DirichletVAE.encode``.

Modelled on diffusers' ``DiagonalGaussianDistribution``: the encoder returns
an object with ``.sample()``, ``.mode()``, ``.mean`` and ``.kl()``, so code
that uses a trained model never touches the sampler or KL functions directly.
Shapes follow the latent: ``[B, K, *rest]`` with the simplex (or the Gaussian
coordinates) on dim 1; ``kl`` and ``log_prob`` reduce dim 1 to ``[B, *rest]``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from dirvae.latent.dirichlet import (
    ALPHA_FLOOR,
    KLKind,
    Sampler,
    dirichlet_log_prob,
    floor_alpha,
    kl_dirichlet,
    rsample_log_dirichlet,
)


class DirichletPosterior:
    """Dir(α) at every latent position, with a choice of reparameterised sampler."""

    def __init__(self, concentration: Tensor, sampler: Sampler = "igca", floor: float = ALPHA_FLOOR) -> None:
        self.concentration = concentration
        self.sampler = sampler
        self.floor = floor

    @property
    def mean(self) -> Tensor:
        """E[z] = α / Σα: the position on the simplex a user reads off."""
        alpha = floor_alpha(self.concentration, self.floor)
        return alpha / alpha.sum(dim=1, keepdim=True)

    def mode(self) -> Tensor:
        """The density's mode when every α > 1, else the mean (the mode is on a face)."""
        alpha = floor_alpha(self.concentration, self.floor)
        if bool((alpha > 1).all()):
            return (alpha - 1) / (alpha.sum(dim=1, keepdim=True) - alpha.shape[1])
        return self.mean

    def rsample_log(self, sampler: Sampler | None = None) -> Tensor:
        return rsample_log_dirichlet(self.concentration, sampler or self.sampler, floor=self.floor)

    def sample(self, sampler: Sampler | None = None) -> Tensor:
        """A reparameterised draw (gradients flow to α)."""
        return self.rsample_log(sampler).exp()

    def kl(self, prior_alpha: Tensor, kind: KLKind = "gamma") -> Tensor:
        return kl_dirichlet(self.concentration, prior_alpha, kind, floor=self.floor)

    def log_prob_from_log(self, log_z: Tensor) -> Tensor:
        return dirichlet_log_prob(log_z, self.concentration, floor=self.floor)

    def log_prob(self, z: Tensor) -> Tensor:
        return self.log_prob_from_log(z.float().clamp_min(torch.finfo(torch.float32).tiny).log())

    def to_latent(self, sample: Tensor) -> Tensor:
        return sample

    def __repr__(self) -> str:
        return f"DirichletPosterior(concentration: {tuple(self.concentration.shape)}, sampler={self.sampler!r})"


class GaussianPosterior:
    """N(μ, σ²) at every latent position: the Gaussian-VAE baseline on identical nets."""

    def __init__(self, mean: Tensor, log_variance: Tensor) -> None:
        self._mean = mean.float()
        self.log_variance = log_variance.float().clamp(-30.0, 20.0)

    @property
    def mean(self) -> Tensor:
        return self._mean

    @property
    def std(self) -> Tensor:
        return (0.5 * self.log_variance).exp()

    def mode(self) -> Tensor:
        return self._mean

    def rsample_log(self, sampler: Sampler | None = None) -> Tensor:
        raise TypeError("a Gaussian latent has no log-simplex sample; use sample()")

    def sample(self, sampler: Sampler | None = None) -> Tensor:
        return self._mean + self.std * torch.randn_like(self._mean)

    def kl(self, prior_alpha: Tensor | None = None, kind: KLKind = "gamma") -> Tensor:
        """KL to the standard normal prior (the prior α is ignored)."""
        return 0.5 * (self._mean**2 + self.log_variance.exp() - 1.0 - self.log_variance).sum(dim=1)

    def log_prob(self, z: Tensor) -> Tensor:
        scaled = (z.float() - self._mean) / self.std
        return (-0.5 * scaled**2 - 0.5 * self.log_variance - 0.5 * math.log(2 * math.pi)).sum(dim=1)

    def __repr__(self) -> str:
        return f"GaussianPosterior(mean: {tuple(self._mean.shape)})"


def standard_normal_log_prob(z: Tensor) -> Tensor:
    """log N(z; 0, I) summed over dim 1: the Gaussian VAE's prior density."""
    return (-0.5 * z.float() ** 2 - 0.5 * math.log(2 * math.pi)).sum(dim=1)
