"""Batches of a whole folder (or the embedded digits) for the tools that encode everything."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
from torch import Tensor

from dirvae.data import make_loader
from dirvae.data.relabelled import Relabelled, own_index
from dirvae.modalities.opening import open_dataset
from dirvae.runs.inputs import is_named_set, iter_inputs, parse_input
from dirvae.runs.record import RunConfig
from dirvae.runs.shard_inputs import shard_selector


# -------------------------------------------------------------------- batches
def iter_batches(
    run: RunConfig,
    path: str | Path,
    batch_size: int = 64,
    *,
    num_workers: int = 0,
) -> Iterator[tuple[Tensor, list[str]]]:
    """Every item of a folder (or a file) in order, in batches, with the items' names.

    Folders go through a DataLoader (``num_workers`` processes may decode);
    unreadable items are skipped with a warning.
    """
    target, index = (path, 0) if shard_selector(path) is not None else parse_input(path, run)  # shards: read in order below
    if index is None and (is_named_set(target, run) or target.is_dir()):
        dataset = open_dataset(run.data.at(target))
        loader = make_loader(Relabelled(dataset, own_index), batch_size, num_workers=num_workers)
        for batch in loader:
            if batch.data.shape[0]:
                yield batch.data, [dataset.describe(int(i)) for i in batch.labels]
        return
    items: list[Tensor] = []
    names: list[str] = []
    for tensor, name in iter_inputs(run, [path]):
        items.append(tensor)
        names.append(name)
        if len(items) == batch_size:
            yield torch.stack(items), names
            items, names = [], []
    if items:
        yield torch.stack(items), names
