"""The data side of training as a ``LightningDataModule``: train and validation loaders.

``dirvae train`` builds one of these, and so can a user with their own
``L.Trainer``::

    data = DirvaeDataModule.from_folder("photos", "image", image_size=64)
    trainer.fit(DirichletVAEModule(model), datamodule=data)

The validation split is fixed (:mod:`dirvae.data.split`): the same held-out
items for the same data, whole files where a file holds many items.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader, Dataset

from dirvae.data import GroupedSampler, make_loader
from dirvae.data.samplers import RunBatchSampler
from dirvae.data.split import VAL_FRACTION, validation_split
from dirvae.data.loader import Batch
from dirvae.modalities import DEFAULT_MODALITY, open_folder
from dirvae.modalities.opening import open_dataset
from dirvae.modalities.spec import DataConfig

def _reader_of(dataset: Any) -> Any:
    """The folder reader under any subsets (Subset, GroupedSubset, Relabelled)."""
    while hasattr(dataset, "dataset") and not hasattr(dataset, "open_files"):
        dataset = dataset.dataset
    return dataset


def _reads_runs(dataset: Any) -> bool:
    """Readers that keep files open and read forward (video, audio) gain from runs: one seek (audio: one open) per run."""
    return hasattr(_reader_of(dataset), "open_files")


def _keep_open(dataset: Any, lanes: int) -> None:
    """Enough open files per worker for the runs read side by side, and a spare."""
    reader = _reader_of(dataset)
    reader.open_files = max(int(reader.open_files), lanes + 2)


class DirvaeDataModule(L.LightningDataModule):
    """Train and validation loaders for any dataset of :mod:`dirvae.data`.

    Grouped datasets (audio, video) mix windows or frames of all files in
    every batch with ``mix_files`` (``dirvae train``'s default, measured to
    learn better), read in runs of consecutive frames or windows through
    :class:`~dirvae.data.samplers.RunBatchSampler`, several runs a batch; or in the seed's order through
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
        drop_last: bool = False,
        shuffle_buffer: int | None = None,
    ) -> None:
        """``drop_last`` drops a short last training batch (batch norm needs two items; text trains with it)."""
        super().__init__()
        self.drop_last = bool(drop_last)
        self.shuffle_buffer = shuffle_buffer  # sharded data: items mixed in memory (None: the stream's default)
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
    def from_data(
        cls, data: DataConfig, *, val_fraction: float = VAL_FRACTION, val_data: DataConfig | None = None, **options: Any
    ) -> "DirvaeDataModule":
        """A run's data section opened by :func:`dirvae.modalities.opening.open_dataset`, as ``dirvae train`` opens it."""
        validation = open_dataset(val_data) if val_data is not None else None
        return cls.from_dataset(open_dataset(data), val_fraction=val_fraction, val=validation, **options)

    @classmethod
    def from_folder(
        cls, path: str | Path, modality: str = DEFAULT_MODALITY, *, val_fraction: float = VAL_FRACTION, val_path: str | Path | None = None,
        loader_options: dict[str, Any] | None = None, **folder_options: Any,
    ) -> "DirvaeDataModule":  # fmt: skip
        """A folder (and optionally a separate validation folder) opened by :func:`dirvae.modalities.open_folder`."""
        dataset = open_folder(path, modality, **folder_options)
        val = open_folder(val_path, modality, **folder_options) if val_path is not None else None
        return cls.from_dataset(dataset, val_fraction=val_fraction, val=val, **(loader_options or {}))

    def train_dataloader(self) -> DataLoader:
        sampler = batches = None
        drop_last = self.drop_last and len(self.train) > self.batch_size
        if hasattr(self.train, "groups") and not self.mix_files:
            sampler = GroupedSampler(self.train.groups(), self.shuffle, self.shuffle_dir, self.seed)
        elif hasattr(self.train, "groups") and _reads_runs(self.train) and self._world_size() == 1:
            # (Under DDP Lightning re-wraps samplers for the ranks, which a batch sampler of runs does not survive: items are drawn one by one.)
            # Mixed files, read in runs of consecutive frames or windows: one seek per run, not per item.
            batches = RunBatchSampler(self.train.groups(), self.batch_size, streams=max(1, self.num_workers), drop_last=drop_last, seed=self.seed)
            _keep_open(self.train, batches.lanes)
        return make_loader(
            self.train, self.batch_size, shuffle=self.shuffle or self.mix_files, sampler=sampler, num_workers=self.num_workers,
            batch_sampler=batches, drop_last=drop_last,
            persistent_workers=self.num_workers > 0, pin_memory=self.pin_memory, seed=self.seed, shuffle_buffer=self.shuffle_buffer,
        )  # fmt: skip

    def _world_size(self) -> int:
        trainer = getattr(self, "_trainer", None) or getattr(self, "trainer", None)
        return int(getattr(trainer, "world_size", 1) or 1)

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
        if hasattr(self.val, "first_items"):  # shards are read in order, not indexed
            found = [tensor for tensor, _ in self.val.first_items(count)]
            return torch.stack(found) if found else None
        items = [self.val[i] for i in range(min(len(self.val), count * 2))]
        tensors = [item[0] for item in items if item is not None][:count]
        return torch.stack(tensors) if tensors else None
