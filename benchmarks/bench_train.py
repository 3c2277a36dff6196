"""Issue 4 benchmark: training throughput through the real `dirvae train` path.

    .venv/bin/python benchmarks/bench_train.py                 # CPU: digits default + 64x64 ResNet
    .venv/bin/python benchmarks/bench_train.py --gpu           # GPU: 64x64 and 256x256 ResNet, fp32 vs bf16
    .venv/bin/python benchmarks/bench_train.py --overhead --threads 1   # trainer vs a bare loop (issue 11)
    .venv/bin/python benchmarks/bench_train.py --overhead --threads 1 --batch 100 --model-size 50   # issue 11's setting

Each case runs `dirvae.training.run.train` (Lightning, checkpoints, live
view, logging: everything a user gets) for --steps optimiser steps and times
steps after the first --warmup ones with a callback, so start-up and the
first checkpoint are excluded.  Image cases use generated JPEG folders.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
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
from dirvae.modalities.opening import open_dataset  # noqa: E402
from dirvae.training.module import batch_data  # noqa: E402
from dirvae.training.plan import data_source, plan_run  # noqa: E402


class StepTimer(L.Callback):
    """Samples/s after ``warmup`` steps, and each step's wall time (batch end to batch end).

    Also the CPU seconds of the timed window: the training thread's own
    (``thread_time``) and the whole process's (``process_time``, which adds
    the writer and TensorBoard threads).  Neither counts time another
    process took the core, which on this shared 2-core machine moves the wall
    clock by up to 20% from one round to the next.
    """

    def __init__(self, warmup: int) -> None:
        self.warmup = warmup
        self.started: float | None = None
        self.samples = 0
        self.elapsed = 0.0
        self.step_times: list[float] = []
        self._last_end: float | None = None
        self.save_times: list[float] = []
        self.cpu_started = (0.0, 0.0)
        self.cpu_elapsed = (0.0, 0.0)

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.warmup:
            if trainer.strategy.root_device.type == "cuda":
                torch.cuda.synchronize()
            self.started = time.perf_counter()
            self.cpu_started = (time.thread_time(), time.process_time())

    def on_save_checkpoint(self, trainer, pl_module, checkpoint):
        if self.started is not None:
            self.save_times.append(time.perf_counter())

    @property
    def saves(self) -> int:
        """Checkpoints taken inside the timed window: a window shorter than --save-freq would leave their cost out."""
        return sum(1 for moment in self.save_times if self._last_end is not None and moment <= self._last_end)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if self.started is not None:
            if trainer.strategy.root_device.type == "cuda":
                torch.cuda.synchronize()
            self.samples += int(batch_data(batch)[0].shape[0])
            now = time.perf_counter()
            self.elapsed = now - self.started
            self.cpu_elapsed = (time.thread_time() - self.cpu_started[0], time.process_time() - self.cpu_started[1])
            if self._last_end is not None:
                self.step_times.append(now - self._last_end)
            self._last_end = now


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
    return {
        "samples_per_s": timer.samples / timer.elapsed if timer.elapsed else float("nan"),
        "steps": steps - warmup,
        "median_step_s": statistics.median(timer.step_times) if timer.step_times else float("nan"),
        "saves": timer.saves,
        "seconds": timer.elapsed,
        **cpu_rates(timer.samples, timer.cpu_elapsed),
    }


def cpu_rates(samples: int, cpu_seconds: tuple[float, float]) -> dict[str, float]:
    """Samples per CPU second of the training thread and of the whole process."""
    thread, process = cpu_seconds
    return {"thread_rate": samples / thread if thread else float("nan"), "process_rate": samples / process if process else float("nan")}


def bare_loop_rate(config, steps: int, warmup: int) -> dict[str, float]:
    """Samples/s of the least a training loop must do: model.loss -> backward -> clip -> Adam.

    Same networks (built from the same run configuration), same optimiser,
    same batch size and KL schedule as ``dirvae train`` on the digits, with
    the whole data set held as one tensor and sliced (no per-item reads).
    Returns samples/s, the median seconds per step and the CPU rates (:func:`cpu_rates`).
    """
    from dirvae.training.optim import make_optimizer
    from dirvae.training.schedules import make_kl_schedule

    L.seed_everything(config.seed, verbose=False)
    torch.set_flush_denormal(True)
    run = plan_run(config, data_source(config, announce=False))
    dataset = open_dataset(run.data)
    model = run_module.build_model(run)
    optimizer = make_optimizer(model.parameters(), config.learning_rate)
    schedule = make_kl_schedule(config.kl_schedule, weight=config.kl_weight, cycle_steps=max(1, steps // 4))
    data = torch.stack([dataset[i][0] for i in range(len(dataset))])
    batch = config.batches
    order = torch.randperm(len(data))
    position, started, timed, times, last = 0, None, 0, [], None
    for step in range(steps):
        if step == warmup:
            started = last = time.perf_counter()
            cpu_started = (time.thread_time(), time.process_time())
        if position + batch > len(data):
            order, position = torch.randperm(len(data)), 0
        x = data[order[position : position + batch]]
        position += batch
        terms = model.loss(x, kl_weight=schedule(step))
        optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_norm)
        optimizer.step()
        if started is not None:
            timed += x.shape[0]
            now = time.perf_counter()
            times.append(now - last)
            last = now
    elapsed = time.perf_counter() - started
    cpu = (time.thread_time() - cpu_started[0], time.process_time() - cpu_started[1])
    return {"samples_per_s": timed / elapsed, "median_step_s": statistics.median(times), **cpu_rates(timed, cpu)}


def lightning_floor_rate(config, steps: int, warmup: int) -> dict[str, float]:
    """Samples/s of the least Lightning loop: a plain LightningModule whose step is ``model.loss``.

    Same networks, optimiser, clipping and data loader as ``dirvae train``,
    but no logger, callbacks, validation or checkpoints: what Lightning's
    automatic optimisation costs by itself, so the table can say how much of
    the trainer's overhead is ours.
    """
    from dirvae.data import make_loader
    from dirvae.training.optim import make_optimizer

    class Plain(L.LightningModule):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def training_step(self, batch, batch_idx):
            return self.model.loss(batch.data, kl_weight=1.0).total

        def configure_optimizers(self):
            return make_optimizer(self.parameters(), config.learning_rate)

    L.seed_everything(config.seed, verbose=False)
    run = plan_run(config, data_source(config, announce=False))
    dataset = open_dataset(run.data)
    model = run_module.build_model(run)
    timer = StepTimer(warmup)
    trainer = L.Trainer(
        accelerator="cpu", max_steps=steps, max_epochs=10_000, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, gradient_clip_val=config.clip_norm, callbacks=[timer],
    )  # fmt: skip
    trainer.fit(Plain(model), make_loader(dataset, config.batches, shuffle=True, seed=config.seed))
    return {
        "samples_per_s": timer.samples / timer.elapsed,
        "median_step_s": statistics.median(timer.step_times),
        **cpu_rates(timer.samples, timer.cpu_elapsed),
    }


def overhead(args: argparse.Namespace) -> None:
    """``dirvae train`` on the digits against a bare loop and a plain Lightning loop, interleaved in one process."""
    import os

    from dirvae.training.config import TrainConfig

    defaults = TrainConfig()  # checkpoint, live-view and validation settings as a user gets them
    options = {"no_gpu": True, "threads": args.threads, "save_freq": defaults.save_freq, "log_every": defaults.log_every}
    if args.batch:
        options["batches"] = args.batch
    if args.model_size:
        options["model_size"] = args.model_size
    names = ("bare", "lightning", "dirvae")
    measures = ("samples_per_s", "median_step_s", "thread_rate", "process_rate")
    results: dict[str, dict[str, list[float]]] = {name: {key: [] for key in measures} for name in names}
    loads, saves, seconds = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        cwd = Path.cwd()
        os.chdir(workdir)  # no data/ folder here: the digits
        try:
            for round_index in range(args.rounds):
                config = resolve({"iterations": args.steps, "epochs": 10_000, **options})
                # Rotate which goes first: this machine's speed drifts within a round.
                order = names[round_index % 3 :] + names[: round_index % 3]
                for name in order:
                    if name == "bare":
                        result = bare_loop_rate(config, args.steps, args.warmup)
                    elif name == "lightning":
                        result = lightning_floor_rate(config, args.steps, args.warmup)
                    else:
                        result = measure(options, args.steps, args.warmup, workdir, f"run{round_index}")
                        saves.append(result["saves"])
                        seconds.append(result["seconds"])
                    for key in measures:
                        results[name][key].append(result[key])
                loads.append(os.getloadavg()[0])
                rate = {name: results[name]["samples_per_s"][-1] for name in names}
                print(
                    f"round {round_index}: bare {rate['bare']:,.0f}  plain Lightning {rate['lightning']:,.0f}  "
                    f"dirvae train {rate['dirvae']:,.0f} samples/s ({saves[-1]} checkpoints in {seconds[-1]:.1f} s timed); "
                    f"load {loads[-1]:.2f}",
                    file=sys.stderr, flush=True,
                )  # fmt: skip
        finally:
            os.chdir(cwd)

    def ratios(name: str, key: str) -> list[float]:
        """Per round, this loop against the bare loop (a step time inverted, so higher is faster throughout)."""
        pairs = zip(results[name][key], results["bare"][key])
        return [(bare / this if key == "median_step_s" else this / bare) for this, bare in pairs]

    print(f"\n# bench_train --overhead  {datetime.date.today()}  {machine()}  load average {min(loads):.2f}-{max(loads):.2f}")
    print(f"batch {config.batches}, K {plan_run(config, data_source(config, announce=False)).model.model_size}, {args.steps} steps a run ({args.warmup} untimed), {args.rounds} interleaved rounds")
    print(f"dirvae train took {sum(saves)} checkpoints in {sum(seconds):.0f} timed seconds (one per {options['save_freq']:g} s is what a user gets)")
    print("Ratios to the bare loop, median of rounds (range).  CPU: samples per CPU second of the training thread, and of the whole process (writer and TensorBoard threads included).")
    print("| loop | samples/s (median) | throughput / bare | median step | CPU, training thread | CPU, process |\n|---|---|---|---|---|---|")
    labels = {"bare": "bare loop (loss, backward, clip, Adam)", "lightning": "plain Lightning (no logger, callbacks, validation)", "dirvae": "dirvae train (everything on)"}
    for name in names:
        cells = []
        for key in measures:
            values = ratios(name, key)
            cells.append(f"{statistics.median(values):.3f} ({min(values):.2f}-{max(values):.2f})")
        print(f"| {labels[name]} | {statistics.median(results[name]['samples_per_s']):,.0f} | {' | '.join(cells)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=160)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--gpu", action="store_true")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads on the CPU")
    parser.add_argument("--overhead", action="store_true", help="digits: dirvae train vs a bare loop, interleaved (issue 11)")
    parser.add_argument("--rounds", type=int, default=5, help="--overhead: interleaved rounds")
    parser.add_argument("--batch", type=int, default=None, help="--overhead: batch size (default: dirvae train's)")
    parser.add_argument("--model-size", type=int, default=None, help="--overhead: K (default: dirvae train's for the digits)")
    args = parser.parse_args()
    if not args.gpu:
        torch.set_num_threads(args.threads)
    import logging

    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    if args.overhead:
        overhead(args)
        return
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
