"""Pictures: ``[N, C, H, W]`` in [0, 1] (C = 1 or 3) to uint8, grids, files and GIFs.

One path to uint8 (:func:`to_uint8`) serves every picture writer, so a PNG,
a GIF frame and a video frame of the same tensor hold the same pixels.
Files are written atomically, so a viewer polling ``reconstructions.png``
never reads half a file.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor

from dirvae.io.atomic import atomic_write
from dirvae.errors import DirvaeError
from dirvae.io.names import numbered

IMAGE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}


def to_uint8(images: Tensor, rgb: bool = False) -> np.ndarray:
    """``[N, C, H, W]`` in [0, 1] → ``[N, H, W, C]`` uint8 (C = 3 when ``rgb``)."""
    array = (images.detach().float().clamp(0, 1).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
    array = array.transpose(0, 2, 3, 1)
    if rgb and array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return np.ascontiguousarray(array[..., :3])


def to_pil(image: Tensor) -> Image.Image:
    """``[C, H, W]`` in [0, 1] (C = 1 or 3) to a Pillow image."""
    array = to_uint8(image.unsqueeze(0))[0]
    if array.shape[-1] == 1:
        return Image.fromarray(array[..., 0], mode="L")
    return Image.fromarray(array, mode="RGB")


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


def save_image(image: Tensor, path: str | Path) -> Path:
    """One ``[C, H, W]`` picture, in the format its extension names."""
    path = Path(path)
    fmt = IMAGE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DirvaeError(f"{path}: not a picture extension ({', '.join(sorted(IMAGE_FORMATS))})")
    picture = to_pil(image)
    return atomic_write(path, lambda tmp: picture.save(tmp, format=fmt))


def save_grid(images: Tensor, path: str | Path, columns: int | None = None, padding: int = 2) -> Path:
    """``[N, C, H, W]`` tiled ``columns`` wide (default about square) into one picture."""
    return save_image(make_grid(images.detach().float().cpu(), columns=columns, padding=padding), path)


def save_strip(images: Tensor, path: str | Path, padding: int = 2) -> Path:
    """``[N, C, H, W]`` side by side in one row."""
    return save_grid(images, path, columns=images.shape[0], padding=padding)


def save_frames(images: Tensor, folder: str | Path, stem: str = "frame") -> list[Path]:
    """One PNG per picture: ``folder/stem_000.png``, ``stem_001.png``, ..."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = numbered(folder, stem, images.shape[0], ".png")
    for image, path in zip(images, paths):
        save_image(image, path)
    return paths


def save_gif(frames: Tensor, path: str | Path, fps: float = 8.0, loop: bool = True) -> Path:
    """An animated GIF, one frame per picture, ``fps`` frames a second.

    Pillow merges a frame identical to the one before into it (lengthening
    its duration), so the total duration is always ``N / fps`` but a GIF of
    repeated pictures holds fewer frames.
    """
    if frames.shape[0] < 1:
        raise ValueError("a GIF needs at least one frame")
    pictures = [to_pil(frame) for frame in frames.detach().float().cpu()]
    duration = max(10, int(round(1000.0 / float(fps))))
    options = {"format": "GIF", "save_all": True, "append_images": pictures[1:], "duration": duration}
    if loop:
        options["loop"] = 0
    return atomic_write(path, lambda tmp: pictures[0].save(tmp, **options))
