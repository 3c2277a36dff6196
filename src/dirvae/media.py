"""Writing what a model makes: image grids, PNGs and WAVs.

Tensors are in data space: images ``[N, C, H, W]`` in [0, 1], audio
``[C, T]`` in [-1, 1].  Files are written atomically so a viewer polling
``reconstructions.png`` never reads half a file.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import soundfile
import torch
from PIL import Image
from torch import Tensor

from dirvae.atomic import atomic_write


def make_grid(images: Tensor, columns: int | None = None, padding: int = 2, pad_value: float = 1.0) -> Tensor:
    """Tile ``[N, C, H, W]`` images into one ``[C, rows·H', columns·W']`` image."""
    if images.dim() != 4:
        raise ValueError(f"make_grid takes [N, C, H, W], got {tuple(images.shape)}")
    n, c, h, w = images.shape
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    grid = torch.full(
        (c, rows * (h + padding) + padding, columns * (w + padding) + padding),
        pad_value,
        dtype=images.dtype,
        device=images.device,
    )
    for index in range(n):
        row, col = divmod(index, columns)
        top, left = padding + row * (h + padding), padding + col * (w + padding)
        grid[:, top : top + h, left : left + w] = images[index]
    return grid


def to_pil(image: Tensor) -> Image.Image:
    """``[C, H, W]`` in [0, 1] (C = 1 or 3) to a Pillow image."""
    array = (image.detach().float().clamp(0, 1).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
    if array.shape[0] == 1:
        return Image.fromarray(array[0], mode="L")
    return Image.fromarray(np.ascontiguousarray(array[:3].transpose(1, 2, 0)), mode="RGB")


def save_png(image: Tensor, path: str | Path) -> Path:
    picture = to_pil(image)
    return atomic_write(path, lambda tmp: picture.save(tmp, format="PNG"))


def save_wav(audio: Tensor, path: str | Path, sample_rate: int) -> Path:
    """``[C, T]`` (or ``[T]``) in [-1, 1] to a 16-bit WAV."""
    array = audio.detach().float().clamp(-1, 1).cpu().numpy()
    array = array[None] if array.ndim == 1 else array
    return atomic_write(path, lambda tmp: soundfile.write(tmp, array.T, sample_rate, subtype="PCM_16", format="WAV"))


def side_by_side(inputs: Tensor, reconstructions: Tensor) -> Tensor:
    """A grid whose rows alternate inputs and their reconstructions."""
    n = inputs.shape[0]
    columns = min(n, 8)
    rows = []
    for start in range(0, n, columns):
        chunk_in = inputs[start : start + columns]
        chunk_out = reconstructions[start : start + columns]
        pad = columns - chunk_in.shape[0]
        if pad:
            blank = torch.ones(pad, *inputs.shape[1:], dtype=inputs.dtype, device=inputs.device)
            chunk_in, chunk_out = torch.cat([chunk_in, blank]), torch.cat([chunk_out, blank])
        rows += [chunk_in, chunk_out]
    return make_grid(torch.cat(rows), columns=columns)
