"""The DataLoader of a :class:`~dirvae.data.shards.ShardStream`: epochs, ranks, and ranks that run short.

Three things a plain ``DataLoader`` over an ``IterableDataset`` does not do:

- **the epoch.**  Lightning calls ``set_epoch`` on a loader's sampler before
  each epoch (it restores the epoch number when a run resumes); the sampler
  here passes it to the stream, whose workers read it from shared memory, so
  every epoch, resumed or not, has its own shard order.
- **the rank.**  Read from ``torch.distributed`` when iteration starts, before
  any worker is forked, so each worker knows whose share to read.
- **ranks that run short.**  Where a sample decodes to several items (the
  windows of a sound, the frames of a clip), ranks read equal numbers of
  samples but not of items.  DDP hangs if one rank stops stepping, so under
  DDP each batch is agreed on (one ``all_reduce`` of a flag on a gloo
  group): the epoch ends when every rank is done, and a rank that is done
  first repeats its last batch meanwhile.  Those repeats are the epoch's only
  duplicates, as many batches as the ranks' item counts differ.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Sampler

from dirvae.data.loader import Batch, share_bad_files

if TYPE_CHECKING:  # the stream builds its loader, so this module cannot import it at run time
    from dirvae.data.shards import ShardStream

_GROUPS: dict[int, Any] = {}


def placement() -> tuple[int, int]:
    """(rank, world size) of this process under torch.distributed, or (0, 1)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class EpochClock(Sampler):
    """The loader's sampler: yields nothing a stream needs, but hears Lightning's ``set_epoch``."""

    def __init__(self, stream: "ShardStream") -> None:
        self.stream = stream

    def __iter__(self) -> Iterator[None]:
        return itertools.repeat(None)

    def set_epoch(self, epoch: int) -> None:
        self.stream.set_epoch(epoch)


def _keep(batch: Batch) -> Batch:
    """The stream batches in its workers; the loader passes batches through."""
    return batch


class ShardLoader(DataLoader):
    """Batches of a :class:`ShardStream` (already batched by :meth:`ShardStream.batched`)."""

    def __init__(self, stream: "ShardStream", *, num_workers: int = 0, pin_memory: bool = False, persistent_workers: bool = False) -> None:
        if num_workers > 0:
            share_bad_files(stream)
        super().__init__(
            stream, batch_size=None, num_workers=num_workers, collate_fn=_keep, pin_memory=pin_memory,
            persistent_workers=persistent_workers and num_workers > 0,
        )  # fmt: skip
        # DataLoader refuses a sampler for an IterableDataset, but Lightning looks for set_epoch on .sampler.
        object.__setattr__(self, "sampler", EpochClock(stream))

    def __len__(self) -> int:
        count = self.dataset.batches_per_rank(max(1, self.num_workers), placement()[1])
        if count is None:
            raise TypeError("the batches of sharded windows or frames are known only once decoded")
        return count

    def estimated_batches(self) -> int:
        """:func:`len`, or for windows and frames an estimate from the first sample's item count."""
        try:
            return len(self)
        except TypeError:
            stream = self.dataset
            samples = math.ceil(len(stream) / placement()[1])
            return max(1, math.ceil(samples * max(1, stream.items_per_sample) / stream.batch_size))

    def __iter__(self) -> Iterator[Batch]:
        rank, world = placement()
        self.dataset.place(rank, world)
        batches = super().__iter__()
        if world == 1 or not self.dataset.many:
            yield from batches
            return
        group = _GROUPS.get(world)
        if group is None:
            group = _GROUPS[world] = dist.new_group(backend="gloo")
        last = None
        while True:
            batch = next(batches, None)
            more = torch.tensor([0 if batch is None else 1])
            dist.all_reduce(more, op=dist.ReduceOp.MAX, group=group)
            if not int(more[0]):
                return
            if batch is None:
                batch = last if last is not None else Batch(torch.empty(0), torch.empty(0, dtype=torch.long), 0)
            last = batch
            yield batch


def batch_count(loader: DataLoader) -> int:
    """Batches per epoch for schedules and progress: exact where known, else the stream's estimate."""
    if isinstance(loader, ShardLoader):
        return loader.estimated_batches()
    return len(loader)
