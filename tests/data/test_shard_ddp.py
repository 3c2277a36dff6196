"""Shards under DDP: two gloo processes with two DataLoader workers each, counting what every rank read.

Each item carries its sample's number as its label, so the labels the ranks
saw say exactly which samples were read, and how often, in each epoch.
"""

from __future__ import annotations

import json
import os
import socket
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch.distributed as dist
import torch.multiprocessing as mp

from dirvae.data import make_loader
from dirvae.modalities.opening import open_dataset
from tests.data.shard_builders import AUDIO_SIZE, RATE, data_config, numbered_shards, write_tar

WORLD = 2
EPOCHS = 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _rank(rank: int, port: int, modality: str, source: str, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    try:
        stream = open_dataset(data_config(modality, source))
        loader = make_loader(stream, 4, shuffle=True, num_workers=2, persistent_workers=True, seed=5)
        epochs = []
        for epoch in range(EPOCHS):
            loader.sampler.set_epoch(epoch)  # what Lightning does before each epoch
            batches = list(loader)
            epochs.append({"labels": [int(x) for b in batches for x in b.labels], "batches": len(batches)})
        Path(out, f"rank{rank}.json").write_text(json.dumps(epochs))
    finally:
        dist.destroy_process_group()


def _run(modality: str, source: Path, out: Path) -> list[list[dict]]:
    mp.spawn(_rank, args=(_free_port(), modality, str(source), str(out)), nprocs=WORLD, join=True)
    return [json.loads((out / f"rank{rank}.json").read_text()) for rank in range(WORLD)]


@pytest.mark.slow
def test_two_ranks_with_two_workers_each_read_every_item_once_per_epoch(tmp_path):
    total = numbered_shards(tmp_path / "shards", [5, 5, 5, 5, 3])  # 23 items: one duplicate per epoch pads the ranks
    ranks = _run("image", tmp_path / "shards", tmp_path)
    orders = []
    for epoch in range(EPOCHS):
        seen = Counter(label for rank in ranks for label in rank[epoch]["labels"])
        assert set(seen) == set(range(total)), epoch
        assert sum(seen.values()) - total == 1 and max(seen.values()) == 2  # ceil(23 / 2) * 2 - 23
        assert ranks[0][epoch]["batches"] == ranks[1][epoch]["batches"]
        assert not set(ranks[0][epoch]["labels"]) & set(ranks[1][epoch]["labels"]) - {l for l, n in seen.items() if n > 1}
        orders.append(ranks[0][epoch]["labels"])
    assert orders[0] != orders[1]  # each epoch its own order


@pytest.mark.slow
def test_ranks_whose_sounds_hold_different_numbers_of_windows_still_step_together(tmp_path):
    windows = [1, 6, 1, 1, 2, 1]  # per file: one rank's share holds far more windows than the other's
    samples = []
    for number, count in enumerate(windows):
        tone = 0.3 * np.sin(np.arange(count * AUDIO_SIZE) * (0.01 + number * 0.003)).astype(np.float32)
        path = tmp_path / f"tone{number}.wav"
        soundfile.write(path, tone, RATE)
        samples.append({"__key__": f"tone{number}", "wav": path.read_bytes(), "cls": str(number).encode()})
    write_tar(tmp_path / "shards" / "a.tar", samples[:3])
    write_tar(tmp_path / "shards" / "b.tar", samples[3:])
    ranks = _run("audio", tmp_path / "shards", tmp_path)
    for epoch in range(EPOCHS):
        assert ranks[0][epoch]["batches"] == ranks[1][epoch]["batches"]  # DDP never waits on a rank that ran out
        seen = Counter(label for rank in ranks for label in rank[epoch]["labels"])
        assert all(seen[number] >= count for number, count in enumerate(windows))  # every window read
        repeats = sum(seen.values()) - sum(windows)
        assert 0 <= repeats <= 4 * ranks[0][epoch]["batches"]
