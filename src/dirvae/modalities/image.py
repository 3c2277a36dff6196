"""Images: a folder of pictures (any format Pillow reads), or the embedded scikit-learn digits.

Each file is one item, resized and centre-cropped to ``image_size``.  With no
data at all, ``dirvae train`` falls back to the digits, with their own
defaults: 28×28 grayscale, the MLP and a Bernoulli likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterator

from torch import Tensor
from torch.utils.data import Dataset

from dirvae.data.digits import digits
from dirvae.data.formats import IMAGE_EXTENSIONS
from dirvae.data.images import ImageFolder
from dirvae.data.payloads import decode_picture
from dirvae.data.pixels import load_image
from dirvae.errors import DataError
from dirvae.losses.reconstruction import default_loss_options
from dirvae.modalities.pictures import PICTURE_ARCHITECTURES, PictureData, PictureOutputs, picture_data
from dirvae.modalities.spec import DataConfig, Modality

DIGITS = "digits"
"""``data.source`` of a run trained on the embedded digits (and the input name that reads them)."""
DIGITS_SIZE = 28
PHOTO_RECONSTRUCTION = "gaussian"
"""Per-channel learned scales: measured by benchmarks/photos.py against MSE, Bernoulli and logistic."""


@dataclass(frozen=True)
class ImageData(PictureData):
    modality: ClassVar[str] = "image"


class ImageModality(PictureOutputs, Modality):
    name: ClassVar[str] = "image"
    summary: ClassVar[str] = "pictures, one per file (the embedded digits when there is no data)"
    extensions: ClassVar[frozenset[str]] = IMAGE_EXTENSIONS
    reader: ClassVar[type[Dataset]] = ImageFolder
    data_config: ClassVar[type[DataConfig]] = ImageData
    architectures: ClassVar[tuple[str, ...]] = PICTURE_ARCHITECTURES
    named_sets: ClassVar[tuple[str, ...]] = (DIGITS,)
    option_defaults: ClassVar[dict[str, Any]] = {"ema_decay": 0.99}
    """Validate and export an EMA of the weights: steadier held-out figures on photos (BENCHMARKS.md, issue 25)."""

    def data_from_options(self, options: Any, source: str) -> ImageData:
        if source == DIGITS:
            return picture_data(ImageData, options, source, size=options.image_size or DIGITS_SIZE, grayscale=True)
        return picture_data(ImageData, options, source)

    def fallback(self, options: Any) -> str | None:
        return DIGITS

    def describe(self, data: DataConfig) -> str:
        if is_digits(data.source):
            return f"the embedded scikit-learn digits ({data.image_size}x{data.image_size})"
        return super().describe(data)

    def open(self, data: DataConfig) -> Dataset:
        if is_digits(data.source):
            return digits(image_size=data.image_size, grayscale=data.grayscale)
        return ImageFolder(data.source, image_size=data.image_size, grayscale=data.grayscale)

    def read_file(self, data: DataConfig, path: Path, start: int, count: int | None) -> Iterator[Tensor]:
        if start != 0:
            raise DataError(f"{path}#{start}: an image file has a single item (#0)")
        yield load_image(path, data.image_size, data.grayscale)

    def decode(self, data: DataConfig, payload: bytes, extension: str) -> list[Tensor]:
        return decode_picture(payload, extension, data.image_size, data.grayscale)

    def default_architecture(self, data: DataConfig) -> str:
        return "mlp" if data.source == DIGITS else "resblock"

    def default_reconstruction(self, data: DataConfig, architecture: str) -> tuple[str, dict[str, Any]]:
        name = "bernoulli" if data.source == DIGITS else PHOTO_RECONSTRUCTION
        return name, default_loss_options(name, data.item_shape)


def is_digits(source: str | Path) -> bool:
    """``digits`` names the embedded set unless a folder of that name exists."""
    return str(source) == DIGITS and not Path(source).exists()
