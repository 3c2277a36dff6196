"""Sharded data: tar, Parquet and save_to_disk sources for every modality, the epoch's split, bad input, packing."""

from __future__ import annotations

import os
import warnings
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dirvae.data import UnreadableFileWarning, make_loader
from dirvae.data.shard_plan import batches_per_rank, pieces, rank_share, shard_order, worker_share
from dirvae.errors import DataError
from dirvae.modalities import MODALITIES
from dirvae.modalities.opening import open_dataset, open_splits
from dirvae.modalities import packing
from dirvae.modalities.packing import pack_folder
from tests.data.shard_builders import (
    FOLDERS, data_config, folder_hashes, numbered_shards, picture, stream_hashes, write_save_to_disk, write_tar,
)  # fmt: skip


def labels_seen(source, *, workers=0, batch=4, shuffle=False, **extra) -> list[int]:
    stream = open_dataset(data_config("image", source, **extra))
    return [int(label) for loaded in make_loader(stream, batch, shuffle=shuffle, num_workers=workers, seed=3) for label in loaded.labels]


# ------------------------------------------------------------------ the split
@pytest.mark.parametrize("total", [1, 7, 24, 101])
@pytest.mark.parametrize("world", [1, 2, 3])
@pytest.mark.parametrize("workers", [1, 2, 3])
def test_ranks_and_workers_read_every_position_once_and_ranks_yield_equal_batches(total, world, workers):
    counts = [5] * (total // 5) + ([total % 5] if total % 5 else [])
    order = shard_order(len(counts), seed=0, epoch=2, shuffle=True)
    seen: Counter = Counter()
    batches = []
    for rank in range(world):
        start, stop = rank_share(total, rank, world)
        rank_batches = 0
        for worker in range(workers):
            first, last = worker_share(start, stop, worker, workers, 4)
            read = pieces(counts, order, first, last)
            rank_batches += -(-sum(p.stop - p.start for p in read) // 4)
            for piece in read:
                seen.update((piece.shard, position) for position in range(piece.start, piece.stop))
        batches.append(rank_batches)
    assert len(seen) == total  # nothing missed
    assert sum(seen.values()) - total == -(-total // world) * world - total <= world - 1  # the documented duplicates
    assert set(batches) == {batches_per_rank(total, world, workers, 4)}


def test_each_epoch_has_its_own_shard_order_and_a_resumed_run_gets_the_same_one():
    orders = [shard_order(20, seed=7, epoch=epoch, shuffle=True) for epoch in range(3)]
    assert len({tuple(order) for order in orders}) == 3
    assert shard_order(20, seed=7, epoch=1, shuffle=True) == orders[1]


def test_a_stream_reads_the_epoch_lightning_sets(tmp_path):
    numbered_shards(tmp_path, [4] * 6)
    stream = open_dataset(data_config("image", tmp_path)).batched(4, shuffle=True, buffer=0, seed=1)
    epochs = []
    for epoch in (0, 1, 1):
        stream.set_epoch(epoch)
        epochs.append([int(label) for loaded in stream for label in loaded.labels])
    assert sorted(epochs[0]) == sorted(epochs[1]) == list(range(24))
    assert epochs[0] != epochs[1] and epochs[1] == epochs[2]


@pytest.mark.parametrize("workers", [0, 2])
def test_shuffled_shards_through_workers_give_every_item_once(tmp_path, workers):
    numbered_shards(tmp_path, [5, 5, 5, 2])
    labels = labels_seen(tmp_path, workers=workers, shuffle=True)
    assert sorted(labels) == list(range(17)) and labels != sorted(labels)


def test_validation_holds_out_whole_shards(tmp_path):
    numbered_shards(tmp_path, [5] * 8)
    train, val = open_splits(data_config("image", tmp_path), val_fraction=0.2)
    held = {shard.name for shard in val.shards.shards}
    assert held and held.isdisjoint(shard.name for shard in train.shards.shards)
    assert len(train) + len(val) == 40
    again = open_splits(data_config("image", tmp_path), val_fraction=0.2)[1]
    assert {shard.name for shard in again.shards.shards} == held


# ---------------------------------------------------------------- the sources
@pytest.mark.parametrize("fmt", ["tar", "parquet"])
@pytest.mark.parametrize("modality", sorted(FOLDERS))
def test_packed_shards_give_the_folders_items(tmp_path, modality, fmt):
    folder = FOLDERS[modality](tmp_path / "folder")
    packed = pack_folder(folder, tmp_path / "shards", fmt=fmt, shard_size=2)
    assert packed.modality == modality and packed.shards >= 2
    expected = folder_hashes(modality, folder)
    assert stream_hashes(modality, tmp_path / "shards") == expected
    assert stream_hashes(modality, tmp_path / "shards", workers=2, shuffle=True) == expected


def test_every_registered_modality_decodes_shards():
    assert set(FOLDERS) == set(MODALITIES.names()), "add a folder builder for the new modality to FOLDERS"


def test_brace_patterns_pipes_and_index_free_tars(tmp_path, capsys):
    numbered_shards(tmp_path, [3, 3, 3])
    assert sorted(labels_seen(str(tmp_path / "part-{0000..0002}.tar"))) == list(range(9))
    assert "counting their samples from the tar headers" in capsys.readouterr().err
    piped = f"pipe:cat {tmp_path}/part-{{0000..0002}}.tar"
    assert sorted(labels_seen(piped)) == list(range(9))


def test_parquet_columns(tmp_path):
    table = pa.table({
        "picture": pa.array([picture(v) for v in range(6)], pa.binary()),
        "caption": pa.array([f"p{v}" for v in range(6)], pa.string()),
        "target": pa.array([10 + v for v in range(6)], pa.int64()),
        "score": pa.array([0.5] * 6, pa.float64()),
    })  # fmt: skip
    pq.write_table(table, tmp_path / "a.parquet", row_group_size=4)
    source = tmp_path / "a.parquet"
    with pytest.raises(DataError, match=r"pass --column .*columns: picture, caption, target, score"):
        open_dataset(data_config("image", source))
    with pytest.raises(DataError, match=r"no column 'img' \(columns: picture, caption, target, score\)"):
        open_dataset(data_config("image", source, column="img"))
    with pytest.raises(DataError, match="column 'score' holds double"):
        open_dataset(data_config("image", source, column="score"))
    with pytest.raises(DataError, match="label column 'caption' holds string"):
        open_dataset(data_config("image", source, column="picture", label_column="caption"))
    assert sorted(labels_seen(source, column="picture", label_column="target")) == list(range(10, 16))
    with pytest.raises(DataError, match="caption.*not readable|none of its first"):
        open_dataset(data_config("image", source, column="caption"))


def test_a_save_to_disk_folder(tmp_path):
    write_save_to_disk(tmp_path / "hf", [picture(v) for v in range(7)], [v * 2 for v in range(7)])
    assert sorted(labels_seen(tmp_path / "hf")) == [v * 2 for v in range(7)]


def test_a_save_to_disk_folder_written_by_datasets(tmp_path):
    datasets = pytest.importorskip("datasets")
    features = datasets.Features({"image": datasets.Image(), "label": datasets.Value("int64")})
    column = pa.array([{"bytes": picture(v), "path": None} for v in range(5)], features.arrow_schema.field("image").type)
    table = datasets.table.InMemoryTable(pa.table({"image": column, "label": pa.array(range(5), pa.int64())}))
    # Built from a table: from_dict's fingerprinting pickles pyarrow types some dill versions cannot.
    dataset = datasets.Dataset(table, info=datasets.DatasetInfo(features=features), fingerprint="test")
    datasets.DatasetDict({"train": dataset}).save_to_disk(str(tmp_path / "hf"))
    assert sorted(labels_seen(tmp_path / "hf")) == list(range(5))


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    "source, message",
    [("nothing-{000..003}.tar", "no such shard"), ("empty", "no .tar or .parquet shard"), ("*.tar", "matches no shard")],
)
def test_shards_that_are_not_there_are_one_error(tmp_path, source, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "index.json").write_text('{"format": "dirvae.shards/1", "shards": []}')
    with pytest.raises(DataError, match=message):
        open_dataset(data_config("image", tmp_path / source))


def test_a_truncated_shard_is_skipped_and_counted_without_stopping_the_epoch(tmp_path):
    pack_folder(FOLDERS["image"](tmp_path / "folder"), tmp_path / "shards", shard_size=4)
    shard = tmp_path / "shards" / "shard-000001.tar"
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 3])  # the index still says 4 items
    stream = open_dataset(data_config("image", tmp_path / "shards"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        batches = list(make_loader(stream, 4))
    assert sum(b.data.shape[0] + b.skipped for b in batches) == 12  # every promised item is a batch slot
    assert 1 <= sum(b.skipped for b in batches) <= 4
    skipped = [w.message for w in caught if isinstance(w.message, UnreadableFileWarning)]
    assert len(skipped) == 1 and skipped[0].path == "shard-000001.tar", [str(w.message) for w in caught]


def test_a_corrupt_member_is_skipped_with_one_warning(tmp_path):
    samples = [{"__key__": f"k{v}", "png": picture(v)} for v in range(4)]
    samples[2]["png"] = b"not a picture"
    write_tar(tmp_path / "one.tar", samples)
    stream = open_dataset(data_config("image", tmp_path / "one.tar"))
    with pytest.warns(UnreadableFileWarning, match=r"one.tar#k2"):
        batches = list(make_loader(stream, 8))
    assert batches[0].data.shape[0] == 3 and batches[0].skipped == 1


def test_shards_of_nothing_readable_are_one_error(tmp_path):
    write_tar(tmp_path / "text.tar", [{"__key__": f"k{v}", "txt": b"hello"} for v in range(3)])
    with pytest.raises(DataError, match=r"text.tar: none of its first 16 samples is readable \(e.g. k0: no member with a readable"):
        open_dataset(data_config("image", tmp_path / "text.tar"))


def test_a_damaged_shard_at_the_start_is_one_error(tmp_path):
    (tmp_path / "bad.tar").write_bytes(b"\x00garbage" * 100)
    with pytest.raises(DataError, match="bad.tar: not a readable tar shard"):
        open_dataset(data_config("image", tmp_path / "bad.tar"))


# -------------------------------------------------------------------- packing
def test_pack_resumes_and_never_leaves_a_half_written_shard(tmp_path, monkeypatch):
    folder = FOLDERS["image"](tmp_path / "folder")
    real = packing._write_tar
    written = []

    def interrupted(path, rows):
        if written:
            with open(path, "wb") as handle:
                handle.write(b"half a shard")
            raise KeyboardInterrupt
        written.append(path)
        real(path, rows)

    monkeypatch.setattr(packing, "_write_tar", interrupted)
    with pytest.raises(KeyboardInterrupt):
        pack_folder(folder, tmp_path / "shards", shard_size=5)
    assert sorted(os.listdir(tmp_path / "shards")) == ["index.json", "shard-000000.tar"]
    first = (tmp_path / "shards" / "shard-000000.tar").stat().st_mtime_ns
    monkeypatch.setattr(packing, "_write_tar", real)
    packed = pack_folder(folder, tmp_path / "shards", shard_size=5)
    assert (packed.shards, packed.written) == (3, 2)
    assert (tmp_path / "shards" / "shard-000000.tar").stat().st_mtime_ns == first
    assert stream_hashes("image", tmp_path / "shards") == folder_hashes("image", folder)
    with pytest.raises(DataError, match="another folder or other options"):
        pack_folder(folder, tmp_path / "shards", shard_size=4)
