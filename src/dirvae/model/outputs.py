"""What a forward pass and a loss return: small records, so callers read fields, not tuples."""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from dirvae.latent.posterior import DirichletPosterior, GaussianPosterior

Posterior = DirichletPosterior | GaussianPosterior


@dataclass
class VAEOutput:
    """Everything one forward pass computed, for losses, logging and inspection."""

    features: Tensor
    posterior: Posterior
    latent: Tensor
    decoder_output: Tensor
    reconstruction: Tensor
    kl: Tensor | None = None
    """KL(q(z|x) ‖ p(z)) per item ``[B]`` with the model's KL kind, drawn together with ``latent``."""

    @property
    def alpha(self) -> Tensor | None:
        """The posterior concentration (None for a Gaussian latent)."""
        return getattr(self.posterior, "concentration", None)


@dataclass
class LossTerms:
    """Batch-mean loss terms; ``total = reconstruction + kl_weight · kl``.

    ``nonfinite`` counts samples whose reconstruction or KL was NaN/Inf: they
    are left in (the total is then non-finite) so the caller sees them.
    """

    total: Tensor
    reconstruction: Tensor
    kl: Tensor
    kl_weight: float
    nonfinite: int
    output: VAEOutput

    @property
    def elbo(self) -> Tensor:
        """−(reconstruction + KL) per sample (nats), whatever kl_weight was.

        It is the ELBO for the exact sampler (with the multi-Gamma KL, a looser
        one).  With ``sampler="igca"`` the reconstruction is taken under IGCA's
        approximation of q(z|x), so it is a training objective, not a bound:
        use :func:`dirvae.evaluation.importance_sampled_nll` for a true ELBO.
        """
        return -(self.reconstruction + self.kl)
