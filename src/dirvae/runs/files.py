"""The files of a run directory: ``config.json`` and ``model.safetensors``.

Reading and writing only, with one clear :class:`~dirvae.errors.RunError`
per problem; nothing here knows what a model is (that is
:meth:`dirvae.DirichletVAE.save_pretrained` / ``from_pretrained``), and
nothing unpickles, so a run directory from anyone is safe to load.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file
from torch import Tensor

from dirvae.io.atomic import atomic_write, atomic_write_bytes, atomic_write_json, json_text
from dirvae.errors import RunError
from dirvae.runs.upgrade import RUN_FORMAT, upgrade

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
BEST_WEIGHTS_NAME = "best.safetensors"
"""The weights of the best validation so far (``dirvae train`` with validation), beside the last ones."""


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """The run's configuration in today's format (older formats upgraded), or one clear :class:`RunError`."""
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
    if not isinstance(config, dict):
        raise RunError(f"{path}: not a dirvae run configuration (expected format {RUN_FORMAT!r})")
    return upgrade(config, path)


def read_weights(run_dir: str | Path, name: str = WEIGHTS_NAME) -> dict[str, Tensor]:
    """The run's state dict from safetensors (on the CPU), or one clear :class:`RunError`."""
    run_dir = Path(run_dir)
    weights = run_dir / name
    if not weights.is_file():
        raise RunError(missing_weights(run_dir, name))
    try:
        return load_file(str(weights), device="cpu")
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise RunError(f"{weights}: corrupt or truncated weights file ({error})") from None


def missing_weights(run_dir: str | Path, name: str) -> str:
    if name == BEST_WEIGHTS_NAME:
        return f"{run_dir}: no {name}; the run has not validated yet (best weights are kept by validation)"
    return f"{run_dir}: no {name}; the run has not saved weights yet"


def weight_shapes(run_dir: str | Path, name: str = WEIGHTS_NAME) -> dict[str, tuple[int, ...]]:
    """Each tensor's shape from the safetensors header alone (no tensor is read), or one clear :class:`RunError`."""
    weights = Path(run_dir) / name
    if not weights.is_file():
        raise RunError(missing_weights(run_dir, name))
    try:
        with safe_open(str(weights), framework="pt") as handle:
            return {name: tuple(handle.get_slice(name).get_shape()) for name in handle.keys()}
    except (SafetensorError, OSError, ValueError, RuntimeError) as error:
        raise RunError(f"{weights}: corrupt or truncated weights file ({error})") from None


def write_run(run_dir: str | Path, config: dict[str, Any], state: dict[str, Tensor]) -> Path:
    """Write the weights, then the config, each atomically: a kill leaves a loadable pair."""
    run_dir = Path(run_dir)
    atomic_write(run_dir / WEIGHTS_NAME, lambda tmp: save_file(state, tmp, metadata={"format": RUN_FORMAT}))
    atomic_write_json(run_dir / CONFIG_NAME, config)
    return run_dir


@dataclass(frozen=True)
class RunSnapshot:
    """A run's two files as of one moment, to be written later (by a background writer).

    ``state`` must be tensors no one changes (copies of training weights):
    the files are serialised when written, off the training thread, and must
    hold the step the snapshot was taken at.
    """

    state: dict[str, Tensor]
    config_text: str

    def write_weights(self, run_dir: str | Path, name: str = WEIGHTS_NAME) -> Path:
        """Only the weights, atomically, under ``name`` (the best weights share the run's config.json)."""
        path = Path(run_dir) / name
        atomic_write(path, lambda tmp: save_file(self.state, tmp, metadata={"format": RUN_FORMAT}))
        return path

    def write(self, run_dir: str | Path) -> Path:
        """As :func:`write_run`: the weights, then the config, each atomically."""
        run_dir = Path(run_dir)
        atomic_write(run_dir / WEIGHTS_NAME, lambda tmp: save_file(self.state, tmp, metadata={"format": RUN_FORMAT}))
        atomic_write_bytes(run_dir / CONFIG_NAME, self.config_text.encode("utf-8"))
        return run_dir


def snapshot_run(config: dict[str, Any], state: dict[str, Tensor]) -> RunSnapshot:
    """``state`` is kept as given (pass copies); the config is serialised now."""
    return RunSnapshot(state, json_text(config))
