"""A trained run for the tools: its model on a device, checked against its config, and its data options."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from dirvae.data import detect_modality, digits, open_folder
from dirvae.errors import DataError, DirvaeError, RunError
from dirvae.model.files import CONFIG_NAME, read_config
from dirvae.model import DirichletVAE

MODALITIES = ("image", "audio", "video")


# --------------------------------------------------------------------- device
def pick_device(device: str | torch.device | None = None) -> torch.device:
    """``None``/``"auto"``: CUDA when present, else the CPU; otherwise that device.

    A device this machine does not have is a :class:`DirvaeError`, not a
    crash halfway through the first tensor copy.
    """
    if device is None or str(device) in ("", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError):
        raise DirvaeError(f"device {str(device)!r}: not a device (use auto, cpu, cuda, cuda:N or mps)") from None
    if chosen.type == "cuda":
        if not torch.cuda.is_available():
            raise DirvaeError(f"device {str(device)!r}: CUDA is not available on this machine (use --device cpu)")
        if chosen.index is not None and chosen.index >= torch.cuda.device_count():
            raise DirvaeError(f"device {str(device)!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if chosen.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise DirvaeError(f"device {str(device)!r}: MPS is not available on this machine (use --device cpu)")
    return chosen


# ------------------------------------------------------------------------ run
def check_config(config: dict[str, Any], where: str | Path = CONFIG_NAME) -> None:
    """Refuse a configuration whose data section cannot describe the model's inputs."""

    def bad(detail: str) -> RunError:
        return RunError(f"{where}: mismatched configuration: {detail}")

    modality = config.get("modality", "image")
    if modality not in MODALITIES:
        raise bad(f"unknown modality {modality!r} (expected one of {', '.join(MODALITIES)})")
    data = config.get("data")
    if not isinstance(data, dict):
        raise bad("no 'data' section")
    shape = data.get("item_shape")
    if not isinstance(shape, list) or not shape or not all(isinstance(s, int) and s > 0 for s in shape):
        raise bad(f"data.item_shape must be a list of positive whole numbers, not {shape!r}")
    if modality == "audio":
        if len(shape) != 2:
            raise bad(f"audio items are [channels, samples], but data.item_shape is {shape}")
        if data.get("sample_size") != shape[1]:
            raise bad(f"data.sample_size is {data.get('sample_size')!r} but data.item_shape is {shape}")
        rate = data.get("sample_rate")
        if not isinstance(rate, int) or rate < 1:
            raise bad(f"data.sample_rate must be a positive whole number, not {rate!r}")
    else:
        if len(shape) != 3 or shape[0] not in (1, 3):
            raise bad(f"{modality} items are [1 or 3, size, size], but data.item_shape is {shape}")
        size = data.get("image_size")
        if size != shape[1] or size != shape[2]:
            raise bad(f"data.image_size is {size!r} but data.item_shape is {shape}")
        if data.get("grayscale") is not None and bool(data["grayscale"]) != (shape[0] == 1):
            raise bad(f"data.grayscale is {data['grayscale']!r} but data.item_shape is {shape}")


def check_model(model: DirichletVAE, config: dict[str, Any], where: str | Path = CONFIG_NAME) -> None:
    """The networks must take ``data.item_shape`` and give it back, through ``model.latent_shape``.

    Checked with one pass of a zero item through the loaded model: a few
    milliseconds for image models, and never more than one item of the work
    the command then does.  (A shapes-only pass on the ``meta`` device costs
    a second of imports per process, and not every network builds there.)
    """
    shape = tuple(config["data"]["item_shape"])
    try:
        with torch.no_grad():
            posterior = model.encode(torch.zeros(1, *shape, device=model.prior_alpha.device))
            output = model.decode(posterior.mean)
    except (RuntimeError, ValueError, IndexError, TypeError) as error:
        detail = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise RunError(
            f"{where}: mismatched configuration: the networks do not take data.item_shape {list(shape)} ({detail})"
        ) from None
    found = tuple(posterior.mean.shape[2:])
    if model.latent_shape is not None and found != tuple(model.latent_shape):
        raise RunError(
            f"{where}: mismatched configuration: model.latent_shape is {list(model.latent_shape)} "
            f"but the encoder gives {list(found)}"
        )
    if tuple(output.shape[1:]) != shape:
        raise RunError(
            f"{where}: mismatched configuration: the decoder gives {list(output.shape[1:])}, "
            f"not data.item_shape {list(shape)}"
        )


def load_run(run_dir: str | Path, device: str | None = None) -> tuple[DirichletVAE, dict[str, Any]]:
    """The trained model (eval mode, on ``device``) and its configuration.

    Everything a user can get wrong is a :class:`RunError` with one line: not
    a run, corrupt or truncated weights, weights that do not fit the
    configuration, or a configuration whose data section does not fit the
    networks (checked with one pass of a zero item).
    """
    config = read_config(run_dir)
    where = Path(run_dir) / CONFIG_NAME
    check_config(config, where)
    model = DirichletVAE.from_pretrained(run_dir, pick_device(device))
    check_model(model, config, where)
    return model, config


def data_options(config: dict[str, Any]) -> dict[str, Any]:
    """Dataset options that reproduce training's preprocessing for this run."""
    modality = config.get("modality", "image")
    data = config.get("data", {})
    if modality == "audio":
        channels = data.get("item_shape", [1])[0]
        # Runs from before --pad-last dropped files shorter than a window.
        pad_last = data.get("pad_last") or "none"
        return {"sample_size": data["sample_size"], "sample_rate": data["sample_rate"], "channels": channels, "pad_last": pad_last}
    grayscale = data.get("grayscale")
    if grayscale is None and data.get("item_shape"):
        grayscale = data["item_shape"][0] == 1
    return {"image_size": data["image_size"], "grayscale": bool(grayscale)}


def dataset_for_run(config: dict[str, Any], directory: str | Path):
    """A dataset over ``directory`` preprocessed like the run's training data.

    ``directory="digits"`` (when that folder does not exist) gives the
    embedded digits, so a model trained on them can be evaluated on them.
    """

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


# ------------------------------------------------------------------- decoding
def decode_in_chunks(model: DirichletVAE, latents: Tensor, batch_size: int = 64) -> Tensor:
    """:meth:`DirichletVAE.decode_in_chunks` (kept here for the tools' imports)."""
    return model.decode_in_chunks(latents, batch_size)


def reconstruct_in_chunks(model: DirichletVAE, inputs: Tensor, batch_size: int = 64, stochastic: bool = False) -> Tensor:
    """:meth:`DirichletVAE.reconstruct_in_chunks` (kept here for the tools' imports)."""
    return model.reconstruct_in_chunks(inputs, batch_size, stochastic)
