"""The model: :class:`DirichletVAE`, its config, and how it is saved.

One job a module: :mod:`~dirvae.model.vae` (the module: heads, forward, loss,
prior upkeep), :mod:`~dirvae.model.config` (:class:`DirichletVAEConfig`),
:mod:`~dirvae.model.saving` and :mod:`~dirvae.runs.files` (run directories,
no pickle), :mod:`~dirvae.model.generation` (sample, interpolate, traverse),
:mod:`~dirvae.model.outputs` (what forward and loss return).  Plain PyTorch.
"""

from dirvae.model.config import DirichletVAEConfig
from dirvae.model.outputs import LossTerms, VAEOutput
from dirvae.model.vae import LOG_ALPHA_RANGE, LOG_INPUT_FLOOR, DirichletVAE

__all__ = ["DirichletVAE", "DirichletVAEConfig", "LOG_ALPHA_RANGE", "LOG_INPUT_FLOOR", "LossTerms", "VAEOutput"]
