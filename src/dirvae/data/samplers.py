"""The seed's reading order for files cut into many items (audio, video).

Items of one file stay together: ``shuffle`` shuffles them within their file,
``shuffle_dir`` shuffles the order of the files.  Keeping a file's items
together is also what makes lazy reading cheap: the open file and decoder are
reused from one item to the next.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Sampler


class GroupedSampler(Sampler[int]):
    """Indices file by file, optionally shuffled within files and across files.

    With a ``seed`` the sequence of epochs is reproducible (each epoch still
    differs from the last); without one every run differs.
    """

    def __init__(
        self,
        groups: Sequence[tuple[int, int]],
        shuffle: bool = False,
        shuffle_groups: bool = False,
        seed: int | None = None,
    ) -> None:
        self.groups = [(int(start), int(count)) for start, count in groups]
        self.shuffle = bool(shuffle)
        self.shuffle_groups = bool(shuffle_groups)
        self.generator = torch.Generator()
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(int(seed))

    def __len__(self) -> int:
        return sum(count for _, count in self.groups)

    def __iter__(self) -> Iterator[int]:
        order = (
            torch.randperm(len(self.groups), generator=self.generator).tolist()
            if self.shuffle_groups
            else range(len(self.groups))
        )
        for group in order:
            start, count = self.groups[group]
            if self.shuffle:
                yield from (start + torch.randperm(count, generator=self.generator)).tolist()
            else:
                yield from range(start, start + count)
