import warnings

import pytest
import torch
from PIL import Image
from torch.utils.data import Dataset, DistributedSampler

from dirvae.data import (
    Batch,
    GroupedSampler,
    ImageFolder,
    ImageIterator,
    UnreadableFileWarning,
    collate_batch,
    make_loader,
)
from dirvae.errors import DataError

from .builders import write_broken_images


class Numbers(Dataset):
    """Item i is a [1] tensor holding i; every third item is unreadable."""

    def __len__(self):
        return 30

    def __getitem__(self, index):
        return None if index % 3 == 2 else (torch.tensor([float(index)]), index % 2)


def test_collate_drops_missing_items_and_counts_them():
    batch = collate_batch([(torch.ones(2), 1), None, (torch.zeros(2), 0), None])
    assert isinstance(batch, Batch)
    assert batch.data.tolist() == [[1, 1], [0, 0]]
    assert batch.labels.dtype == torch.long and batch.labels.tolist() == [1, 0]
    assert batch.skipped == 2
    empty = collate_batch([None, None])
    assert empty.data.shape[0] == 0 and empty.labels.shape == (0,) and empty.skipped == 2
    with pytest.raises(DataError, match="differ in shape"):
        collate_batch([(torch.ones(2), 0), (torch.ones(3), 0)])


@pytest.mark.parametrize("workers", [0, 2])
def test_loader_sees_every_readable_item_once(workers):
    loader = make_loader(Numbers(), 4, shuffle=True, num_workers=workers, seed=5)
    seen, skipped = [], 0
    for batch in loader:
        skipped += batch.skipped
        if batch.data.shape[0] == 0:  # all four unreadable
            continue
        seen += batch.data[:, 0].long().tolist()
        assert batch.labels.tolist() == [i % 2 for i in batch.data[:, 0].long().tolist()]
    assert sorted(seen) == [i for i in range(30) if i % 3 != 2]
    assert skipped == 10
    again = make_loader(Numbers(), 4, shuffle=True, num_workers=workers, seed=5)
    assert [b.data.tolist() for b in again] == [b.data.tolist() for b in make_loader(Numbers(), 4, shuffle=True, seed=5)]


def test_distributed_sampler_splits_the_data():
    seen = []
    for rank in range(2):
        sampler = DistributedSampler(Numbers(), num_replicas=2, rank=rank, shuffle=True, seed=0)
        loader = make_loader(Numbers(), 4, shuffle=True, sampler=sampler, num_workers=2, persistent_workers=True)
        seen.append([int(x) for batch in loader for x in batch.data.reshape(-1)])
    assert not set(seen[0]) & set(seen[1])
    assert sorted(seen[0] + seen[1]) == [i for i in range(30) if i % 3 != 2]


def test_image_iterator_counts_skips_across_worker_processes(tmp_path):
    for k in range(6):
        Image.new("RGB", (16, 16), (40 * k, 0, 0)).save(tmp_path / f"{k}.png")
    broken = write_broken_images(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        iterator = ImageIterator(tmp_path, batches=3, shuffle=True, image_size=8, num_workers=2,
                                 persistent_workers=True, pin_memory=True, seed=0)
        for _ in range(2):  # persistent workers keep their state; counts must not drift
            batches = list(iterator)
            assert sum(b.shape[0] for b in batches) == 6
            assert iterator.skipped == len(broken)
    assert all(b.dtype == torch.float32 and b.shape[1:] == (3, 8, 8) for b in batches)


def test_a_pass_with_nothing_readable_raises(tmp_path):
    Image.new("RGB", (16, 16)).save(tmp_path / "a.png")
    iterator = ImageIterator(tmp_path, image_size=8)
    (tmp_path / "a.png").write_bytes(b"gone bad since listing")
    with pytest.warns(UnreadableFileWarning):
        with pytest.raises(DataError, match="no item could be read"):
            list(iterator)


def test_grouped_sampler_keeps_groups_together():
    groups = [(0, 3), (3, 1), (4, 4)]
    assert list(GroupedSampler(groups)) == list(range(8))
    sampler = GroupedSampler(groups, shuffle=True, shuffle_groups=True, seed=0)
    assert len(sampler) == 8
    orders = [list(sampler) for _ in range(6)]
    for order in orders:
        assert sorted(order) == list(range(8))
        blocks = [next(g for g, (s, n) in enumerate(groups) if s <= i < s + n) for i in order]
        assert blocks == sorted(blocks, key=blocks.index)  # each group contiguous
    assert len({tuple(o) for o in orders}) > 1


def test_image_dataset_works_with_a_plain_dataloader_in_workers(tmp_path):
    for k in range(4):
        Image.new("RGB", (16, 16)).save(tmp_path / f"{k}.png")
    dataset = ImageFolder(tmp_path, image_size=8)
    batches = list(make_loader(dataset, 2, num_workers=2))
    assert [b.data.shape for b in batches] == [(2, 3, 8, 8)] * 2


def test_collate_keeps_dtypes_numpy_lacks():
    batch = collate_batch([(torch.ones(2, dtype=torch.bfloat16), 0), (torch.zeros(2, dtype=torch.bfloat16), 1)])
    assert batch.data.dtype == torch.bfloat16 and batch.data.shape == (2, 2)
    assert collate_batch([(torch.ones(3, dtype=torch.uint8), 0)]).data.dtype == torch.uint8


def test_datasets_survive_pickling_for_spawned_workers(tmp_path):
    import pickle

    import numpy as np
    import soundfile

    from dirvae.data import AudioFolder, VideoFolder

    from .builders import write_video

    Image.new("RGB", (16, 16), (0, 90, 0)).save(tmp_path / "a.png")
    soundfile.write(tmp_path / "a.wav", np.linspace(-0.5, 0.5, 512), 8000)
    write_video(tmp_path / "v.avi", "mjpeg", 3)
    datasets = [
        ImageFolder(tmp_path, image_size=8),
        AudioFolder(tmp_path, sample_size=128, sample_rate=8000),
        VideoFolder(tmp_path, image_size=8),
    ]
    for dataset in datasets:
        before = dataset[1 if len(dataset) > 1 else 0]  # leaves a file open
        copy = pickle.loads(pickle.dumps(dataset))
        after = copy[1 if len(copy) > 1 else 0]
        assert torch.equal(before[0], after[0]) and before[1] == after[1]
