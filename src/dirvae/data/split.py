"""The fixed validation split: the same held-out items for the same data, whatever the run.

A seeded choice (``SPLIT_SEED``, independent of the training seed, so runs
with different seeds are compared on the same items) of ``val_fraction`` of
the data, at most ``VAL_CAP`` items.  Datasets cut into many items per file
(audio windows, video frames: they have ``groups()``) hold out whole files,
so validation measures generalisation to unseen recordings rather than to
the neighbours of windows the model trained on.  Sharded data holds out
whole shards.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch.utils.data import Dataset, Subset

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
    if hasattr(dataset, "hold_out"):  # shards: whole shards are held out (ShardStream.hold_out)
        return dataset.hold_out(fraction, cap=cap, seed=seed)
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
