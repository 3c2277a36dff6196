"""Run directories: ``config.json`` + ``model.safetensors``, loadable without pickle.

``config.json`` says how to rebuild the networks (an architecture name and its
options) and the model's options; ``model.safetensors`` holds the state dict.
Nothing here unpickles, so a run directory from anyone is safe to load.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from dirvae import __version__
from dirvae.atomic import atomic_write, atomic_write_json
from dirvae.errors import RunError
from dirvae.model import DirichletVAE

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
RUN_FORMAT = "dirvae-run/1"


def model_options(model: DirichletVAE) -> dict[str, Any]:
    """The JSON-able keyword arguments that rebuild ``model`` around its nets."""
    reconstruction = model.likelihood
    name = getattr(reconstruction, "config_name", None) or {
        "MSELoss": "mse",
        "BernoulliLoss": "bernoulli",
        "GaussianLoss": "gaussian",
        "MultiResolutionSTFTLoss": "stft",
    }.get(type(reconstruction).__name__)
    return {
        "model_size": model.model_size,
        "feature_size": model.feature_size,
        "decoder_size": model.decoder_size,
        **model.recipe,
        "latent": model.latent_kind,
        "reconstruction": name,
        "reconstruction_options": reconstruction.config_options() if hasattr(reconstruction, "config_options") else {},
        "alpha_floor": model.alpha_floor,
        "prior_burn_in": model.prior_burn_in,
        "latent_shape": list(model.latent_shape) if model.latent_shape is not None else None,
    }


def save_pretrained(model: DirichletVAE, run_dir: str | Path, config: dict[str, Any]) -> Path:
    """Write ``config.json`` and ``model.safetensors`` atomically into ``run_dir``."""
    run_dir = Path(run_dir)
    full = dict(config)
    full["format"] = RUN_FORMAT
    full["dirvae_version"] = __version__
    full["model"] = {**config.get("model", {}), **model_options(model)}
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    atomic_write(run_dir / WEIGHTS_NAME, lambda tmp: save_file(state, tmp, metadata={"format": RUN_FORMAT}))
    atomic_write_json(run_dir / CONFIG_NAME, full)
    return run_dir


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """The run's configuration, or one clear :class:`RunError`."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: not a run directory (no such folder); pass a folder written by 'dirvae train'")
    path = run_dir / CONFIG_NAME
    if not path.is_file():
        raise RunError(f"{run_dir}: not a run directory (no {CONFIG_NAME}); pass a folder written by 'dirvae train'")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise RunError(f"{path}: unreadable configuration ({error})") from None
    if not isinstance(config, dict) or config.get("format") != RUN_FORMAT:
        raise RunError(f"{path}: not a dirvae run configuration (expected format {RUN_FORMAT!r})")
    return config


def load_pretrained(
    run_dir: str | Path,
    map_location: str | torch.device = "cpu",
    *,
    encoder: torch.nn.Module | None = None,
    decoder: torch.nn.Module | None = None,
) -> DirichletVAE:
    """Rebuild the model from ``config.json`` and load ``model.safetensors`` (no pickle).

    Pass ``encoder``/``decoder`` for a model trained with custom networks that
    the configuration cannot rebuild.
    """
    from dirvae.builders import build_model

    run_dir = Path(run_dir)
    config = read_config(run_dir)
    weights = run_dir / WEIGHTS_NAME
    if not weights.is_file():
        raise RunError(f"{run_dir}: no {WEIGHTS_NAME}; the run has not saved weights yet")
    try:
        state = load_file(str(weights), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise RunError(f"{weights}: corrupt or truncated weights file ({error})") from None
    try:
        model = build_model(config, encoder=encoder, decoder=decoder)
    except (KeyError, TypeError, ValueError) as error:
        raise RunError(f"{run_dir / CONFIG_NAME}: configuration does not describe a model ({error})") from None
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
        detail = lines[1] if len(lines) > 1 else lines[0] if lines else "state dict mismatch"
        detail = detail if len(detail) <= 160 else detail[:157] + "..."
        raise RunError(f"{weights}: weights do not match {CONFIG_NAME} ({detail})") from None
    return model.to(map_location).eval()
