"""Using a trained run: its model, and data read the way it was trained.

The tools (sample, reconstruct, interpolate, traverse, encode, evaluate) all
start here, so every one of them reads inputs with the same image size,
channels and audio window as training, and fails with the same clear errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from dirvae.errors import DataError
from dirvae.export import load_pretrained, read_config
from dirvae.model import DirichletVAE


def pick_device(device: str | None = None) -> torch.device:
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def load_run(run_dir: str | Path, device: str | None = None) -> tuple[DirichletVAE, dict[str, Any]]:
    """The trained model (eval mode, on ``device``) and its configuration."""
    config = read_config(run_dir)
    return load_pretrained(run_dir, pick_device(device)), config


def data_options(config: dict[str, Any]) -> dict[str, Any]:
    """Dataset options that reproduce training's preprocessing for this run."""
    modality = config.get("modality", "image")
    data = config.get("data", {})
    if modality == "audio":
        channels = data.get("item_shape", [1])[0]
        return {"sample_size": data["sample_size"], "sample_rate": data["sample_rate"], "channels": channels}
    options: dict[str, Any] = {"image_size": data["image_size"]}
    if modality == "image":
        options["grayscale"] = bool(data.get("grayscale"))
    return options


def dataset_for_run(config: dict[str, Any], directory: str | Path):
    """A dataset over ``directory`` preprocessed like the run's training data.

    ``directory="digits"`` (when that folder does not exist) gives the
    embedded digits, so a model trained on them can be evaluated on them.
    """
    from dirvae.data import detect_modality, digits, open_folder

    modality = config.get("modality", "image")
    directory = Path(directory)
    if str(directory) == "digits" and not directory.exists():
        if modality != "image":
            raise DataError(f"the embedded digits are images; this run models {modality}")
        return digits(image_size=config["data"]["image_size"], grayscale=bool(config["data"].get("grayscale")))
    if directory.is_dir():
        found = detect_modality(directory)
        if found is not None and found != modality:
            raise DataError(f"{directory}: holds {found} files, but this run models {modality}")
    return open_folder(directory, modality, **data_options(config))


def load_inputs(config: dict[str, Any], paths: list[str | Path]) -> tuple[torch.Tensor, list[str]]:
    """Single files (or folders) as one batch preprocessed like training, with names.

    Audio and video files contribute their first window or frame.  An
    unreadable file or one of the wrong modality is a :class:`DataError`.
    """
    import tempfile
    import os
    import shutil

    from dirvae.data import detect_modality

    items, names = [], []
    for path in map(Path, paths):
        if not path.exists():
            raise DataError(f"{path}: no such file")
        if path.is_dir():
            dataset = dataset_for_run(config, path)
            for index in range(len(dataset)):
                item = dataset[index]
                if item is not None:
                    items.append(item[0])
                    names.append(dataset.describe(index))
            continue
        with tempfile.TemporaryDirectory() as folder:
            link = Path(folder) / path.name
            try:
                os.symlink(path.resolve(), link)
            except OSError:
                shutil.copy(path, link)
            found = detect_modality(folder)
            modality = config.get("modality", "image")
            if found is None:
                raise DataError(f"{path}: not a readable {modality} file")
            if found != modality:
                raise DataError(f"{path}: is {found}, but this run models {modality}")
            dataset = dataset_for_run(config, folder)
            item = dataset[0] if len(dataset) else None
            if item is None:
                raise DataError(f"{path}: unreadable or corrupt {modality} file")
            items.append(item[0])
            names.append(path.name)
    if not items:
        raise DataError("no readable input given")
    return torch.stack(items), names
