"""dirvae: Dirichlet Variational Autoencoders for any kind of data.

The core (latent math, :class:`DirichletVAE`, losses, optimiser recipe) is
plain PyTorch; Lightning is used only by :mod:`dirvae.training`.
"""

from dirvae.nets.broadcast import broadcast
from dirvae.latent import (
    DirichletPosterior,
    GaussianPosterior,
    OnlineAlphaEstimator,
    estimate_alpha,
    kl_dirichlet,
    rsample_dirichlet,
)
from dirvae.losses.reconstruction import (
    BernoulliLoss,
    DiscretizedLogisticLoss,
    GaussianLoss,
    MSELoss,
    ReconstructionLoss,
)
from dirvae.model import DirichletVAE, DirichletVAEConfig, LossTerms, VAEOutput
from dirvae.latent.recipe import RECIPES
from dirvae.training.optim import GradientSanitizer, make_optimizer, sanitize_gradients
from dirvae.version import __version__

__all__ = [
    "BernoulliLoss",
    "DirichletPosterior",
    "DirichletVAEConfig",
    "DirichletVAE",
    "DiscretizedLogisticLoss",
    "GaussianLoss",
    "GaussianPosterior",
    "GradientSanitizer",
    "LossTerms",
    "MSELoss",
    "OnlineAlphaEstimator",
    "RECIPES",
    "ReconstructionLoss",
    "VAEOutput",
    "broadcast",
    "estimate_alpha",
    "kl_dirichlet",
    "make_optimizer",
    "rsample_dirichlet",
    "sanitize_gradients",
    "__version__",
]
