"""The seed's iterators: folders read as batches of tensors, data only.

Each wraps one dataset of this package (``iterator.dataset``) and a
DataLoader over it, so worker processes come for free; the training loop
uses the datasets through :func:`make_loader` directly, while the iterators
keep the seed's simple ``for batch in ImageIterator(...)`` usage.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from dirvae.data.audio import AudioFolder
from dirvae.data.audio_windows import ChannelSpec
from dirvae.data.images import ImageFolder
from dirvae.data.loader import make_loader
from dirvae.data.samplers import GroupedSampler
from dirvae.data.video import VideoFolder
from dirvae.errors import DataError


class BatchIterator:
    """Iterate a dataset's readable items as [B, ...] tensors, counting the rest.

    ``skipped`` is the number of items skipped in the current (or last) pass,
    plus the files refused when listing, so it is complete at the end of an
    epoch even with worker processes (the counts travel with the batches).
    A pass in which nothing at all could be read raises DataError instead of
    silently producing nothing.
    """

    def __init__(
        self,
        dataset: Dataset,
        batches: int = 1,
        shuffle: bool = False,
        sampler: Sampler | None = None,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
    ) -> None:
        self.dataset = dataset
        self.batches = int(batches)
        self.loader: DataLoader = make_loader(
            dataset,
            self.batches,
            shuffle=shuffle,
            num_workers=num_workers,
            sampler=sampler,
            drop_last=drop_last,
            pin_memory=pin_memory,
            persistent_workers=persistent_workers,
            seed=seed,
        )
        self.skipped = int(getattr(dataset, "refused", 0))

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self) -> Iterator[Tensor]:
        self.skipped = int(getattr(self.dataset, "refused", 0))
        read = 0
        for batch in self.loader:
            self.skipped += batch.skipped
            if batch.data.shape[0]:
                read += batch.data.shape[0]
                yield batch.data
        if read == 0:
            root = getattr(self.dataset, "root", None)
            raise DataError(f"{root}: no item could be read in this pass ({self.skipped} skipped)")


class ImageIterator(BatchIterator):
    """Batches of images [B, C, S, S] in [0, 1] from a folder (see ImageFolder)."""

    def __init__(
        self,
        directory: str | os.PathLike = "data/image/",
        batches: int = 1,
        shuffle: bool = False,
        image_size: int | None = 64,
        grayscale: bool = False,
        labels: bool | None = None,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
    ) -> None:
        dataset = ImageFolder(directory, image_size=image_size, grayscale=grayscale, labels=labels)
        super().__init__(
            dataset, batches, shuffle=shuffle, num_workers=num_workers, pin_memory=pin_memory,
            persistent_workers=persistent_workers, drop_last=drop_last, seed=seed,
        )


class AudioIterator(BatchIterator):
    """Batches of audio windows [B, C, sample_size] in [-1, 1] (see AudioFolder).

    The seed's order: files one after the other (in random order with
    ``shuffle_dir``), each file's windows in turn (shuffled with ``shuffle``).
    ``shuffle_all`` instead draws every batch from all files at random
    (``dirvae train``'s default for audio and video).
    """

    def __init__(
        self,
        directory: str | os.PathLike = "data/audio/",
        sample_size: int = 2**16,
        batches: int = 1,
        shuffle: bool = False,
        shuffle_dir: bool = False,
        shuffle_all: bool = False,
        sample_rate: int = 44100,
        channels: ChannelSpec = 1,
        pad_last: bool | str = "short",
        labels: bool | None = None,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
    ) -> None:
        dataset = AudioFolder(
            directory, sample_size=sample_size, sample_rate=sample_rate, channels=channels,
            pad_last=pad_last, labels=labels,
        )
        sampler = None if shuffle_all else GroupedSampler(dataset.groups(), shuffle=shuffle, shuffle_groups=shuffle_dir, seed=seed)
        super().__init__(
            dataset, batches, shuffle=shuffle_all, sampler=sampler, num_workers=num_workers, pin_memory=pin_memory,
            persistent_workers=persistent_workers, drop_last=drop_last, seed=seed,
        )


class VideoIterator(BatchIterator):
    """Batches of frames [B, C, S, S] in [0, 1] (see VideoFolder).

    Same order semantics as AudioIterator: ``shuffle`` shuffles frames within
    a video, ``shuffle_dir`` the order of the videos, ``shuffle_all`` mixes
    frames of all videos in every batch.
    """

    def __init__(
        self,
        directory: str | os.PathLike = "data/video/",
        batches: int = 1,
        shuffle: bool = False,
        shuffle_dir: bool = False,
        shuffle_all: bool = False,
        image_size: int | None = 64,
        grayscale: bool = False,
        labels: bool | None = None,
        num_workers: int = 0,
        pin_memory: bool = False,
        persistent_workers: bool = False,
        drop_last: bool = False,
        seed: int | None = None,
    ) -> None:
        dataset = VideoFolder(directory, image_size=image_size, grayscale=grayscale, labels=labels)
        sampler = None if shuffle_all else GroupedSampler(dataset.groups(), shuffle=shuffle, shuffle_groups=shuffle_dir, seed=seed)
        super().__init__(
            dataset, batches, shuffle=shuffle_all, sampler=sampler, num_workers=num_workers, pin_memory=pin_memory,
            persistent_workers=persistent_workers, drop_last=drop_last, seed=seed,
        )
