"""Sharded data (issue 26): start time of a million-item shard set, and items/s from shards against a folder.

Run from the repository root:

    .venv/bin/python benchmarks/shards.py                 # a few minutes on 2 cores
    .venv/bin/python benchmarks/shards.py --smoke         # seconds: tiny sizes, checks it runs

It writes its fixtures to a temporary folder (removed afterwards) and prints
a Markdown report.  Measurements:

* **start**: ``open_dataset`` on a set of 1,000 tar shards of 1,000 items
  each (one shard of 64×64 JPEGs, hard-linked 1,000 times; ``index.json``
  lists the counts, as ``dirvae pack`` writes it), the validation split, the
  loader, and the first shuffled batch, in a fresh process (imports timed
  apart).  Nothing lists items: counts come from the index.
* **images**: 64×64 JPEG files → 64×64 items per second, the same files
  packed by ``dirvae pack`` into tar shards against the folder, with 0 and 1
  DataLoader workers (one worker: a worker's rate), shuffled as training
  reads them; variants interleaved, medians of ``--repeats``.  Once with the
  files in the page cache, once with them evicted before every pass
  (``posix_fadvise``, these files only): the first epoch over data on disk.
* **audio**: WAV windows of 2^14 samples at 16 kHz, shards against the
  folder, the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_data import interleaved, make_audio, make_jpegs  # noqa: E402
from dirvae.data import make_loader  # noqa: E402
from dirvae.data.shard_sources import INDEX_FORMAT, INDEX_NAME  # noqa: E402
from dirvae.modalities.audio import AudioData  # noqa: E402
from dirvae.modalities.image import ImageData  # noqa: E402
from dirvae.modalities.opening import open_dataset  # noqa: E402
from dirvae.modalities.packing import pack_folder  # noqa: E402

START_CHILD = r"""
import json, sys, time
began = time.perf_counter()
from dirvae.data import make_loader
from dirvae.modalities.image import ImageData
from dirvae.modalities.opening import open_splits
imported = time.perf_counter()
data = ImageData(sys.argv[1], (3, 64, 64), image_size=64, grayscale=False)
train, val = open_splits(data)
opened = time.perf_counter()
batch = next(iter(make_loader(train, 32, shuffle=True, seed=0)))
first = time.perf_counter()
print(json.dumps({"items": len(train) + len(val), "shards": len(train.shards.shards) + len(val.shards.shards),
                  "imports": imported - began, "open": opened - imported, "first_batch": first - opened, "batch": batch.data.shape[0]}))
"""


def million(work: Path, shards: int, per_shard: int) -> Path:
    """``shards`` hard links of one real shard of ``per_shard`` 64×64 JPEGs, and the index that lists them."""
    make_jpegs(work / "one", per_shard, 64)
    pack_folder(work / "one", work / "packed", shard_size=per_shard)
    real = work / "packed" / "shard-000000.tar"
    folder = work / "million"
    folder.mkdir()
    entries = []
    for number in range(shards):
        name = f"shard-{number:06d}.tar"
        os.link(real, folder / name)
        entries.append({"name": name, "items": per_shard})
    (folder / INDEX_NAME).write_text(json.dumps({"format": INDEX_FORMAT, "shards": entries}))
    return folder


def bench_start(work: Path, args) -> list[tuple]:
    folder = million(work, args.shards, args.per_shard)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), OMP_NUM_THREADS="1")
    runs = []
    for _ in range(args.repeats):
        done = subprocess.run([sys.executable, "-c", START_CHILD, str(folder)], capture_output=True, text=True, env=env, check=True)
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    best = min(runs, key=lambda run: run["open"] + run["first_batch"])
    median = sorted(run["open"] + run["first_batch"] for run in runs)[len(runs) // 2]
    return [
        (f"{best['items']:,} items in {best['shards']:,} tar shards: open + split (s)", f"{best['open']:.3f}"),
        ("first shuffled batch of 32 after that (s)", f"{best['first_batch']:.3f}"),
        (f"start, open to first batch, median of {len(runs)} (s)", f"**{median:.3f}** (target < 3)"),
        ("imports before that: torch, dirvae (s)", f"{best['imports']:.2f}"),
    ]


def evict(folder: Path) -> None:
    """Drop this folder's files from the page cache (theirs only: ``posix_fadvise``), as if read from disk the first time."""
    for path in folder.rglob("*"):
        if path.is_file():
            handle = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(handle, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(handle)


def items_per_second(data, batch: int, workers: int, cold: bool = False):
    """A callable reading one shuffled epoch of ``data``: returns items read (``cold``: its files evicted first)."""
    dataset = open_dataset(data)
    loader = make_loader(dataset, batch, shuffle=True, num_workers=workers, persistent_workers=workers > 0, seed=0)

    def one_pass() -> int:
        if cold:
            evict(Path(data.source))
        return sum(loaded.data.shape[0] for loaded in loader)

    one_pass.items = one_pass()  # warm: workers started, files in the page cache
    return one_pass


def compare(rows: list, label: str, folder_data, shard_data, batch: int, args) -> None:
    os.sync()  # written pages are clean, so eviction can drop them
    for workers, cold in ((0, False), (1, False), (1, True)):
        runs = {"folder": items_per_second(folder_data, batch, workers, cold), "shards": items_per_second(shard_data, batch, workers, cold)}
        assert runs["folder"].items == runs["shards"].items, (runs["folder"].items, runs["shards"].items)
        timed = interleaved(args.repeats, runs)
        rate = {name: runs[name].items / timed[name][0] for name in runs}
        cache = "files not in the page cache" if cold else "page cache warm"
        rows.append((f"{label}, {workers} worker(s), {cache}: folder / shards (items/s)", f"{rate['folder']:,.0f} / {rate['shards']:,.0f}",
                     f"**{rate['shards'] / rate['folder']:.2f}×**"))


def bench_images(work: Path, args) -> list[tuple]:
    make_jpegs(work / "jpegs", args.images, 64, seed=1)
    pack_folder(work / "jpegs", work / "jpeg-shards", shard_size=args.shard_size)
    rows: list = []
    compare(rows, "64×64 JPEG", ImageData(str(work / "jpegs"), (3, 64, 64), image_size=64, grayscale=False),
            ImageData(str(work / "jpeg-shards"), (3, 64, 64), image_size=64, grayscale=False), 32, args)
    return rows


def bench_audio(work: Path, args) -> list[tuple]:
    make_audio(work / "wav", args.audio_files, args.audio_seconds, 16000, "wav", 1)
    pack_folder(work / "wav", work / "wav-shards", shard_size=max(1, args.audio_files // 4))
    size = 2**14
    rows: list = []
    compare(rows, "WAV 16 kHz windows of 2^14", AudioData(str(work / "wav"), (1, size), sample_rate=16000, sample_size=size, pad_last="short"),
            AudioData(str(work / "wav-shards"), (1, size), sample_rate=16000, sample_size=size, pad_last="short"), 8, args)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the benchmark runs")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--shards", type=int, default=1000)
    parser.add_argument("--per-shard", type=int, default=1000)
    parser.add_argument("--images", type=int, default=4000)
    parser.add_argument("--shard-size", type=int, default=1000)
    parser.add_argument("--audio-files", type=int, default=40)
    parser.add_argument("--audio-seconds", type=float, default=8.0)
    args = parser.parse_args()
    if args.smoke:
        args.repeats, args.shards, args.per_shard, args.images, args.shard_size, args.audio_files, args.audio_seconds = 1, 20, 50, 100, 25, 4, 2.0
    work = Path(tempfile.mkdtemp(prefix="dirvae-shards-"))
    try:
        started = time.perf_counter()
        start = bench_start(work, args)
        images = bench_images(work, args)
        audio = bench_audio(work, args)
        print(f"# Shards ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, "
              f"{time.perf_counter() - started:.0f} s)\n")
        print("| start | seconds |\n|---|---|")
        for row in start:
            print(f"| {row[0]} | {row[1]} |")
        print("\n| throughput | folder / shards | shards ÷ folder |\n|---|---|---|")
        for row in images + audio:
            print(f"| {row[0]} | {row[1]} | {row[2]} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
