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


RUN_LENGTH = 32
"""Consecutive frames (or windows) read in a row from one file, after one seek."""
LANES = 8
"""Runs read side by side: every batch draws from this many runs (files, where there are that many)."""


class RunBatchSampler(Sampler[list[int]]):
    """Batches that mix several files, each file read in runs of consecutive items.

    Every epoch each file is cut into runs of ``run_length`` consecutive items
    (at a random phase, so the cuts move from epoch to epoch) and the runs of
    all files are shuffled together.  A batch takes ``batch_size // lanes``
    consecutive items from each of ``lanes`` runs read side by side; a run
    that ends is replaced by the next one in the shuffled order (preferring a
    file not already being read).  So a batch mixes ``lanes`` files, as
    ``--shuffle-all`` did, while a reader decodes each run forward from one
    seek instead of seeking for every frame.

    With ``streams`` > 1 (the DataLoader's worker count) there is one set of
    lanes per worker: DataLoader hands batch i to worker ``i % streams``, and
    batch i reads that worker's lanes, so every worker's open files read
    forward too.  Every item is yielded exactly once per epoch; every batch is
    full except the last (which ``drop_last`` drops).
    """

    def __init__(
        self,
        groups: Sequence[tuple[int, int]],
        batch_size: int,
        *,
        run_length: int = RUN_LENGTH,
        lanes: int = LANES,
        streams: int = 1,
        drop_last: bool = False,
        seed: int | None = None,
    ) -> None:
        self.groups = [(int(start), int(count)) for start, count in groups if int(count) > 0]
        self.batch_size = int(batch_size)
        self.run_length = max(1, int(run_length))
        self.lanes = max(1, min(int(lanes), self.batch_size))
        self.streams = max(1, int(streams))
        self.drop_last = bool(drop_last)
        self.generator = torch.Generator()
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(int(seed))

    def items(self) -> int:
        return sum(count for _, count in self.groups)

    def __len__(self) -> int:
        full, rest = divmod(self.items(), self.batch_size)
        return full + (1 if rest and not self.drop_last else 0)

    def _runs(self) -> list[tuple[int, int, int]]:
        """(group, first item, end) of every run this epoch, shuffled."""
        runs = []
        phases = torch.randint(0, self.run_length, (len(self.groups),), generator=self.generator).tolist()
        for group, ((start, count), phase) in enumerate(zip(self.groups, phases)):
            cuts = [0, *range(phase or self.run_length, count, self.run_length), count]
            runs += [(group, start + a, start + b) for a, b in zip(cuts, cuts[1:]) if b > a]
        order = torch.randperm(len(runs), generator=self.generator).tolist()
        return [runs[i] for i in order]

    def __iter__(self) -> Iterator[list[int]]:
        pool = self._runs()
        pool.reverse()  # taken from the end
        # Per stream, its lanes: [group, next item, end] each.
        streams: list[list[list[int]]] = [[] for _ in range(self.streams)]
        chunk = max(1, self.batch_size // self.lanes)
        remaining = self.items()
        number = 0
        while remaining > 0:
            lanes = streams[number % self.streams]
            batch: list[int] = []
            while len(batch) < self.batch_size and remaining > 0:
                self._fill(lanes, pool)
                source = lanes if lanes else next(s for s in streams if s)  # the tail: borrow another worker's lanes
                for lane in list(source):
                    take = min(chunk, lane[2] - lane[1], self.batch_size - len(batch))
                    batch.extend(range(lane[1], lane[1] + take))
                    lane[1] += take
                    remaining -= take
                    if lane[1] >= lane[2]:
                        source.remove(lane)
                    if len(batch) >= self.batch_size:
                        break
            number += 1
            if len(batch) == self.batch_size or not self.drop_last:
                yield batch

    def _fill(self, lanes: list[list[int]], pool: list[tuple[int, int, int]]) -> None:
        while len(lanes) < self.lanes and pool:
            active = {lane[0] for lane in lanes}
            pick = len(pool) - 1
            for candidate in range(len(pool) - 1, max(-1, len(pool) - 1 - 4 * self.lanes), -1):
                if pool[candidate][0] not in active:
                    pick = candidate
                    break
            group, first, end = pool.pop(pick)
            lanes.append([group, first, end])
