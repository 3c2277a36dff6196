"""Runs written by every earlier version, read as today's format: the one place that knows the old ones.

A run records what it was trained with.  When a later version adds an
option, a run saved before it has no such field, and it must be read with
the meaning it was trained with, not today's default.  Each function here
upgrades one format (or one generation of format 1, whose fields grew over
its life) to the next; :func:`upgrade` chains them, so everything past this
module reads today's ``config.json`` only.  ``tests/fixtures/runs/`` holds a
run saved by each of those versions.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from dirvae.errors import RunError

FORMAT_1 = "dirvae-run/1"
RUN_FORMAT = "dirvae-run/2"
"""Format 2 (2026-12-07): the typed run record; a data section holds only its modality's fields."""

PAPER_RECIPE = {"sampler": "igca", "kl_kind": "gamma", "alpha_transform": "softplus", "decoder_input": "simplex", "learn_prior": False}
"""What runs saved before recipes existed trained with (Joo et al.'s recipe, as :data:`dirvae.latent.recipe.RECIPES` ``paper``)."""
PRE_RECIPE_MODEL_SIZE = 64
"""K of every run before recipes existed."""
PRE_FILE_MIXING = {"shuffle_all": False, "pad_last": "none"}
"""Before these options, audio/video read file by file and short audio files were dropped."""
SESSION_ONLY = ("view", "load")
"""Options of one invocation that older versions saved with the run; a scripted resume must not start TensorBoard."""
LEGACY_TENSORBOARD = "tensorboard"
"""Runs before 2026-11-25 wrote their event files to ``<run>/tensorboard/`` (see :func:`tensorboard_folder`)."""


def upgrade(saved: dict[str, Any], where: str | Path = "config.json") -> dict[str, Any]:
    """Any ``config.json`` dirvae has written, as today's format (a new mapping; ``saved`` is unchanged)."""
    config = copy.deepcopy(saved)
    version = config.get("format")
    if version == FORMAT_1:
        config = from_format_1(config)
    elif version != RUN_FORMAT:
        raise RunError(f"{where}: not a dirvae run configuration (expected format {RUN_FORMAT!r} or {FORMAT_1!r})")
    return _before_weight_averaging(config)


def from_format_1(config: dict[str, Any]) -> dict[str, Any]:
    """Format 1 (2026-11-24 to 2026-12-06), in the order its fields appeared."""
    for step in (_before_recipes, _before_file_mixing, _before_validation, _session_options, _data_section):
        config = step(config)
    config["format"] = RUN_FORMAT
    return config


def _before_recipes(config: dict[str, Any]) -> dict[str, Any]:
    """No recipe fields (before 2026-11-25): the paper's recipe, and K = 64 for training options saved without one."""
    model = config.get("model")
    if isinstance(model, dict):
        config["model"] = {**PAPER_RECIPE, **model}
    training = config.get("training")
    if isinstance(training, dict) and "recipe" not in training:
        config["training"] = {**PAPER_RECIPE, "model_size": PRE_RECIPE_MODEL_SIZE, **training, "recipe": "paper"}
    return config


def _before_file_mixing(config: dict[str, Any]) -> dict[str, Any]:
    """No ``shuffle_all``/``pad_last`` (before 2026-11-25): file-by-file order, short audio files dropped."""
    training = config.get("training")
    if isinstance(training, dict):
        config["training"] = {**PRE_FILE_MIXING, **training}
    data = config.get("data")
    if isinstance(data, dict) and data.get("sample_rate") is not None and not data.get("pad_last"):
        data["pad_last"] = "none"  # the audio data section: the only one with a sample rate
    return config


def _before_validation(config: dict[str, Any]) -> dict[str, Any]:
    """No ``val_fraction`` (before 2026-11-25): the run trained on every item; resuming must not hold out items it learnt."""
    training = config.get("training")
    if isinstance(training, dict):
        training.setdefault("val_fraction", 0.0)
    return config


def _session_options(config: dict[str, Any]) -> dict[str, Any]:
    training = config.get("training")
    if isinstance(training, dict):
        config["training"] = {key: value for key, value in training.items() if key not in SESSION_ONLY}
    return config


def _data_section(config: dict[str, Any]) -> dict[str, Any]:
    """Format 1 wrote every modality's data fields, ``null`` where they did not apply; format 2 writes its own."""
    data = config.get("data")
    if isinstance(data, dict):
        shape = data.get("item_shape")
        if data.get("image_size") is not None and data.get("grayscale") is None and isinstance(shape, list) and shape:
            data["grayscale"] = shape[0] == 1  # a picture section without grayscale: format 1 read it from the shape
        config["data"] = {key: value for key, value in data.items() if value is not None}
        config["data"].setdefault("source", "folder")
    return config


def _before_weight_averaging(config: dict[str, Any]) -> dict[str, Any]:
    """No ``ema_decay`` (format 1, and format 2 before 2026-12-07's issue 25): the run validated and exported its raw weights."""
    training = config.get("training")
    if isinstance(training, dict):
        training.setdefault("ema_decay", 0.0)
    return config


def tensorboard_folder(run_dir: Path) -> tuple[str, str]:
    """``(name, version)`` for Lightning's TensorBoard logger: the run directory itself, or an old run's ``tensorboard/``.

    Resuming an old run keeps adding to its folder, so its curves continue in one place.
    """
    return (LEGACY_TENSORBOARD, "") if (run_dir / LEGACY_TENSORBOARD).is_dir() else ("", "")
