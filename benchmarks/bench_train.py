"""Issue 4 benchmark: training throughput through the real `dirvae train` path.

    .venv/bin/python benchmarks/bench_train.py                 # CPU: digits default + 64x64 ResNet
    .venv/bin/python benchmarks/bench_train.py --gpu           # GPU: 64x64 and 256x256 ResNet, fp32 vs bf16

Each case runs `dirvae.training.run.train` (Lightning, checkpoints, live
view, logging: everything a user gets) for --steps optimiser steps and times
steps after the first --warmup ones with a callback, so start-up and the
first checkpoint are excluded.  Image cases use generated JPEG folders.
"""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import time
from pathlib import Path

import lightning as L
import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from common import machine, peak_rss_mib  # noqa: E402

from dirvae.training import run as run_module  # noqa: E402
from dirvae.training.config import resolve  # noqa: E402


class StepTimer(L.Callback):
    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.started: float | None = None
        self.samples = 0
        self.elapsed = 0.0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.warmup:
            if trainer.strategy.root_device.type == "cuda":
                torch.cuda.synchronize()
            self.started = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.started is not None:
            if trainer.strategy.root_device.type == "cuda":
                torch.cuda.synchronize()
            self.samples += run_module.batch_data_size(batch)
            self.elapsed = time.perf_counter() - self.started


def make_images(folder: Path, n: int, size: int) -> Path:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(n):
        base = rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)
        Image.fromarray(base).resize((size, size), Image.BILINEAR).save(folder / f"{index:05d}.jpg", quality=90)
    return folder


def measure(options: dict, steps: int, warmup: int, workdir: Path, name: str) -> dict:
    timer = StepTimer(warmup)
    config = resolve({"iterations": steps, "epochs": 10_000, "save_freq": 30.0, "log_every": 100, **options})
    run_module.train(config, workdir / name, callbacks=[timer])
    return {"samples_per_s": timer.samples / timer.elapsed if timer.elapsed else float("nan"), "steps": steps - warmup}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=160)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--gpu", action="store_true")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads on the CPU")
    args = parser.parse_args()
    if not args.gpu:
        torch.set_num_threads(args.threads)
    import logging

    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        images64 = make_images(workdir / "img64", 512, 64)
        if args.gpu:
            images256 = make_images(workdir / "img256", 512, 256)
            cases = []
            for size, folder, batch in ((64, images64, 128), (256, images256, 32)):
                for precision in ("32-true", "bf16-mixed"):
                    cases.append((f"ResNet {size}x{size}, batch {batch}, {precision}", {"data": str(folder), "image_size": size, "batches": batch, "precision": precision, "num_workers": args.workers}))
        else:
            cases = [
                ("digits default (MLP 784-500-500, K=64, batch 32)", {"no_gpu": True}),
                ("ResNet 64x64 RGB, K=64, batch 32", {"data": str(images64), "image_size": 64, "batches": 32, "no_gpu": True, "num_workers": args.workers}),
            ]
        cwd = Path.cwd()
        import os

        os.chdir(workdir)  # no data/ folder here, so the first case uses the digits
        try:
            for index, (label, options) in enumerate(cases):
                result = measure(options, args.steps, args.warmup, workdir, f"run{index}")
                results.append((label, result))
                print(f"{label}: {result['samples_per_s']:.0f} samples/s", flush=True)
        finally:
            os.chdir(cwd)
    print(f"\n# bench_train  {datetime.date.today()}  {machine()}  {'GPU ' + torch.cuda.get_device_name() if args.gpu else 'CPU'}")
    print("| case | samples/s (steps timed) |\n|---|---|")
    for label, result in results:
        print(f"| {label} | {result['samples_per_s']:,.0f} ({result['steps']}) |")
    print(f"\npeak RSS {peak_rss_mib():.0f} MiB")


if __name__ == "__main__":
    main()
