"""Which samples of an epoch each DDP rank and DataLoader worker reads: disjoint shares, equal across ranks.

The arithmetic only (no reading), so it can be checked exhaustively.  Each
epoch the shards are put in a seeded order (shuffled per epoch, or as
listed); their samples, in that order, form one sequence of ``N`` positions.

- Rank ``r`` of ``R`` takes positions ``[r*q, (r+1)*q)`` with
  ``q = ceil(N / R)``: ranks read equal counts, so DDP's ranks step in
  lockstep.  Positions past ``N`` wrap to the start, so when ``R`` does not
  divide ``N`` up to ``R - 1`` samples are read twice in that epoch (by
  different ranks) and no sample is missed.
- Within a rank, worker ``w`` of ``W`` takes a contiguous run of ``c``
  positions, ``c`` being ``ceil(q / W)`` rounded up to whole batches, so only
  a worker's last batch is ever short.
- Contiguous runs keep reading sequential: a reader opens each of its shards
  once, and only its first and last shard may be shared with a neighbour
  (each reads its own part; the other part is skipped without decoding).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Sequence


SHUFFLE_BUFFER = 1000
"""Items each worker mixes in memory by default (``--shuffle-buffer``): 48 MB of 64×64 RGB pictures."""


@dataclass(frozen=True)
class Piece:
    """Samples ``[start, stop)`` of shard ``shard`` (its position in the listed shards)."""

    shard: int
    start: int
    stop: int


def shard_order(shards: int, *, seed: int, epoch: int, shuffle: bool) -> list[int]:
    """The epoch's order of the shards: seeded by (seed, epoch) when shuffled, so a resumed run continues the sequence."""
    order = list(range(shards))
    if shuffle:
        random.Random(f"dirvae-shards:{seed}:{epoch}").shuffle(order)
    return order


def rank_share(total: int, rank: int, world: int) -> tuple[int, int]:
    """Positions ``[start, stop)`` (``stop`` may pass ``total``: those wrap) of one rank."""
    per_rank = math.ceil(total / world)
    return rank * per_rank, (rank + 1) * per_rank


def worker_share(start: int, stop: int, worker: int, workers: int, batch: int) -> tuple[int, int]:
    """A worker's contiguous run inside a rank's share, in whole batches but for the last."""
    size = stop - start
    chunk = math.ceil(math.ceil(size / workers) / batch) * batch if size else 0
    first = min(stop, start + worker * chunk)
    return first, min(stop, first + chunk)


def batches_per_rank(total: int, world: int, workers: int, batch: int) -> int:
    """How many batches each rank yields in an epoch (every rank the same)."""
    start, stop = rank_share(total, 0, world)
    count = 0
    for worker in range(max(1, workers)):
        first, last = worker_share(start, stop, worker, max(1, workers), batch)
        count += math.ceil((last - first) / batch)
    return count


def pieces(counts: Sequence[int], order: Sequence[int], start: int, stop: int, limit: int | None = None) -> list[Piece]:
    """Positions ``[start, stop)`` of the ordered sequence as shard pieces (wrapping past the end).

    ``limit`` caps the sequence at its first ``limit`` positions (validation
    reads at most a fixed number of samples).
    """
    total = sum(counts[i] for i in order)
    if limit is not None:
        total = min(total, limit)
    if total <= 0 or stop <= start:
        return []
    found: list[Piece] = []
    position = start
    while position < stop:
        begin = position % total
        end = min(total, begin + (stop - position))
        offset = 0
        for shard in order:
            size = counts[shard]
            low, high = max(begin, offset), min(end, offset + size)
            if low < high:
                found.append(Piece(shard, low - offset, high - offset))
            offset += size
            if offset >= end:
                break
        position += end - begin
    return found
