"""Reconstruction terms: the decoder's likelihood, one value per sample.

Each loss maps the decoder's raw output and the target to a ``[B]`` tensor of
negative log-likelihoods (up to a constant for MSE), summed over every
non-batch axis.  Summing rather than averaging keeps the reconstruction and the
KL on the same scale, so a KL weight of 1 is the true ELBO.  ``mean`` turns the
raw output into data space (probabilities for Bernoulli logits), which is what
a user sees when they decode.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _sum_per_sample(values: Tensor) -> Tensor:
    return values.reshape(values.shape[0], -1).sum(dim=1)


class ReconstructionLoss(nn.Module):
    """Base class: ``forward(output, target) -> [B]`` and ``mean(output)``."""

    def forward(self, output: Tensor, target: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def mean(self, output: Tensor) -> Tensor:
        """Data-space value of a raw decoder output (identity by default)."""
        return output


class MSELoss(ReconstructionLoss):
    """Summed squared error: a Gaussian likelihood with fixed unit-half variance."""

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        return _sum_per_sample((output.float() - target.float()) ** 2)


class BernoulliLoss(ReconstructionLoss):
    """Binary cross-entropy on logits; targets may be binary or in [0, 1]."""

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        bce = F.binary_cross_entropy_with_logits(output.float(), target.float(), reduction="none")
        return _sum_per_sample(bce)

    def mean(self, output: Tensor) -> Tensor:
        return torch.sigmoid(output)


class GaussianLoss(ReconstructionLoss):
    """Gaussian likelihood with one learned scale, so the NLL is a true density."""

    def __init__(self, initial_scale: float = 0.1) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.tensor(math.log(initial_scale)))

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        log_scale = self.log_scale.float()
        z = (target.float() - output.float()) / log_scale.exp()
        nll = 0.5 * z**2 + log_scale + 0.5 * math.log(2 * math.pi)
        return _sum_per_sample(nll)


class CallableLoss(ReconstructionLoss):
    """Wraps a user's ``fn(output, target) -> [B]`` so it plugs in like a built-in."""

    def __init__(self, fn: Callable[[Tensor, Tensor], Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        value = self.fn(output, target)
        if value.dim() != 1 or value.shape[0] != output.shape[0]:
            raise ValueError(
                f"a reconstruction loss must return one value per sample, shape [{output.shape[0]}], got {tuple(value.shape)}"
            )
        return value


BUILTIN_LOSSES: dict[str, type[ReconstructionLoss]] = {
    "mse": MSELoss,
    "bernoulli": BernoulliLoss,
    "bce": BernoulliLoss,
    "gaussian": GaussianLoss,
}


def make_reconstruction_loss(spec: str | ReconstructionLoss | Callable[[Tensor, Tensor], Tensor]) -> ReconstructionLoss:
    """Resolve a name, a loss module, or a plain callable into a loss module."""
    if isinstance(spec, ReconstructionLoss):
        return spec
    if isinstance(spec, str):
        key = spec.lower()
        if key == "stft":
            from dirvae.losses.spectral import MultiResolutionSTFTLoss

            return MultiResolutionSTFTLoss()
        if key not in BUILTIN_LOSSES:
            raise ValueError(f"unknown reconstruction loss {spec!r}; choose one of {sorted(BUILTIN_LOSSES) + ['stft']}")
        return BUILTIN_LOSSES[key]()
    if callable(spec):
        return CallableLoss(spec)
    raise TypeError(f"reconstruction must be a name, a ReconstructionLoss or a callable, got {type(spec).__name__}")
