"""Method-of-moments estimates of a Dirichlet's α (Joo et al., appendix).

With ``m1 = E[p]`` and ``m2 = E[p²]`` per component, the precision is
``S = mean_k (m1_k − m2_k) / (m2_k − m1_k²)`` and ``α = S · m1``.  The online
form keeps running sums as buffers, so it is saved in checkpoints and a
resumed run continues the same estimate.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from dirvae.latent.dirichlet import ALPHA_FLOOR


def _as_rows(samples: Tensor) -> Tensor:
    """``[N, K]`` or ``[B, K, *rest]`` → ``[rows, K]`` rows on the simplex."""
    if samples.dim() < 2:
        raise ValueError(f"samples must be [N, K] or [B, K, *rest], got shape {tuple(samples.shape)}")
    if samples.dim() > 2:
        samples = samples.movedim(1, -1).reshape(-1, samples.shape[1])
    return samples.double()


def alpha_from_moments(m1: Tensor, m2: Tensor, floor: float = ALPHA_FLOOR) -> Tensor:
    """α from per-component first and second moments."""
    variance = (m2 - m1**2).clamp_min(torch.finfo(torch.float64).tiny)
    precision = ((m1 - m2) / variance).mean()
    return (precision * m1).clamp_min(floor)


def estimate_alpha(samples: Tensor, floor: float = ALPHA_FLOOR) -> Tensor:
    """Method-of-moments α from samples ``[N, K]`` (or a field ``[B, K, *rest]``)."""
    rows = _as_rows(samples)
    if rows.shape[0] < 2:
        raise ValueError("estimate_alpha needs at least two samples")
    return alpha_from_moments(rows.mean(0), (rows**2).mean(0), floor).to(samples.dtype if samples.is_floating_point() else torch.float32)


class OnlineAlphaEstimator(nn.Module):
    """Running method-of-moments estimate; feed batches with :meth:`update`."""

    count: Tensor
    sum_p: Tensor
    sum_p2: Tensor
    rejected: Tensor

    def __init__(self, num_components: int, floor: float = ALPHA_FLOOR) -> None:
        super().__init__()
        self.floor = floor
        self.register_buffer("count", torch.zeros((), dtype=torch.float64))
        self.register_buffer("sum_p", torch.zeros(num_components, dtype=torch.float64))
        self.register_buffer("sum_p2", torch.zeros(num_components, dtype=torch.float64))
        # Rows with NaN/Inf are left out of the estimate and counted here, never zeroed.
        self.register_buffer("rejected", torch.zeros((), dtype=torch.float64))

    @torch.no_grad()
    def update(self, samples: Tensor) -> None:
        rows = _as_rows(samples.detach()).to(self.sum_p.device)
        finite = torch.isfinite(rows).all(dim=1)
        self.rejected += (~finite).sum()
        rows = rows[finite]
        self.count += rows.shape[0]
        self.sum_p += rows.sum(0)
        self.sum_p2 += (rows**2).sum(0)

    @property
    def ready(self) -> bool:
        return bool(self.count >= 2)

    def estimate(self) -> Tensor:
        if not self.ready:
            raise RuntimeError("the online α estimate needs at least two samples")
        return alpha_from_moments(self.sum_p / self.count, self.sum_p2 / self.count, self.floor).float()

    def reset(self) -> None:
        self.count.zero_()
        self.sum_p.zero_()
        self.sum_p2.zero_()
        self.rejected.zero_()
