"""Lightning's ``Trainer`` for a run: devices, precision, validation cadence, logger, checkpoints, progress.

Everything here is a choice ``dirvae train`` makes once per run; the loop
itself is Lightning's.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

import lightning as L
import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import LearningRateMonitor
from lightning.pytorch.loggers import TensorBoardLogger

from dirvae.errors import DirvaeError
from dirvae.runs.upgrade import tensorboard_folder
from dirvae.training.checkpoints import AtomicCheckpointIO, periodic_checkpoint
from dirvae.training.config import TrainConfig
from dirvae.training.profiler import NullProfiler
from dirvae.training.progress import EpochLines, LossBar

MIN_VALIDATION_STEPS = 200
"""Short epochs validate every this many steps instead of at each epoch's end."""
SHORT_RUN_STEPS = 500
"""Below this many steps a run on the default cap gets a hint to train longer."""
DEFAULT_EPOCHS_ON_EMBEDDED = 30
"""Epochs on an embedded set (the 1,797 digits: 54 steps an epoch) unless a cap is given; one epoch of a folder otherwise."""


def accelerator(options: TrainConfig) -> str:
    if options.no_gpu or not torch.cuda.is_available():
        return "cpu"
    return "gpu"


def precision(options: TrainConfig, chosen_accelerator: str) -> str:
    if options.precision != "auto":
        return "32-true" if options.precision == "32" else options.precision
    if chosen_accelerator == "gpu" and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32-true"


def devices(value: str) -> int | str:
    return int(value) if str(value).isdigit() else value


def validation_schedule(steps_per_epoch: int, val_every: int, total_steps: int, enabled: bool) -> dict[str, Any]:
    """Lightning's validation cadence: each epoch's end, and every ``val_every`` steps within long epochs.

    Epochs shorter than :data:`MIN_VALIDATION_STEPS` (the digits: 17 to 54
    steps) validate every that many steps across epochs instead: a pass costs
    a fixed ~20 ms of loop and logging besides its forward passes, and at
    every 17-step epoch it took 11% of the digits trainer's time
    (``benchmarks/bench_train.py --overhead``).  A run shorter than one
    interval validates at its last step.
    """
    if not enabled:
        return {"val_check_interval": None}
    if steps_per_epoch >= MIN_VALIDATION_STEPS or val_every <= steps_per_epoch:
        return {"val_check_interval": min(steps_per_epoch, val_every, total_steps)}
    return {"val_check_interval": min(MIN_VALIDATION_STEPS, val_every, total_steps), "check_val_every_n_epoch": None}


def epoch_cap(options: TrainConfig, embedded: bool) -> int:
    """Lightning's ``max_epochs``: --epochs, else unbounded when --iterations is the cap, else the default.

    An explicit --iterations is never cut short by an epoch count nobody asked for.
    """
    if options.epochs is not None:
        return options.epochs
    if options.iterations is not None:
        return -1
    return DEFAULT_EPOCHS_ON_EMBEDDED if embedded else 1


def short_run_hint(options: TrainConfig, embedded: bool, total_steps: float) -> str | None:
    """A line for a user whose default cap (one epoch of a small folder) is too short to learn much.

    Why: one epoch of 1,500 photos is 47 steps at the default batch, a few
    seconds of training that ends in blurs; the photo benchmark's models
    still improve after thousands of steps.  Silent unless no cap was given.
    """
    if options.epochs is not None or options.iterations is not None or embedded or total_steps >= SHORT_RUN_STEPS:
        return None
    steps = int(total_steps)
    return (
        f"one epoch of this data is {steps} step{'s' if steps != 1 else ''} (the default cap), too few for a model to learn "
        f"much; pass --epochs N or --iterations N to train longer (64x64 photos keep improving for thousands of steps)"
    )


def tensorboard_logger(run_dir: Path) -> TensorBoardLogger:
    """Event files in the run directory itself, so ``tensorboard --logdir runs`` names each run after its folder."""
    name, version = tensorboard_folder(run_dir)
    return TensorBoardLogger(save_dir=str(run_dir), name=name, version=version)


def progress_display(steps_per_epoch: int, epochs: int | None) -> L.Callback:
    """Lightning's progress bar on a terminal; one line per epoch in a log file or CI."""
    if sys.stderr.isatty():
        return LossBar(refresh_rate=max(1, min(20, steps_per_epoch // 10 or 1)))
    return EpochLines(epochs)


def trainer_or_error(make: Callable[[], L.Trainer]) -> L.Trainer:
    """Build the Lightning Trainer; options it refuses (--devices, --strategy, ...) are one line."""
    try:
        return make()
    except (MisconfigurationException, ValueError, TypeError, RuntimeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DirvaeError(f"Lightning refused --devices/--strategy/--num-nodes/--precision: {reason}") from None


def make_trainer(
    options: TrainConfig, run_dir: Path, *, chosen_accelerator: str, epochs: int, steps_per_epoch: int, total_steps: float,
    val_batches: int, callbacks: Sequence[L.Callback], extra: Sequence[L.Callback] = (), writer: Any,
) -> L.Trainer:  # fmt: skip
    """The run's Trainer: ``callbacks`` after the periodic checkpoint, then the LR monitor, the progress display and ``extra``."""
    trainer = trainer_or_error(lambda: L.Trainer(
        accelerator=chosen_accelerator,
        devices=devices(options.devices),
        num_nodes=options.num_nodes,
        strategy=options.strategy,
        precision=precision(options, chosen_accelerator),
        max_epochs=epochs,
        max_steps=options.iterations or -1,
        gradient_clip_val=options.clip_norm,
        gradient_clip_algorithm="norm",
        logger=tensorboard_logger(run_dir),
        callbacks=[
            periodic_checkpoint(run_dir, options.save_freq),
            *callbacks,
            LearningRateMonitor(logging_interval="step"),
            progress_display(steps_per_epoch, epochs if epochs > 0 else None),
            *extra,
        ],
        default_root_dir=str(run_dir),
        log_every_n_steps=max(1, min(options.scalars_every, steps_per_epoch)),
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=1.0 if val_batches else 0,
        **validation_schedule(steps_per_epoch, options.val_every, int(total_steps), bool(val_batches)),
        use_distributed_sampler=True,
        plugins=[AtomicCheckpointIO(writer)],
        profiler=NullProfiler(),
    ))  # fmt: skip
    # Lightning warns when an epoch has fewer steps than the logging interval;
    # under DDP each rank's epoch is a 1/world_size share of the loader's.
    trainer.log_every_n_steps = max(1, min(options.log_every, math.ceil(steps_per_epoch / trainer.world_size)))
    return trainer
