"""Architectures by name, so a run directory can rebuild its model from JSON.

``config["architecture"] = {"name": ..., "options": {...}}`` names a factory
below and its keyword arguments; ``config["model"]`` holds the
``DirichletVAE`` options.  Custom networks are passed in directly instead.
"""

from __future__ import annotations

from typing import Any, Callable

from torch import nn

from dirvae.losses.reconstruction import make_reconstruction_loss
from dirvae.model import DirichletVAE
from dirvae.recipe import LEGACY


def _resnet(options: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
    from dirvae.nets.image import resnet_autoencoder

    return resnet_autoencoder(**options)


def _resblock(options: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
    from dirvae.nets.image import resblock_autoencoder

    return resblock_autoencoder(**options)


def _mlp(options: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
    from dirvae.nets.mlp import mlp_autoencoder

    return mlp_autoencoder(**options)


def _wave(options: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
    from dirvae.nets.audio import wave_autoencoder

    return wave_autoencoder(**options, encoder="wave")


def _melresnet(options: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
    from dirvae.nets.audio import wave_autoencoder

    return wave_autoencoder(**options, encoder="melresnet")


ARCHITECTURES: dict[str, Callable[[dict[str, Any]], tuple[nn.Module, nn.Module]]] = {
    "resnet": _resnet,
    "resblock": _resblock,
    "mlp": _mlp,
    "wave": _wave,
    "melresnet": _melresnet,
}


def build_networks(name: str, options: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
    if name not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {name!r}; known: {sorted(ARCHITECTURES)}")
    return ARCHITECTURES[name](dict(options))


def build_model(
    config: dict[str, Any], *, encoder: nn.Module | None = None, decoder: nn.Module | None = None
) -> DirichletVAE:
    """A fresh (untrained) model from a run configuration."""
    # A field missing from a saved run predates it: read it with the meaning the run was trained with.
    options = {**LEGACY, **config["model"]}
    if encoder is None or decoder is None:
        architecture = config["architecture"]
        encoder, decoder = build_networks(architecture["name"], architecture.get("options", {}))
    latent_shape = options.pop("latent_shape", None)
    # A loss's options (e.g. one learned scale per channel); a run saved without them used the defaults.
    loss_options = options.pop("reconstruction_options", None) or {}
    if isinstance(options.get("reconstruction"), str) and loss_options:
        options["reconstruction"] = make_reconstruction_loss(options["reconstruction"], **loss_options)
    return DirichletVAE(
        encoder,
        decoder,
        latent_shape=tuple(latent_shape) if latent_shape is not None else None,
        **options,
    )
