"""The embedded default dataset: scikit-learn's 8x8 handwritten digits.

It ships inside scikit-learn, so ``dirvae train`` works on a fresh machine
with no data and no network, and its labels let the evaluation tools show
whether the latent space separates the classes.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset


class DigitsDataset(Dataset):
    """1,797 handwritten digits upscaled to image_size, values in [0, 1].

    Each item is upscaled when read (tens of microseconds): holding all of
    them upscaled would cost hundreds of megabytes at large sizes, and a view
    into one big tensor would drag its whole storage into every worker
    message.  Bilinear upscaling keeps strokes smooth, where nearest would
    give 8x8 blocks that a decoder learns to copy.
    """

    modality = "image"

    def __init__(self, image_size: int = 32, grayscale: bool = True) -> None:
        from sklearn.datasets import load_digits

        from dirvae.errors import DataError

        if int(image_size) < 1:
            raise DataError(f"image_size must be a positive integer, not {image_size!r}")
        bunch = load_digits()
        self.image_size = int(image_size)
        self.grayscale = bool(grayscale)
        self.channels = 1 if self.grayscale else 3
        self.pixels = torch.from_numpy(np.asarray(bunch.images, dtype=np.float32) / 16.0)  # [N, 8, 8]
        self.targets = torch.from_numpy(np.asarray(bunch.target, dtype=np.int64))
        self.classes = [str(digit) for digit in range(10)]
        self.root = None
        self.paths: tuple[str, ...] = ()  # no files: items are named by describe()
        self.refused = 0

    @property
    def item_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.image_size, self.image_size)

    def __len__(self) -> int:
        return int(self.pixels.shape[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        picture = self.pixels[index][None, None]
        if self.image_size != 8:
            picture = F.interpolate(picture, size=(self.image_size,) * 2, mode="bilinear", align_corners=False)
        picture = picture[0].clamp(0.0, 1.0)
        if self.channels != 1:
            picture = picture.expand(self.channels, -1, -1)
        return picture.contiguous(), int(self.targets[index])

    def label(self, index: int) -> int:
        return int(self.targets[index])

    def describe(self, index: int) -> str:
        return f"digits#{index:04d}"


def digits(image_size: int = 32, grayscale: bool = True) -> DigitsDataset:
    """The default dataset of ``dirvae train`` when no data folder is given."""
    return DigitsDataset(image_size=image_size, grayscale=grayscale)
