"""The data side of training as a ``LightningDataModule``: train and validation loaders.

``dirvae train`` builds one of these, and so can a user with their own
``L.Trainer``::

    data = DirvaeDataModule.from_folder("photos", "image", image_size=64)
    trainer.fit(DirichletVAEModule(model), datamodule=data)

The validation split is fixed: a seeded choice (``SPLIT_SEED``, independent
of the training seed, so runs with different seeds are compared on the same
items) of ``val_fraction`` of the data, at most ``VAL_CAP`` items.  Folders
cut into many items per file (audio windows, video frames) hold out whole
files, so validation measures generalisation to unseen recordings rather
than to the neighbours of windows the model trained on.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Sequence

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from dirvae.data import GroupedSampler, make_loader, open_folder
from dirvae.data.loader import Batch

VAL_FRACTION = 0.05
VAL_CAP = 2000
SPLIT_SEED = 0


class GroupedSubset(Dataset):
    """Whole files of a grouped dataset (audio windows, video frames), keeping their groups for the sampler."""

    def __init__(self, dataset: Any, groups: Sequence[tuple[int, int]]) -> None:
        self.dataset = dataset
        self.indices: list[int] = []
        self._groups: list[tuple[int, int]] = []
        for start, count in groups:
            self._groups.append((len(self.indices), count))
            self.indices.extend(range(start, start + count))

    @property
    def item_shape(self) -> tuple[int, ...]:
        return tuple(self.dataset.item_shape)

    def groups(self) -> list[tuple[int, int]]:
        return list(self._groups)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Any:
        return self.dataset[self.indices[index]]


def validation_split(
    dataset: Any, fraction: float = VAL_FRACTION, *, cap: int = VAL_CAP, seed: int = SPLIT_SEED
) -> tuple[Any, Dataset | None]:
    """(train, validation): disjoint, and the same for the same data whatever the run.

    Returns ``(dataset, None)`` when ``fraction`` is 0 or there is too little
    to split (one item, or one file of windows/frames).
    """
    size = len(dataset)
    if fraction <= 0 or size < 2:
        return dataset, None
    target = min(cap, max(1, round(fraction * size)))
    generator = torch.Generator().manual_seed(seed)
    if hasattr(dataset, "groups"):
        groups = list(dataset.groups())
        if len(groups) < 2:
            return dataset, None
        held: list[int] = []
        total = 0
        for group in torch.randperm(len(groups), generator=generator).tolist()[: len(groups) - 1]:
            if total >= target:
                break
            held.append(group)
            total += groups[group][1]
        held_set = set(held)
        train = GroupedSubset(dataset, [groups[i] for i in range(len(groups)) if i not in held_set])
        indices = [i for group in sorted(held) for i in range(groups[group][0], groups[group][0] + groups[group][1])]
        # A held-out file longer than the cap is evaluated on evenly spaced items.
        stride = math.ceil(len(indices) / cap)
        return train, Subset(dataset, indices[::stride])
    order = torch.randperm(size, generator=generator)
    count = min(target, size - 1)
    return Subset(dataset, sorted(order[count:].tolist())), Subset(dataset, sorted(order[:count].tolist()))


class DirvaeDataModule(L.LightningDataModule):
    """Train and validation loaders for any dataset of :mod:`dirvae.data`.

    Grouped datasets (audio, video) mix windows or frames of all files in
    every batch with ``mix_files`` (``dirvae train``'s default, measured to
    learn better), or read in the seed's order through
    :class:`~dirvae.data.GroupedSampler` (``shuffle`` within a file,
    ``shuffle_dir`` across files); others shuffle with ``shuffle``.  The
    validation loader keeps its order, so every pass sees the same batches.
    """

    def __init__(
        self,
        train: Dataset,
        val: Dataset | None = None,
        *,
        batch_size: int = 32,
        shuffle: bool = True,
        shuffle_dir: bool = False,
        mix_files: bool = False,
        seed: int = 0,
        num_workers: int = 0,
        pin_memory: bool = False,
    ) -> None:
        super().__init__()
        self.mix_files = bool(mix_files)
        self.train = train
        self.val = val
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.shuffle_dir = bool(shuffle_dir)
        self.seed = int(seed)
        self.num_workers = int(num_workers)
        self.pin_memory = bool(pin_memory)

    @classmethod
    def from_dataset(cls, dataset: Any, *, val_fraction: float = VAL_FRACTION, val: Dataset | None = None, **options: Any) -> "DirvaeDataModule":
        """Split ``dataset`` (unless a separate ``val`` set is given) and wrap it."""
        if val is not None:
            return cls(dataset, val, **options)
        train, held_out = validation_split(dataset, val_fraction)
        return cls(train, held_out, **options)

    @classmethod
    def from_folder(
        cls, path: str | Path, modality: str = "image", *, val_fraction: float = VAL_FRACTION, val_path: str | Path | None = None,
        loader_options: dict[str, Any] | None = None, **folder_options: Any,
    ) -> "DirvaeDataModule":  # fmt: skip
        """A folder (and optionally a separate validation folder) opened by :func:`dirvae.data.open_folder`."""
        dataset = open_folder(path, modality, **folder_options)
        val = open_folder(val_path, modality, **folder_options) if val_path is not None else None
        return cls.from_dataset(dataset, val_fraction=val_fraction, val=val, **(loader_options or {}))

    def train_dataloader(self) -> DataLoader:
        sampler = None
        if hasattr(self.train, "groups") and not self.mix_files:
            sampler = GroupedSampler(self.train.groups(), self.shuffle, self.shuffle_dir, self.seed)
        return make_loader(
            self.train, self.batch_size, shuffle=self.shuffle or self.mix_files, sampler=sampler, num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0, pin_memory=self.pin_memory, seed=self.seed,
        )  # fmt: skip

    def val_dataloader(self) -> DataLoader | list:
        if self.val is None:
            return []
        return make_loader(
            self.val, self.batch_size, num_workers=self.num_workers, persistent_workers=self.num_workers > 0, pin_memory=self.pin_memory
        )

    def transfer_batch_to_device(self, batch: Any, device: torch.device, dataloader_idx: int) -> Any:
        """A :class:`~dirvae.data.Batch` moved directly: Lightning's generic walk over a
        named tuple cost ~0.1 ms a step, 1% of a digits step."""
        if isinstance(batch, Batch):
            if batch.data.device == device and batch.labels.device == device:
                return batch
            non_blocking = device.type == "cuda"
            return Batch(batch.data.to(device, non_blocking=non_blocking), batch.labels.to(device, non_blocking=non_blocking), batch.skipped)
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    def validation_inputs(self, count: int) -> torch.Tensor | None:
        """The first ``count`` readable validation items, for the live view's grid."""
        if self.val is None:
            return None
        items = [self.val[i] for i in range(min(len(self.val), count * 2))]
        tensors = [item[0] for item in items if item is not None][:count]
        return torch.stack(tensors) if tensors else None
