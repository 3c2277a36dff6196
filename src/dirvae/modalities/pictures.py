"""What modalities whose items are pictures ``[C, S, S]`` in [0, 1] share: outputs and the live view.

Images and video frames train on the same kind of item, so they write the
same grids, strips, GIFs and videos; only their defaults differ (an image
interpolation is a GIF, a video's an MP4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar

import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor

from dirvae.io.outputs import save_pictures
from dirvae.io.pictures import make_grid, save_image, save_strip, side_by_side
from dirvae.io.names import safe_stem
from dirvae.modalities.spec import DataConfig

PICTURE_KINDS = ("picture", "gif", "movie", "folder")
VIEW_SIZE = 128
"""Interpolation pictures under this many pixels a side are enlarged by a whole factor for viewing."""


@dataclass(frozen=True)
class PictureData(DataConfig):
    """Pictures resized and centre-cropped to ``image_size`` squares, RGB or grayscale."""

    image_size: int
    grayscale: bool

    def problem(self) -> str | None:
        shape = list(self.item_shape)
        if len(shape) != 3 or shape[0] not in (1, 3):
            return f"pictures are [1 or 3, size, size], but data.item_shape is {shape}"
        if self.image_size != shape[1] or self.image_size != shape[2]:
            return f"data.image_size is {self.image_size!r} but data.item_shape is {shape}"
        if bool(self.grayscale) != (shape[0] == 1):
            return f"data.grayscale is {self.grayscale!r} but data.item_shape is {shape}"
        return super().problem()


def for_viewing(steps: Tensor, a: Tensor, b: Tensor, kind: str) -> tuple[Tensor, int | None]:
    """Frames that show both inputs: [A | step | B] per frame of an animation, or A, steps, B as a strip.

    ``steps`` is ``[N, C, H, W]``; ``a`` and ``b`` are ``[1, C, H, W]`` inputs.
    Returns the pictures and the strip's column count (None for animations).
    """
    a, b = a.to(steps).clamp(0, 1), b.to(steps).clamp(0, 1)
    if kind == "picture":
        pictures, columns = torch.cat([a, steps, b]), steps.shape[0] + 2
    else:
        gap = torch.ones(*steps.shape[:3], max(1, steps.shape[-1] // 16), dtype=steps.dtype, device=steps.device)
        n = steps.shape[0]
        pictures = torch.cat([a.expand(n, -1, -1, -1), gap, steps, gap, b.expand(n, -1, -1, -1)], dim=-1)
        columns = None
    factor = max(1, VIEW_SIZE // max(1, min(steps.shape[-2:])))
    if factor > 1:
        pictures = F.interpolate(pictures, scale_factor=factor, mode="nearest")
    return pictures, columns


def non_square(names: list[str]) -> list[tuple[str, tuple[int, int]]]:
    """The picture files among ``names`` that are not square (read from their headers only)."""
    found = []
    for name in names:
        path = Path(name)
        if not path.is_file():
            continue  # digits#N, FILE#frame=N: not a picture file
        try:
            with Image.open(path) as picture:
                size = picture.size
        except OSError:
            continue
        if size[0] != size[1]:
            found.append((name, size))
    return found


PICTURE_ARCHITECTURES = ("resblock", "resnet", "mlp")
"""The networks for pictures; the first is the default for a folder."""
IMAGE_SIZE = 64
"""The square side pictures and frames are cut to unless ``--image-size`` says."""


def picture_data(cls: type[PictureData], options: Any, source: str, *, size: int | None = None, grayscale: bool | None = None) -> PictureData:
    """A picture data section from the training options (``size``/``grayscale`` fixed where a source has its own)."""
    side = size or options.image_size or IMAGE_SIZE
    gray = bool(options.grayscale) if grayscale is None else grayscale
    return cls(source, (1 if gray else 3, side, side), image_size=side, grayscale=gray)


class PictureOutputs:
    """The tools' outputs and the live view for picture items (a mixin of a :class:`~dirvae.modalities.spec.Modality`)."""

    output_kinds: ClassVar[dict[str, tuple[str, ...]]] = {
        "sample": PICTURE_KINDS, "reconstruct": PICTURE_KINDS, "interpolate": ("gif", "picture", "movie", "folder"),
        "traverse": PICTURE_KINDS,
    }  # fmt: skip
    default_outputs: ClassVar[dict[str, str]] = {
        "sample": "samples.png", "reconstruct": "reconstructions.png", "interpolate": "interpolation.gif",
        "traverse": "traversal.png",
    }  # fmt: skip
    psnr: ClassVar[bool] = True

    def write_samples(self, samples: Tensor, out: Path, kind: str, data: DataConfig, *, fps: float) -> str:
        return save_pictures(samples, out, kind, fps=fps, stem="sample")

    def write_reconstructions(
        self, reconstruct: Callable[[Tensor], Tensor], inputs: Tensor, names: list[str], out: Path, kind: str, data: DataConfig,
        *, fps: float, batch_size: int,
    ) -> str:  # fmt: skip
        outputs = reconstruct(inputs)
        if kind == "picture":
            save_image(side_by_side(inputs, outputs), out)
            return f"{out} (rows alternate inputs and reconstructions)"
        separator = torch.ones(*inputs.shape[:-1], 2)
        pairs = torch.cat([inputs, separator, outputs], dim=-1)  # input | reconstruction
        if kind == "folder":
            out.mkdir(parents=True, exist_ok=True)
            for index, (pair, name) in enumerate(zip(pairs, names)):
                save_image(pair, out / f"{index:03d}_{safe_stem(name)}.png")
            return f"{out}/ ({len(names)} PNG files, input left, reconstruction right)"
        return save_pictures(pairs, out, kind, fps=fps) + ", input left, reconstruction right"

    def write_interpolation(
        self, steps: Tensor, ends: tuple[Tensor, Tensor], out: Path, kind: str, data: DataConfig, *, fps: float, latents: Tensor | None = None,
    ) -> str:  # fmt: skip
        if kind in ("folder", "movie"):
            return save_pictures(steps, out, kind, fps=fps, stem="step")
        pictures, columns = for_viewing(steps.float().cpu(), ends[0].float().cpu(), ends[1].float().cpu(), kind)
        return save_pictures(pictures, out, kind, columns=columns, fps=fps, stem="step") + "; inputs A and B shown at both ends"

    def write_traversal(self, rows: Tensor, out: Path, kind: str, data: DataConfig, *, fps: float, latents: Tensor | None = None) -> str:
        k, steps = rows.shape[:2]
        if kind == "picture":
            return save_pictures(rows.flatten(0, 1), out, kind, columns=steps)
        if kind == "folder":
            out.mkdir(parents=True, exist_ok=True)
            width = max(3, len(str(k - 1)))
            for index, row in enumerate(rows):
                save_strip(row, out / f"component_{index:0{width}d}.png")
            return f"{out}/ ({k} strip PNGs, component_{0:0{width}d}.png ...)"
        columns = math.ceil(math.sqrt(k))
        frames = torch.stack([make_grid(rows[:, step], columns=columns) for step in range(steps)])
        return save_pictures(frames, out, kind, fps=fps)

    def warn_inputs(self, names: list[str], data: DataConfig) -> str | None:
        cropped = non_square(names)
        if not cropped:
            return None
        name, (width, height) = cropped[0]
        side = getattr(data, "image_size", None)
        return (
            f"centre-cropped {len(cropped)} non-square input(s) to the model's square {side}x{side} "
            f"(e.g. {name}, {width}x{height}); the edges are not reconstructed"
        )

    def draw_view(
        self, run_dir: Path, experiment: Any, inputs: Tensor, reconstructions: Tensor, samples: Tensor, step: int,
        *, held_out: bool, data: DataConfig, state: Any = None,
    ) -> None:  # fmt: skip
        grid = side_by_side(inputs.clamp(0, 1), reconstructions.clamp(0, 1))
        save_image(grid, run_dir / "reconstructions.png")
        if experiment is not None:
            # Tagged by where the inputs came from: validation items, or training ones.
            tag = "val/reconstructions" if held_out else "train/reconstructions"
            experiment.add_image(tag, grid.clamp(0, 1), step)
            experiment.add_image("samples", make_grid(samples.clamp(0, 1)), step)
