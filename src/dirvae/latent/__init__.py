"""The Dirichlet latent: samplers, densities, KL terms and moment estimates."""

from dirvae.latent.dirichlet import (
    ALPHA_FLOOR,
    dirichlet_log_prob,
    floor_alpha,
    kl_dirichlet,
    rsample_dirichlet,
    rsample_log_dirichlet,
)
from dirvae.latent.moments import OnlineAlphaEstimator, estimate_alpha
from dirvae.latent.posterior import DirichletPosterior, GaussianPosterior

__all__ = [
    "ALPHA_FLOOR",
    "DirichletPosterior",
    "GaussianPosterior",
    "OnlineAlphaEstimator",
    "dirichlet_log_prob",
    "estimate_alpha",
    "floor_alpha",
    "kl_dirichlet",
    "rsample_dirichlet",
    "rsample_log_dirichlet",
]
