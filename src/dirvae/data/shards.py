"""Sharded data as a stream of batches: each DDP rank and DataLoader worker reads its own share of the shards.

A folder dataset is indexed item by item; shards are read front to back.
:class:`ShardStream` is an ``IterableDataset`` that, each epoch, orders the
shards by (seed, epoch), takes this rank's and this worker's share
(:mod:`dirvae.data.shard_plan`), decodes each sample with the modality's
decoder (one item for a picture, the windows of a sound, the frames of a
clip), mixes the items through an in-memory shuffle buffer and yields whole
:class:`~dirvae.data.loader.Batch` es.  Batching in the worker lets the
stream say exactly how many batches each rank yields.

Bad input is skipped and counted as in folders: an undecodable sample is a
None in its batch (one warning), and a truncated or unreadable shard gives a
None for each sample it should still have held (one warning for the
shard), so every rank still yields the batches it promised and DDP never
waits on a rank that ran short.
"""

from __future__ import annotations

import bisect
import copy
import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import IterableDataset, get_worker_info

from dirvae.data.bad_files import BadFiles
from dirvae.data.loader import Batch, collate_batch
from dirvae.data.shard_loader import ShardLoader
from dirvae.data.shard_plan import SHUFFLE_BUFFER, Piece, batches_per_rank, pieces, rank_share, shard_order, worker_share
from dirvae.data.shard_readers import Sample, read_samples
from dirvae.data.shard_sources import ShardSet
from dirvae.data.split import SPLIT_SEED, VAL_CAP, VAL_FRACTION
from dirvae.errors import DataError

Decode = Callable[[bytes, str], Sequence[Tensor]]


class SampleNames(Sequence[str]):
    """``shard#position`` for each sample, computed, not stored: a million samples cost nothing at start."""

    def __init__(self, shards: ShardSet) -> None:
        self.names = [shard.name for shard in shards.shards]
        self.starts = [0]
        for shard in shards.shards:
            self.starts.append(self.starts[-1] + shard.items)

    def __len__(self) -> int:
        return self.starts[-1]

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        shard = bisect.bisect_right(self.starts, index) - 1
        return f"{self.names[shard]}#{index - self.starts[shard]}"


class ShardStream(IterableDataset):
    """The samples of a :class:`~dirvae.data.shard_sources.ShardSet`, decoded by ``decode``, in batches.

    ``extensions`` are the members a sample's payload may be (the modality's);
    ``item_key`` names the items where a sample decodes to several (``window``,
    ``frame``: a rank's item count is then known only once decoded), and
    None where a sample is one item.  :meth:`batched` sets the
    batch size and order; :meth:`hold_out` splits off validation shards.
    """

    def __init__(
        self, shards: ShardSet, decode: Decode, item_shape: tuple[int, ...], extensions: frozenset[str], *, item_key: str | None = None,
    ) -> None:  # fmt: skip
        self.shards = shards
        self.decode = decode
        self.item_shape = tuple(item_shape)
        self.extensions = frozenset(extensions)
        self.item_key = item_key
        self.many = item_key is not None
        self.batch_size = 32
        self.shuffle = False
        self.buffer = 0
        self.seed = 0
        self.limit: int | None = None
        self.items_per_sample = 1
        """Items the first readable sample decoded to (set by :func:`check_readable`): estimates for windows and frames."""
        self.bad_files = BadFiles()
        self.paths = SampleNames(shards)
        self.starts = self.paths.starts
        self._epoch = torch.zeros(1, dtype=torch.int64).share_memory_()
        self.placement = (0, 1)

    # ---------------------------------------------------------------- shape
    def __len__(self) -> int:
        """Samples in one epoch (items too, where a sample is one item)."""
        total = self.shards.items
        return total if self.limit is None else min(total, self.limit)

    @property
    def root(self) -> str:
        return self.shards.source

    def describe(self, index: int) -> str:
        return self.paths[index]

    def batched(self, batch_size: int, *, shuffle: bool = False, buffer: int = SHUFFLE_BUFFER, seed: int = 0) -> "ShardStream":
        """A copy that yields batches of ``batch_size``, its shards (and, through the buffer, items) shuffled or in order."""
        stream = copy.copy(self)
        stream.batch_size, stream.shuffle, stream.buffer, stream.seed = int(batch_size), bool(shuffle), int(buffer) if shuffle else 0, int(seed)
        return stream

    def loader(
        self, batch_size: int, *, shuffle: bool = False, buffer: int | None = None, seed: int = 0, num_workers: int = 0,
        pin_memory: bool = False, persistent_workers: bool = False,
    ) -> ShardLoader:  # fmt: skip
        """A :class:`~dirvae.data.shard_loader.ShardLoader` of this stream's batches (what :func:`make_loader` returns for shards)."""
        stream = self.batched(batch_size, shuffle=shuffle, buffer=SHUFFLE_BUFFER if buffer is None else buffer, seed=seed)
        return ShardLoader(stream, num_workers=num_workers, pin_memory=pin_memory, persistent_workers=persistent_workers)

    def hold_out(self, fraction: float = VAL_FRACTION, *, cap: int = VAL_CAP, seed: int = SPLIT_SEED) -> tuple["ShardStream", "ShardStream | None"]:
        """(train, validation): whole shards held out, the same ones for the same shards whatever the run.

        Shards are drawn in a seeded order until they hold ``fraction`` of the
        samples (at least one shard, never all); validation reads at most
        ``cap`` samples of them.  One shard alone is not split.
        """
        count = len(self.shards.shards)
        if fraction <= 0 or count < 2:
            return self, None
        target = min(cap, max(1, round(fraction * self.shards.items)))
        generator = torch.Generator().manual_seed(seed)
        held, total = [], 0
        for shard in torch.randperm(count, generator=generator).tolist()[: count - 1]:
            if total >= target:
                break
            held.append(shard)
            total += self.shards.shards[shard].items
        kept = [i for i in range(count) if i not in set(held)]
        train, val = self._over(kept), self._over(sorted(held))
        val.limit = cap
        return train, val

    def _over(self, positions: list[int]) -> "ShardStream":
        """The same reader over some of the shards, sharing the record of bad samples (named as in the whole set)."""
        stream = copy.copy(self)
        stream.shards = self.shards.subset(positions)
        stream.starts = [self.starts[i] for i in positions]
        return stream

    # ---------------------------------------------------------------- epochs
    def set_epoch(self, epoch: int) -> None:
        """The epoch whose shard order the next iteration uses; workers see it through shared memory."""
        self._epoch[0] = int(epoch)

    def place(self, rank: int, world: int) -> None:
        self.placement = (int(rank), max(1, int(world)))

    def batches_per_rank(self, workers: int, world: int | None = None) -> int | None:
        """Batches each rank yields per epoch; None where samples decode to several items (known only once read)."""
        if self.many:
            return None
        return batches_per_rank(len(self), world or self.placement[1], workers, self.batch_size)

    def share(self, worker: int, workers: int, epoch: int) -> list[Piece]:
        """This rank's and worker's pieces of the epoch."""
        rank, world = self.placement
        counts = [shard.items for shard in self.shards.shards]
        order = shard_order(len(counts), seed=self.seed, epoch=epoch, shuffle=self.shuffle)
        start, stop = rank_share(len(self), rank, world)
        first, last = worker_share(start, stop, worker, workers, self.batch_size)
        return pieces(counts, order, first, last, self.limit)

    # ---------------------------------------------------------------- reading
    def __iter__(self) -> Iterator[Batch]:
        info = get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        epoch = int(self._epoch[0])
        rank = self.placement[0]
        rng = random.Random(f"dirvae-buffer:{self.seed}:{epoch}:{rank}:{worker}")
        items = self._items(self.share(worker, workers, epoch))
        batch: list[Any] = []
        for item in _mixed(items, self.buffer, rng):
            batch.append(item)
            if len(batch) == self.batch_size:
                yield collate_batch(batch)
                batch = []
        if batch:
            yield collate_batch(batch)

    def _items(self, share: list[Piece]) -> Iterator[tuple[Tensor, int] | None]:
        """Decoded items of the pieces in turn; a None stands for each sample that could not be read."""
        for piece in share:
            shard = self.shards.shards[piece.shard]
            base = self.starts[piece.shard]
            position = piece.start
            try:
                for sample in read_samples(self.shards, shard, self.extensions, piece.start):
                    if position >= piece.stop:
                        break
                    yield from self._decoded(sample, base + position, shard.name)
                    position += 1
            except Exception as error:  # a damaged shard: what it still owed is lost, not the epoch
                missing = piece.stop - position
                self.bad_files.report(base + position, shard.name, f"unreadable from sample {position} on, {missing} sample(s) lost ({_reason(error)})")
                position = piece.stop
                yield from [None] * missing
            if position < piece.stop:
                self.bad_files.report(base + position, shard.name, f"holds {position} samples, its index says {shard.items}")
                yield from [None] * (piece.stop - position)

    def _decoded(self, sample: Sample, index: int, shard: str) -> Iterator[tuple[Tensor, int] | None]:
        name = f"{shard}#{sample.key}"
        if index in self.bad_files:
            yield None
            return
        if sample.payload is None:
            self.bad_files.report(index, name, sample.problem or "nothing to decode")
            yield None
            return
        try:
            tensors = self.decode(sample.payload, sample.extension)
        except Exception as error:  # one sample's failure must not end the epoch
            self.bad_files.report(index, name, error)
            yield None
            return
        for tensor in tensors:
            if tuple(tensor.shape) != self.item_shape:
                self.bad_files.report(index, name, f"decodes to {tuple(tensor.shape)}, not {self.item_shape}")
                yield None
                return
        for tensor in tensors:
            yield tensor, sample.label

    # ---------------------------------------------------------------- peeking
    def first_items(self, count: int) -> list[tuple[Tensor, str]]:
        """The first ``count`` readable items in listed order, with their names (the live view's grid, tools)."""
        found: list[tuple[Tensor, str]] = []
        for tensor, name in self.named_items():
            found.append((tensor, name))
            if len(found) >= count:
                break
        return found

    def named_items(self, keys: set[str] | None = None) -> Iterator[tuple[Tensor, str]]:
        """Every readable item in listed order (or those of samples keyed ``keys``).

        Named ``shard#key``, or ``shard#key#window=N`` where a sample holds several items.
        """
        for position, shard in enumerate(self.shards.shards):
            base = self.starts[position]
            try:
                for offset, sample in enumerate(read_samples(self.shards, shard, self.extensions)):
                    if keys is not None and sample.key not in keys:
                        continue
                    items = [item for item in self._decoded(sample, base + offset, shard.name) if item is not None]
                    for number, (tensor, _) in enumerate(items):
                        suffix = f"#{self.item_key}={number}" if self.many else ""
                        yield tensor, f"{shard.name}#{sample.key}{suffix}"
            except Exception as error:
                self.bad_files.report(base, shard.name, _reason(error))


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _mixed(items: Iterator[Any], size: int, rng: random.Random, initial: int = 100) -> Iterator[Any]:
    """Items through a shuffle buffer of ``size`` (0 or 1: in order): each leaves at a random time after it enters.

    Output starts once ``initial`` items are in, and the buffer grows by one
    more item per item out until full (WebDataset's rule), so the first batch
    does not wait for a thousand decodes.
    """
    if size <= 1:
        yield from items
        return
    buffer: list[Any] = []
    initial = min(initial, size)
    for item in items:
        buffer.append(item)
        if len(buffer) < size:
            extra = next(items, _END)
            if extra is not _END:
                buffer.append(extra)
        if len(buffer) >= initial:
            pick = rng.randrange(len(buffer))
            buffer[pick], buffer[-1] = buffer[-1], buffer[pick]
            yield buffer.pop()
    rng.shuffle(buffer)
    yield from buffer


_END = object()


def check_readable(stream: ShardStream, probe: int = 16) -> None:
    """Decode the first samples of the first shard, or refuse the shards: nothing readable is one clear error, not empty batches."""
    shard = next((shard for shard in stream.shards.shards if shard.items), None)
    if shard is None:
        raise DataError(f"{stream.root}: the shards hold no samples")
    first = None
    try:
        for offset, sample in enumerate(read_samples(stream.shards, shard, stream.extensions)):
            if offset >= probe:
                break
            if sample.payload is None:
                first = first or f"{sample.key}: {sample.problem}"
                continue
            try:
                tensors = stream.decode(sample.payload, sample.extension)
            except Exception as error:
                first = first or f"{sample.key}: {_reason(error)}"
                continue
            if tensors and all(tuple(t.shape) == stream.item_shape for t in tensors):
                stream.items_per_sample = len(tensors)
                return
            first = first or f"{sample.key}: decodes to {[tuple(t.shape) for t in tensors][:1] or 'nothing'}, not {stream.item_shape}"
    except Exception as error:
        raise DataError(f"{shard.name}: not a readable shard ({_reason(error)})") from None
    raise DataError(f"{shard.name}: none of its first {probe} samples is readable" + (f" (e.g. {first})" if first else ""))
