"""Data-layer benchmark: image and audio throughput, listing memory.

Run from the repository root:

    .venv/bin/python benchmarks/bench_data.py            # defaults: a few minutes on 2 cores

It writes its own fixtures to a temporary folder (removed afterwards) and
prints a Markdown report.  Measurements:

* images/s at 64x64 from 512x512 JPEGs through ``make_loader(ImageFolder)``
  with 0 and N workers, next to bare Pillow loops over the same files in one
  process: a naive open+convert+resize loop, and the fastest plain-Pillow
  loop (draft + resize), which is the per-core limit the pipeline is held to.
* audio windows/s (2**16 frames) from WAV at the target rate and from FLAC
  needing resampling, with a bare soundfile read loop as the reference.
* listing time and peak RSS over one pass of a folder of many tiny images,
  measured in a fresh child process so its peak is that pass alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dirvae.data import AudioFolder, GroupedSampler, ImageFolder, make_loader  # noqa: E402


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a live process has used, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def interleaved(repeats: int, runs: dict) -> dict:
    """Median (wall seconds, CPU seconds) per named run, interleaved round by round.

    Interleaving spreads background load (other jobs on a shared 2-core
    machine) evenly over the variants.  CPU seconds, summed over the worker
    processes, give a per-core cost that such load barely moves: wall-clock
    rates with workers depend on how many cores are actually free.
    """
    wall: dict = {name: [] for name in runs}
    cpu: dict = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            cpu_seconds = getattr(run, "cpu_seconds", time.process_time)
            start, start_cpu = time.perf_counter(), cpu_seconds()
            run()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(cpu_seconds() - start_cpu)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in runs}


# --- images ---------------------------------------------------------------


def make_jpegs(folder: Path, count: int, side: int, seed: int = 0) -> list[Path]:
    """Photo-like JPEGs: smooth random structure plus sensor-like noise."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for index in range(count):
        coarse = Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).resize((side, side), Image.BICUBIC)
        pixels = np.asarray(coarse, dtype=np.int16) + rng.normal(0, 6, (side, side, 3)).astype(np.int16)
        path = folder / f"{index:06d}.jpg"
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(path, quality=90)
        paths.append(path)
    return paths


def bare_naive(paths: list[Path], size: int) -> None:
    for path in paths:
        with Image.open(path) as image:
            np.asarray(image.convert("RGB").resize((size, size), Image.BILINEAR))


def bare_draft(paths: list[Path], size: int) -> None:
    for path in paths:
        with Image.open(path) as image:
            image.draft("RGB", (2 * size, 2 * size))
            np.asarray(image.convert("RGB").resize((size, size), Image.BILINEAR, reducing_gap=3.0))


def _bare_draft_chunk(job: tuple[list[Path], int]) -> int:
    paths, size = job
    bare_draft(paths, size)
    return len(paths)


class BarePool:
    """The draft loop split over N processes: the fair reference for N workers.

    N processes on N cores never run as fast as one process each (shared
    caches, memory bandwidth, and any other load on the machine), so the
    per-worker target compares like with like.
    """

    def __init__(self, paths: list[Path], size: int, processes: int) -> None:
        import multiprocessing

        self.pool = multiprocessing.get_context("fork").Pool(processes)
        self.jobs = [(paths[k::processes], size) for k in range(processes)]
        self.pids = [worker.pid for worker in self.pool._pool]
        self()

    def __call__(self) -> int:
        return sum(self.pool.map(_bare_draft_chunk, self.jobs))

    def cpu_seconds(self) -> float:
        return time.process_time() + sum(process_cpu(pid) for pid in self.pids)

    def close(self) -> None:
        self.pool.terminate()


def pipeline_pass(dataset, batch: int, workers: int) -> int:
    loader = make_loader(dataset, batch, num_workers=workers)
    return sum(b.data.shape[0] for b in loader)


class Epochs:
    """Full passes over one loader whose workers persist, as in training.

    A real epoch (118k images) makes the fork of the workers negligible, so
    the workers start once, a warm-up pass runs, and each call times one
    steady-state pass.  Their CPU time is read from /proc while they live.
    """

    def __init__(self, dataset, batch: int, workers: int, sampler=None) -> None:
        self.loader = make_loader(dataset, batch, num_workers=workers, sampler=sampler, persistent_workers=True)
        self()
        self.pids = [worker.pid for worker in self.loader._iterator._workers] if workers else []

    def __call__(self) -> int:
        return sum(b.data.shape[0] for b in self.loader)

    def cpu_seconds(self) -> float:
        return time.process_time() + sum(process_cpu(pid) for pid in self.pids)


def bench_images(work: Path, args) -> list[tuple]:
    paths = make_jpegs(work / "jpegs", args.images, args.side)
    for path in paths:  # page cache warm: measure decoding, not the disk
        path.read_bytes()
    dataset = ImageFolder(work / "jpegs", image_size=args.size)
    n = len(paths)
    runs = {
        "naive": lambda: bare_naive(paths, args.size),
        "draft": lambda: bare_draft(paths, args.size),
        "items": lambda: [dataset[i] for i in range(n)],
        "bare pool": BarePool(paths, args.size, args.workers),
        0: Epochs(dataset, args.batch, 0),
        args.workers: Epochs(dataset, args.batch, args.workers),
    }
    try:
        seconds = interleaved(args.repeats, runs)
    finally:
        runs["bare pool"].close()
    rate = {name: n / wall for name, (wall, _) in seconds.items()}
    per_cpu = {name: n / cpu for name, (_, cpu) in seconds.items()}
    draft, draft_cpu = rate["draft"], per_cpu["draft"]
    rows = [
        ("bare Pillow loop, naive (open+convert+resize)", 1, rate["naive"], rate["naive"] / draft,
         per_cpu["naive"], per_cpu["naive"] / draft_cpu),
        ("bare Pillow loop, draft+resize (per-core limit)", 1, draft, 1.0, draft_cpu, 1.0),
        ("ImageFolder[i] loop (no DataLoader)", 1, rate["items"], rate["items"] / draft,
         per_cpu["items"], per_cpu["items"] / draft_cpu),
    ]
    rows.append((f"make_loader(ImageFolder), 0 workers", 1, rate[0], rate[0] / draft, per_cpu[0], per_cpu[0] / draft_cpu))
    pool, pool_cpu = rate["bare pool"], per_cpu["bare pool"]
    rows.append((f"bare draft+resize loop split over {args.workers} processes", args.workers, pool, 1.0, pool_cpu, 1.0))
    workers = args.workers
    rows.append((f"make_loader(ImageFolder), {workers} workers", workers, rate[workers], rate[workers] / pool,
                 per_cpu[workers], per_cpu[workers] / pool_cpu))
    return rows


# --- audio ----------------------------------------------------------------


def make_audio(folder: Path, files: int, seconds: float, rate: int, fmt: str, channels: int) -> None:
    import soundfile

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    frames = int(seconds * rate)
    for index in range(files):
        data = (0.3 * rng.standard_normal((frames, channels))).clip(-1, 1).astype(np.float32)
        soundfile.write(folder / f"{index:03d}.{fmt}", data, rate, subtype="PCM_16")


def bare_audio(folder: Path, window: int) -> int:
    """soundfile reads of the same windows, no mixing or resampling."""
    import soundfile

    count = 0
    for path in sorted(folder.iterdir()):
        with soundfile.SoundFile(path) as sound:
            while sound.frames - sound.tell() >= window:
                sound.read(window, dtype="float32", always_2d=True)
                count += 1
    return count


def bench_audio(work: Path, args) -> list[tuple]:
    rows = []
    window = 2**16
    make_audio(work / "wav", args.audio_files, args.audio_seconds, 44100, "wav", 2)
    make_audio(work / "flac48", args.audio_files, args.audio_seconds, 48000, "flac", 2)
    for folder, label in ((work / "wav", "WAV 44.1 kHz stereo -> mono"),
                          (work / "flac48", "FLAC 48 kHz stereo -> mono 44.1 kHz")):
        for path in folder.iterdir():
            path.read_bytes()
        dataset = AudioFolder(folder, sample_size=window, sample_rate=44100, channels=1)
        n = len(dataset)
        bare_windows = bare_audio(folder, window)
        runs = {"bare": lambda: bare_audio(folder, window)}
        for workers in (0, args.workers):
            runs[workers] = Epochs(dataset, 16, workers, sampler=GroupedSampler(dataset.groups()))
        seconds = interleaved(args.repeats, runs)
        wall, cpu = seconds["bare"]
        rows.append((f"bare soundfile reads ({label.split(' ')[0]}, no mixing/resampling)", 1,
                     bare_windows / wall, bare_windows / cpu))
        for workers in (0, args.workers):
            wall, cpu = seconds[workers]
            rows.append((f"AudioFolder {label}, {workers} workers", max(workers, 1), n / wall, n / cpu))
    return rows


# --- listing memory -------------------------------------------------------


def make_tiny_folder(folder: Path, count: int) -> None:
    """count tiny PNGs in sub-folders of 1000 (the same bytes: writing is the cost)."""
    from io import BytesIO

    buffer = BytesIO()
    Image.new("RGB", (8, 8), (10, 20, 30)).save(buffer, format="PNG")
    data = buffer.getvalue()
    for index in range(count):
        sub = folder / f"{index // 1000:04d}"
        if index % 1000 == 0:
            sub.mkdir(parents=True, exist_ok=True)
        (sub / f"{index:07d}.png").write_bytes(data)


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def rss_child(folder: str) -> None:
    """Runs in a fresh process: listing time, RSS after listing, peak over a pass."""
    import torch  # noqa: F401  (counted in the baseline, as in any real run)

    baseline = rss_mb()
    start = time.perf_counter()
    dataset = ImageFolder(folder, image_size=8)
    listing_s = time.perf_counter() - start
    after_listing = rss_mb()
    start = time.perf_counter()
    seen = pipeline_pass(dataset, 256, 0)
    pass_s = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({
        "files": len(dataset), "seen": seen, "listing_s": listing_s, "pass_s": pass_s,
        "baseline_mb": baseline, "after_listing_mb": after_listing, "peak_mb": peak,
        "listing_bytes": dataset.paths.nbytes,
    }))


def bench_rss(work: Path, args) -> dict:
    folder = work / "tiny"
    start = time.perf_counter()
    make_tiny_folder(folder, args.tiny)
    made = time.perf_counter() - start
    out = subprocess.run(
        [sys.executable, __file__, "--rss-child", str(folder)], check=True, capture_output=True, text=True
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["make_s"] = made
    return result


# --- report ---------------------------------------------------------------


def report(args, image_rows, audio_rows, rss) -> str:
    load = os.getloadavg()
    lines = [
        f"Command: `{' '.join([Path(sys.executable).name] + sys.argv)}`",
        f"CPU cores: {os.cpu_count()}; load average before/after: {args.load_before} / "
        f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        "",
    ]
    if image_rows:
        lines += [
            f"### Images: {args.images} JPEGs {args.side}x{args.side} -> {args.size}x{args.size} RGB, batch {args.batch}",
            "",
            "| reader | decoding processes | images/s (wall) | vs bare loop, same processes (wall) "
            "| images per CPU-second | vs bare loop (CPU) |",
            "| --- | ---: | ---: | ---: | ---: | ---: |",
        ]
        for name, procs, rate, ratio, cpu_rate, cpu_ratio in image_rows:
            lines.append(f"| {name} | {procs} | {rate:,.0f} | {ratio:.2f}x | {cpu_rate:,.0f} | {cpu_ratio:.2f}x |")
        lines.append("")
    if audio_rows:
        lines += [
            f"### Audio: {args.audio_files} files x {args.audio_seconds:g} s, windows of 2**16 frames, batch 16",
            "",
            "| reader | decoding processes | windows/s (wall) | seconds of audio/s | windows per CPU-second |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        for name, procs, rate, cpu_rate in audio_rows:
            lines.append(f"| {name} | {procs} | {rate:,.0f} | {rate * 2**16 / 44100:,.0f} | {cpu_rate:,.0f} |")
        lines.append("")
    if rss:
        lines += [
            f"### Listing and one pass over {rss['files']:,} tiny PNGs (8x8, image_size=8, batch 256, 0 workers)",
            "",
            "| measure | value |",
            "| --- | ---: |",
            f"| listing time (walk + sort + probe) | {rss['listing_s']:.2f} s |",
            f"| listing memory (PathList buffer) | {rss['listing_bytes'] / 2**20:.1f} MiB |",
            f"| RSS after imports (torch, dirvae) | {rss['baseline_mb']:.0f} MiB |",
            f"| RSS after listing | {rss['after_listing_mb']:.0f} MiB |",
            f"| peak RSS over the pass | {rss['peak_mb']:.0f} MiB |",
            f"| pass time | {rss['pass_s']:.1f} s ({rss['seen'] / rss['pass_s']:,.0f} images/s) |",
            "",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=800, help="number of JPEGs")
    parser.add_argument("--side", type=int, default=512, help="JPEG side in pixels")
    parser.add_argument("--size", type=int, default=64, help="output image_size")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--workers", type=int, default=2, help="worker count for the parallel rows")
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement (median)")
    parser.add_argument("--audio-files", type=int, default=6)
    parser.add_argument("--audio-seconds", type=float, default=30.0)
    parser.add_argument("--tiny", type=int, default=100_000, help="tiny images for the RSS pass (0: skip)")
    parser.add_argument("--only", choices=["images", "audio", "rss"], help="run one part only")
    parser.add_argument("--rss-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(args.rss_child)
        return
    args.load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    work = Path(tempfile.mkdtemp(prefix="dirvae-bench-"))
    try:
        image_rows = bench_images(work, args) if args.only in (None, "images") else []
        audio_rows = bench_audio(work, args) if args.only in (None, "audio") else []
        rss = bench_rss(work, args) if args.only in (None, "rss") and args.tiny > 0 else None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(report(args, image_rows, audio_rows, rss))


if __name__ == "__main__":
    main()
