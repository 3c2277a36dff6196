"""Resuming a run: which checkpoint, what the run was saved with, and whether anything is left to train."""

from __future__ import annotations

from pathlib import Path

from dirvae.errors import DirvaeError, RunError
from dirvae.runs.files import CONFIG_NAME
from dirvae.runs.record import RunConfig, read_run
from dirvae.training.checkpoints import newest_checkpoint
from dirvae.training.config import CAPS, TrainConfig


def resume_checkpoint(run_dir: Path) -> Path:
    """The checkpoint ``--load RUN`` continues from: the readable one with the newest step."""
    if not run_dir.is_dir():
        raise DirvaeError(f"{run_dir}: --load needs a run directory written by 'dirvae train'; no such folder")
    return newest_checkpoint(run_dir)[0]


def saved_run(run_dir: Path) -> RunConfig | None:
    """The record a run was saved with (any version's), or None before its first export; damage is one line."""
    if not (run_dir / CONFIG_NAME).is_file():
        return None
    try:
        return read_run(run_dir)
    except RunError as error:
        raise RunError(f"{error}; restore it, or start a new run") from None


def saved_layer(saved: RunConfig | None, later_layers: list[dict]) -> dict:
    """The saved training options as the lowest layer under a config file and flags.

    Caps given on the resume command replace the saved ones as a pair:
    ``--load RUN --epochs 5`` must not stay stopped by the saved ``--iterations``.
    """
    if saved is None or saved.training is None:
        return {}
    layer = {key: value for key, value in saved.training.to_dict().items()}
    if any(cap in later for later in later_layers for cap in CAPS):
        for cap in CAPS:
            layer.pop(cap, None)
    return layer


def past_cap(options: TrainConfig, progress: dict[str, int]) -> str | None:
    """Why a resumed run has nothing left to train, or None.  Caps are absolute targets."""
    if options.iterations is not None and progress["global_step"] >= options.iterations:
        return f"the run is at step {progress['global_step']}, already at or past --iterations {options.iterations}"
    if options.epochs is not None and progress["epoch"] >= options.epochs:
        return f"the run has finished {progress['epoch']} epochs, already at or past --epochs {options.epochs}"
    return None
