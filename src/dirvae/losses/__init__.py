"""Reconstruction terms (likelihoods); importing the package registers every built-in by name."""

from dirvae.losses.reconstruction import (
    LOSSES,
    BernoulliLoss,
    CallableLoss,
    DiscretizedLogisticLoss,
    GaussianLoss,
    MSELoss,
    ReconstructionLoss,
    make_reconstruction_loss,
)
from dirvae.losses.spectral import MultiResolutionSTFTLoss

__all__ = [
    "LOSSES",
    "BernoulliLoss",
    "CallableLoss",
    "DiscretizedLogisticLoss",
    "GaussianLoss",
    "MSELoss",
    "MultiResolutionSTFTLoss",
    "ReconstructionLoss",
    "make_reconstruction_loss",
]
