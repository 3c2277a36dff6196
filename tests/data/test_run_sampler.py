"""Mixed reading in runs (issue 26): every item once, runs consecutive, several files a batch, workers' lanes apart."""

import pytest
import torch

from dirvae.data.samplers import RunBatchSampler

GROUPS = [(0, 100), (100, 37), (137, 5), (142, 300), (442, 64), (506, 1), (507, 80), (587, 90), (677, 40)]
TOTAL = 717


def file_of(index: int) -> int:
    return next(number for number, (start, count) in enumerate(GROUPS) if start <= index < start + count)


@pytest.mark.parametrize("streams", [1, 2, 3])
def test_every_item_once_full_batches_and_the_length_said(streams):
    sampler = RunBatchSampler(GROUPS, 32, streams=streams, seed=3)
    for _ in range(2):  # two epochs, each whole
        batches = list(sampler)
        assert sorted(i for batch in batches for i in batch) == list(range(TOTAL))
        assert len(batches) == len(sampler) == -(-TOTAL // 32)
        assert all(len(batch) == 32 for batch in batches[:-1])
    dropped = RunBatchSampler(GROUPS, 32, drop_last=True, seed=3)
    assert len(list(dropped)) == len(dropped) == TOTAL // 32


def test_batches_mix_several_files_and_read_runs_forward():
    sampler = RunBatchSampler(GROUPS, 32, lanes=8, run_length=32, seed=0)
    batches = list(sampler)
    files_per_batch = [len({file_of(i) for i in batch}) for batch in batches[:-1]]
    # Until the last runs of the longest file remain, every batch draws from several files.
    assert min(files_per_batch[: len(files_per_batch) // 2]) >= 5  # one file holds 42% of the items here
    assert sum(files_per_batch) / len(files_per_batch) >= 4.5
    # Across the epoch, each run reads forward: counting the items that follow on from
    # no earlier read (a seek, for a reader of the file standing anywhere else), runs
    # of ~32 give about one seek per 32 items, not one per item.
    heads: set[int] = set()
    seeks = 0
    for batch in batches:
        for i in batch:
            if i - 1 in heads:
                heads.remove(i - 1)
            else:
                seeks += 1
            heads.add(i)
    assert seeks <= TOTAL / 32 + 2 * len(GROUPS) + 8


def test_each_worker_reads_its_own_lanes_forward():
    """Batch i goes to worker i % streams: each worker's items of a file follow on (one seek per run)."""
    streams = 2
    batches = list(RunBatchSampler(GROUPS, 16, lanes=4, run_length=32, streams=streams, seed=1))
    for worker in range(streams):
        last: dict[int, int] = {}
        seeks = 0
        mine = [i for number, batch in enumerate(batches) if number % streams == worker for i in batch]
        for i in mine:
            if last.get(file_of(i)) != i - 1:
                seeks += 1
            last[file_of(i)] = i
        assert seeks <= len(mine) / 8


def test_seeded_orders_repeat_and_epochs_differ():
    first = list(RunBatchSampler(GROUPS, 32, seed=5))
    again = RunBatchSampler(GROUPS, 32, seed=5)
    assert list(again) == first
    assert list(again) != first
    assert torch.tensor([i for b in first for i in b]).unique().numel() == TOTAL
