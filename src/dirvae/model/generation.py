"""Generation tools on a trained model: prior samples, reconstructions, interpolations, traversals.

A mixin of :class:`~dirvae.model.DirichletVAE`, kept apart from training
(forward, loss, prior upkeep) because none of it is on the training path.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from dirvae.latent.dirichlet import rsample_dirichlet
from dirvae.latent.posterior import DirichletPosterior


class GenerationMixin:
    """Needs ``encode``, ``decode``, ``model_size``, ``latent_kind``, ``latent_shape``, ``prior_alpha``,
    ``prior_concentration`` and ``alpha_floor`` from :class:`~dirvae.model.DirichletVAE`."""

    def _require_latent_shape(self) -> tuple[int, ...]:
        if self.latent_shape is None:
            raise RuntimeError("the latent's spatial shape is unknown: pass latent_shape or run one forward pass first")
        return self.latent_shape

    @torch.no_grad()
    def sample_latent(self, n: int, alpha: Tensor | float | None = None) -> Tensor:
        """``n`` exact draws from the prior (or Dir(alpha)) at every latent position."""
        rest = self._require_latent_shape()
        device = self.prior_alpha.device
        if self.latent_kind == "gaussian":
            return torch.randn(n, self.model_size, *rest, device=device)
        concentration = self.prior_concentration().detach() if alpha is None else torch.as_tensor(alpha, dtype=torch.float32, device=device)
        concentration = concentration.expand(self.model_size) if concentration.dim() == 0 else concentration
        if concentration.shape != (self.model_size,):
            raise ValueError(f"alpha must be one value or {self.model_size} values, got shape {tuple(concentration.shape)}")
        if not bool((concentration > 0).all()):
            raise ValueError("alpha must be positive")
        field = concentration.view(1, -1, *([1] * len(rest))).expand(n, self.model_size, *rest)
        return rsample_dirichlet(field.contiguous(), "implicit", floor=self.alpha_floor)

    @torch.no_grad()
    def sample(self, n: int, alpha: Tensor | float | None = None) -> Tensor:
        """Draw ``n`` latents from the prior (or Dir(alpha)) and decode them."""
        return self.decode(self.sample_latent(n, alpha))

    @torch.no_grad()
    def decode_in_chunks(self, latents: Tensor, batch_size: int = 64) -> Tensor:
        """:meth:`decode` over any number of latents, ``batch_size`` at a time, gathered on the CPU.

        Bounds memory when a tool decodes thousands of points (a traversal,
        a long sample) on a small GPU or CPU.
        """
        device = self.prior_alpha.device
        parts = [self.decode(chunk.to(device)).float().cpu() for chunk in latents.split(max(1, batch_size))]
        return torch.cat(parts)

    @torch.no_grad()
    def reconstruct_in_chunks(self, inputs: Tensor, batch_size: int = 64, stochastic: bool = False) -> Tensor:
        """Each input decoded from its posterior mean (or a draw, ``stochastic``), ``batch_size`` at a time, on the CPU."""
        device = self.prior_alpha.device
        parts = []
        for chunk in inputs.split(max(1, batch_size)):
            posterior = self.encode(chunk.to(device))
            latent = posterior.sample() if stochastic else posterior.mean
            parts.append(self.decode(latent).float().cpu())
        return torch.cat(parts)

    @torch.no_grad()
    def interpolation_path(
        self, a: Tensor, b: Tensor, steps: int = 16, path: Literal["mean", "concentration"] = "mean"
    ) -> Tensor:
        """Latents ``[steps, K, *rest]`` from input ``a`` to input ``b`` (each a batch of one).

        ``mean`` walks the straight line on the simplex between the two posterior
        means; ``concentration`` blends the two posteriors' α (the seed's way)
        and takes the mean of each blended Dirichlet.
        """
        if steps < 2:
            raise ValueError("an interpolation needs at least 2 steps")
        if a.shape[0] != 1 or b.shape[0] != 1:
            raise ValueError(f"interpolate takes two batches of one input each, got {tuple(a.shape)} and {tuple(b.shape)}")
        if path not in ("mean", "concentration"):
            raise ValueError(f"path must be 'mean' or 'concentration', got {path!r}")
        if path == "concentration" and self.latent_kind != "dirichlet":
            raise ValueError("a Gaussian latent has no concentration to blend; use path='mean'")
        posterior = self.encode(torch.cat([a, b]).to(self.prior_alpha.device))
        weights = torch.linspace(0.0, 1.0, steps, device=self.prior_alpha.device).view(-1, *([1] * (posterior.mean.dim() - 1)))
        if isinstance(posterior, DirichletPosterior) and path == "concentration":
            alpha = posterior.concentration
            blended = (1 - weights) * alpha[0:1] + weights * alpha[1:2]
            return blended / blended.sum(dim=1, keepdim=True)
        means = posterior.mean
        return (1 - weights) * means[0:1] + weights * means[1:2]

    @torch.no_grad()
    def interpolate(
        self, a: Tensor, b: Tensor, steps: int = 16, path: Literal["mean", "concentration"] = "mean"
    ) -> Tensor:
        """Decoded interpolation ``[steps, ...]`` from ``a`` to ``b``."""
        return self.decode(self.interpolation_path(a, b, steps, path))

    @torch.no_grad()
    def traversal_latents(self, steps: int = 8, reach: float = 0.9) -> Tensor:
        """``[K·steps, K, *rest]``: from the simplex centre toward each vertex in turn.

        Row k moves every latent position from the centre (1/K, …) a fraction
        ``t ∈ [0, reach]`` of the way to vertex e_k, so decoding it shows what
        component k has learned.  Gaussian latents move along axis k from 0 to
        ``3 · reach`` standard deviations instead.
        """
        if not 0.0 <= reach <= 1.0:
            raise ValueError(f"reach must be in [0, 1] (1 is the vertex), got {reach}")
        rest = self._require_latent_shape()
        k = self.model_size
        device = self.prior_alpha.device
        t = torch.linspace(0.0, reach, steps, device=device)
        eye = torch.eye(k, device=device)
        if self.latent_kind == "gaussian":
            points = eye[:, None, :] * (3.0 * t)[None, :, None]
        else:
            centre = torch.full((k,), 1.0 / k, device=device)
            points = (1 - t)[None, :, None] * centre + t[None, :, None] * eye[:, None, :]
        points = points.reshape(k * steps, k)
        return points.view(k * steps, k, *([1] * len(rest))).expand(k * steps, k, *rest).contiguous()

    @torch.no_grad()
    def traverse(self, steps: int = 8, reach: float = 0.9) -> Tensor:
        """Decoded traversal, one row of ``steps`` outputs per component."""
        return self.decode(self.traversal_latents(steps, reach))
