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

from dirvae.data.loader import Batch
from dirvae.errors import DataError

PREPARED_BYTES = 64 * 2**20


class DigitsDataset(Dataset):
    """1,797 handwritten digits upscaled to image_size, values in [0, 1].

    Up to ``PREPARED_BYTES`` of upscaled pixels (28x28: 5.6 MB) are prepared
    once, and a batch is then one ``index_select`` (``__getitems__``, which
    DataLoader calls instead of one ``__getitem__`` per item): per-item
    upscaling and stacking cost the digits trainer about a tenth of its
    step time.  Larger sizes would cost hundreds of megabytes, so those are
    upscaled when read.  Bilinear upscaling keeps strokes smooth, where
    nearest would give 8x8 blocks that a decoder learns to copy.
    """

    decodes_items = False  # held in memory (or memory-mapped): data workers would only add start-up and copies


    def __init__(self, image_size: int = 32, grayscale: bool = True) -> None:
        from sklearn.datasets import load_digits  # scikit-learn costs ~1.5 s to import; only the embedded digits need it

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
        self.prepared: torch.Tensor | None = None
        if len(self) * self.image_size**2 * 4 <= PREPARED_BYTES:
            self.prepared = torch.stack([self._upscale(index) for index in range(len(self))])

    @property
    def item_shape(self) -> tuple[int, int, int]:
        return (self.channels, self.image_size, self.image_size)

    def __len__(self) -> int:
        return int(self.pixels.shape[0])

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if self.prepared is not None:
            return self._expand(self.prepared[index].clone()), int(self.targets[index])
        return self._expand(self._upscale(index)), int(self.targets[index])

    def __getitems__(self, indices: list[int]) -> Batch | list[tuple[torch.Tensor, int]]:
        """A whole batch at once when the pixels are prepared (see the class docstring)."""
        if self.prepared is None:
            return [self[index] for index in indices]
        chosen = torch.as_tensor(indices, dtype=torch.long)
        return Batch(self._expand(self.prepared.index_select(0, chosen)), self.targets.index_select(0, chosen), 0)

    def _expand(self, pictures: torch.Tensor) -> torch.Tensor:
        if self.channels == 1:
            return pictures
        return pictures.expand(*pictures.shape[:-3], self.channels, -1, -1).contiguous()

    def _upscale(self, index: int) -> torch.Tensor:
        """One grayscale digit at image_size, ``[1, S, S]``."""
        picture = self.pixels[index][None, None]
        if self.image_size != 8:
            picture = F.interpolate(picture, size=(self.image_size,) * 2, mode="bilinear", align_corners=False)
        return picture[0].clamp(0.0, 1.0).contiguous()

    def label(self, index: int) -> int:
        return int(self.targets[index])

    def describe(self, index: int) -> str:
        return f"digits#{index:04d}"


def digits(image_size: int = 32, grayscale: bool = True) -> DigitsDataset:
    """The default dataset of ``dirvae train`` when no data folder is given."""
    return DigitsDataset(image_size=image_size, grayscale=grayscale)
