"""The one data opener: a run's data section to a dataset, for ``dirvae train``, every tool and the DataModule.

Everything that reads data "like training" comes through :func:`open_dataset`,
so the same options give the same items, and the same mistakes give the
same one-line errors: a folder of another modality's files is named as such
before any file is opened.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from torch.utils.data import Dataset

from dirvae.data.files import detect_modality
from dirvae.data.split import VAL_FRACTION, validation_split
from dirvae.errors import DataError
from dirvae.modalities import MODALITIES, Modality
from dirvae.modalities.sources import is_shard_source, open_shards
from dirvae.modalities.spec import DataConfig

Split = Literal["all", "train", "val"]


def modality_of(data: DataConfig) -> Modality:
    return MODALITIES[data.modality]


def check_kind(data: DataConfig, *, training: bool = False) -> None:
    """A folder that holds another modality's files is one clear error, before anything is read."""
    directory = Path(data.source)
    if not directory.is_dir():
        return
    found = detect_modality(directory)
    if found is not None and found != data.modality:
        advice = f"not {data.modality}; pass --type {found}" if training else f"but this run models {data.modality}"
        raise DataError(f"{directory}: holds {found} files, {advice}")


def open_dataset(data: DataConfig, split: Split = "all", *, val_fraction: float = VAL_FRACTION, training: bool = False) -> Dataset | None:
    """The items at ``data.source`` read with ``data``'s options: all of them, or the training or validation split.

    The split is :func:`dirvae.data.split.validation_split`'s, fixed for the
    data; ``"val"`` is None when there is too little to hold out.  Shards
    (``source`` a tar pattern, Parquet, a ``save_to_disk`` folder) open as a
    stream (:func:`~dirvae.modalities.sources.open_shards`) that holds out whole shards.
    """
    if is_shard_source(data.source):
        dataset = open_shards(data)
    else:
        check_kind(data, training=training)
        dataset = modality_of(data).open(data)
    if split == "all":
        return dataset
    train, held_out = validation_split(dataset, val_fraction)
    return train if split == "train" else held_out


def open_splits(
    data: DataConfig, *, val_fraction: float = VAL_FRACTION, val_data: DataConfig | None = None, training: bool = False
) -> tuple[Dataset, Dataset | None]:
    """``(train, validation)`` in one pass: a held-out share of ``data``, or all of ``val_data``.

    The same as ``open_dataset(data, "train")`` and ``open_dataset(data, "val")``, opening the folder once.
    """
    dataset = open_dataset(data, training=training)
    if val_data is None:
        return validation_split(dataset, val_fraction)
    val = open_dataset(val_data, training=training)
    if tuple(val.item_shape) != tuple(data.item_shape):
        raise DataError(f"{val_data.source}: validation items are {tuple(val.item_shape)}, the training data's {tuple(data.item_shape)}")
    return dataset, val
