"""Run directories: ``config.json`` + ``model.safetensors``, loadable without pickle.

The model's own :meth:`~dirvae.DirichletVAE.save_pretrained` and
:meth:`~dirvae.DirichletVAE.from_pretrained` do the work; the file handling
is :mod:`dirvae.run_files`.  These functions keep the names the training
loop and the tools have always used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from dirvae.model import DirichletVAE
from dirvae.run_files import CONFIG_NAME, RUN_FORMAT, WEIGHTS_NAME, RunSnapshot, read_config, read_weights, snapshot_run, write_run

__all__ = [
    "CONFIG_NAME", "RUN_FORMAT", "WEIGHTS_NAME", "RunSnapshot", "load_pretrained", "read_config", "read_weights",
    "run_snapshot", "save_pretrained", "write_run",
]  # fmt: skip


def save_pretrained(model: DirichletVAE, run_dir: str | Path, config: dict[str, Any]) -> Path:
    """Write ``config.json`` (``config``'s sections plus the model's) and ``model.safetensors`` atomically."""
    return model.save_pretrained(run_dir, extra=config)


def run_snapshot(model: DirichletVAE, config: dict[str, Any]) -> RunSnapshot:
    """What :func:`save_pretrained` would write now, copied, for writing later (``snapshot.write(run_dir)``)."""
    return snapshot_run(*model.run_contents(extra=config, copy=True))


def load_pretrained(
    run_dir: str | Path,
    map_location: str | torch.device = "cpu",
    *,
    encoder: torch.nn.Module | None = None,
    decoder: torch.nn.Module | None = None,
) -> DirichletVAE:
    """Rebuild the model from ``config.json`` and load ``model.safetensors`` (no pickle)."""
    return DirichletVAE.from_pretrained(run_dir, map_location, encoder=encoder, decoder=decoder)
