"""A folder of images as a map-style dataset of [C, S, S] tensors in [0, 1]."""

from __future__ import annotations

import os

import torch
from torch.utils.data import Dataset

from dirvae.data.bad_files import BadFiles, describe_error
from dirvae.data.formats import IMAGE_EXTENSIONS
from dirvae.data.files import ListedFolder, checked_image_size, no_readable_error
from dirvae.data.pixels import load_image

Item = tuple[torch.Tensor, int] | None


class ImageFolder(ListedFolder, Dataset):
    """Every image Pillow reads under a folder (recursively), one item per file.

    Files are listed by extension and only opened when read, so a 100k-file
    folder is ready in seconds; an unreadable file gives None (and one
    warning) rather than an exception, so one bad file never stops an epoch.
    ``image_size=None`` keeps native sizes, which only batch together when
    they agree (or with batches of one).
    """

    modality = "image"
    extensions = IMAGE_EXTENSIONS

    def __init__(
        self,
        directory: str | os.PathLike = "data/image/",
        image_size: int | None = 64,
        grayscale: bool = False,
        labels: bool | None = None,
    ) -> None:
        self.image_size = checked_image_size(image_size)
        self._list(directory, labels)
        self.grayscale = bool(grayscale)
        self.channels = 1 if self.grayscale else 3
        self.bad_files = BadFiles()
        self.refused = 0  # images are never dropped at listing, only skipped when read
        self._probe()

    @property
    def item_shape(self) -> tuple[int, int, int] | None:
        if self.image_size is None:
            return None
        return (self.channels, self.image_size, self.image_size)

    def __len__(self) -> int:
        return len(self.paths)

    def describe(self, index: int) -> str:
        return self.paths[index]

    def label(self, index: int) -> int:
        return self.listing.label(index)

    def __getitem__(self, index: int) -> Item:
        if index in self.bad_files:
            return None
        try:
            tensor = load_image(self.listing.absolute(index), self.image_size, self.grayscale)
        except Exception as error:  # any one file's failure must not end the epoch
            self.bad_files.report(index, self.paths[index], error)
            return None
        return tensor, self.listing.label(index)

    def _probe(self) -> None:
        """Decode files until one image is readable, or refuse the folder.

        Usually the first file decodes, so this costs one image; a folder of
        nothing but broken files is refused now, with one clear error,
        instead of training on empty batches.
        """
        first_error = None
        for index in range(len(self.paths)):
            try:
                load_image(self.listing.absolute(index), self.image_size, self.grayscale)
                return
            except Exception as error:
                first_error = first_error or describe_error(error)
                self.bad_files.report(index, self.paths[index], error)
        raise no_readable_error(self.listing, self.modality, len(self.paths), f"{self.paths[0]}: {first_error}", self.extensions)
