"""Models from run configurations, networks from registered architecture names.

``config["architecture"] = {"name": ..., "options": {...}}`` names an entry of
:data:`dirvae.nets.registry.ARCHITECTURES`; ``config["model"]`` holds the
:class:`~dirvae.model_config.DirichletVAEConfig` fields.  Custom networks are
passed in directly instead.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from dirvae.model import DirichletVAE
from dirvae.nets.registry import ARCHITECTURES, build_networks

__all__ = ["ARCHITECTURES", "build_model", "build_networks"]


def build_model(
    config: dict[str, Any], *, encoder: nn.Module | None = None, decoder: nn.Module | None = None
) -> DirichletVAE:
    """A fresh (untrained) model from a run configuration (old formats included)."""
    return DirichletVAE.from_run_config(config, encoder=encoder, decoder=decoder)
