"""A trained run for the tools: its record, and its model on a device, checked against each other."""

from __future__ import annotations

from pathlib import Path

import torch

from dirvae.errors import DirvaeError, RunError
from dirvae.model import DirichletVAE
from dirvae.runs.files import CONFIG_NAME
from dirvae.runs.record import RunConfig, read_run


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


def check_model(model: DirichletVAE, run: RunConfig, where: str | Path = CONFIG_NAME) -> None:
    """The networks must take ``data.item_shape`` and give it back, through ``model.latent_shape``.

    Checked with one pass of a zero item through the loaded model: a few
    milliseconds for image models, and never more than one item of the work
    the command then does.
    """
    shape = tuple(run.data.item_shape)
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


def load_run(run_dir: str | Path, device: str | None = None, weights: str = "last") -> tuple[DirichletVAE, RunConfig]:
    """The trained model (eval mode, on ``device``) and its record.

    Everything a user can get wrong is a :class:`RunError` with one line: not
    a run, corrupt or truncated weights, weights that do not fit the
    configuration, or a data section that does not fit the networks
    (checked with one pass of a zero item).
    """
    run = read_run(run_dir)
    model = DirichletVAE.from_pretrained(run_dir, pick_device(device), weights=weights)
    check_model(model, run, Path(run_dir) / CONFIG_NAME)
    return model, run
