"""Issue 26 item 6: default ``dirvae train --type video`` steps/s against the same nets on frames held in memory.

    .venv/bin/python benchmarks/video_speed.py                 # 8 generated 64x64 clips, 3 rounds
    .venv/bin/python benchmarks/video_speed.py --rounds 1 --steps 40

Cases, alternated round by round in one process (this machine is shared):
``video`` is ``dirvae train --type video`` as a user runs it (defaults:
runs of consecutive frames, auto workers); ``before`` is the previous default
(frames of all files at random, one seek each, no workers); ``memory`` is the
same run with every frame decoded once beforehand and held in memory (no
workers: nothing to decode).  Steps are timed after a warm-up by
bench_train.py's StepTimer.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from bench_train import measure  # noqa: E402
from common import machine  # noqa: E402
from video import encode_clip  # noqa: E402

from dirvae.training import data_module, run as run_module  # noqa: E402


def make_clips(folder: Path, clips: int, frames: int, size: int = 64) -> Path:
    """Pans over smooth random pictures, encoded as the library saves video."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(clips):
        base = np.asarray(Image.fromarray(rng.integers(0, 255, (12, 12, 3), dtype=np.uint8)).resize((size * 3, size * 3), Image.BICUBIC))
        path = [(int(t * size * 2 / frames), int(t * size / frames)) for t in range(frames)]
        encode_clip(np.stack([base[y : y + size, x : x + size] for x, y in path]), folder / f"clip{number:02d}.mp4")
    return folder


CASES = {
    "video": {},  # the defaults: runs, auto workers and threads
    "before": {"num_workers": 0},  # one seek a frame (runs turned off below), no workers
    "memory": {"num_workers": 0},
    "runs-0w": {"num_workers": 0},  # runs decoded in the training process, its threads on every core
    "runs-1w-2t": {"num_workers": 1, "threads": 2},  # a decoding worker beside two torch threads
}


class InMemory:
    """A reader's items decoded once and held: what "the same nets on images in memory" reads."""

    decodes_items = False

    def __init__(self, reader):
        self.dataset = reader
        self.items = [reader[i] for i in range(len(reader))]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return self.items[index]

    def __getattr__(self, name):
        return getattr(self.__dict__["dataset"], name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=15)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--frames", type=int, default=150)
    parser.add_argument("--cases", default="video,before,memory", help=f"comma-separated, of {', '.join(CASES)} (default video,before,memory)")
    args = parser.parse_args()
    print(machine())
    opened = run_module.open_dataset
    reads_runs = data_module._reads_runs
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        clips = make_clips(work / "clips", args.clips, args.frames)
        base = {"type": "video", "data": str(clips), "image_size": 64}
        rates: dict[str, list[float]] = {case: [] for case in args.cases.split(",")}
        for round_ in range(args.rounds):
            for case in rates:
                run_module.open_dataset = (lambda *a, **k: InMemory(opened(*a, **k))) if case == "memory" else opened
                data_module._reads_runs = (lambda dataset: False) if case == "before" else reads_runs
                options = dict(base, **CASES[case])
                result = measure(options, args.steps, args.warmup, work, f"{case}{round_}")
                rates[case].append(result["samples_per_s"] / 32)
                print(f"round {round_} {case}: {rates[case][-1]:.2f} steps/s", flush=True)
        run_module.open_dataset, data_module._reads_runs = opened, reads_runs
    for case in [c for c in rates if c != "memory"]:
        ratios = [a / b for a, b in zip(rates[case], rates["memory"])]
        print(f"{case} / memory: median {statistics.median(ratios):.2f} (rounds: {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
