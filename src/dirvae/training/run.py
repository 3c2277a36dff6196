"""``dirvae train`` from top to bottom: data → model → Lightning → run directory.

Read it like nanoGPT's train.py: resolve the data, build the networks for the
modality, wrap them in a ``DirichletVAE``, hand that to Lightning with the
seed's optimiser recipe, checkpoints and the live view, and fit.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import lightning as L
import torch
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.callbacks import LearningRateMonitor
from lightning.pytorch.loggers import TensorBoardLogger

from dirvae.io.atomic import remove_orphans
from dirvae.model import DirichletVAE
from dirvae import printer
from dirvae.data import detect_modality, digits, open_folder
from dirvae.errors import DataError, DirvaeError, RunError
from dirvae.losses.reconstruction import SCALE_GAIN
from dirvae.nets.melresnet import mel_filterbank
from dirvae.latent.recipe import RECIPE_FIELDS
from dirvae.training.background import BackgroundWriter
from dirvae.training.checkpoints import (
    AtomicCheckpointIO,
    RunExport,
    check_matches,
    last_checkpoint,
    newest_checkpoint,
    periodic_checkpoint,
    read_progress,
)
from dirvae.training.config import SESSION_ONLY, TrainConfig
from dirvae.training.data_module import DirvaeDataModule
from dirvae.training.live_view import LiveView
from dirvae.training.module import DirichletVAEModule, batch_data
from dirvae.training.profiler import NullProfiler
from dirvae.training.progress import EpochLines, LossBar
from dirvae.training.schedules import make_kl_schedule

DEFAULT_DIGITS_EPOCHS = 30
DEFAULT_IMAGE_SIZE = {"image": 64, "video": 64, "digits": 28}
DEFAULT_MODEL_SIZE = {"mlp": 20, "resnet": 64, "resblock": 16, "wave": 64, "melresnet": 64, "stft": 64}
"""K per architecture when --model-size is not given.  The MLP's comes from the
mnist10k K sweep (BENCHMARKS.md): a Dirichlet posterior pays for precision in
every one of its K−1 directions, so a small K wins on digits."""
RESBLOCK_OPTIONS = {"widths": [16, 32, 64], "blocks": 1}
IMAGE_RECONSTRUCTION = "gaussian"
"""The image/video defaults (not the digits'), measured by benchmarks/photos.py."""
AUDIO_ARCHITECTURE = "stft"
"""The audio default since issue 10 (``wave`` before): 5-7x the training windows/s and a lower held-out
log-mel L1 at equal budgets, measured by benchmarks/speech.py."""
STFT_LOSS_OPTIONS = {"fft_sizes": [2048, 512, 128], "mel_weight": 4.0}
"""The STFT loss for the ``stft`` architecture: every other one of the class default's six resolutions,
as good or better per CPU-second on held-out speech (benchmarks/speech.py); runs of other nets keep all six.
Since 2026-11-26 also a log-mel term (weight 4; runs saved before have none): see :func:`stft_loss_options`."""
STFT_NET_OPTIONS = {"level_scale": 10.0}
"""The ``stft`` decoder's per-frame level (2026-11-26; runs saved before have none and rebuild without it):
with the mel term it took held-out log-mel L1 from 0.90 to 0.78 at 3 CPU-minutes, mostly in pauses."""


def stft_loss_options(sample_rate: int) -> dict[str, Any]:
    """:data:`STFT_LOSS_OPTIONS` for audio at ``sample_rate``: the mel term's FFT spans 64 ms as 1024 points do at
    16 kHz (the next power of two), and it is left out where 80 mel bands would not each cover an FFT bin."""
    options: dict[str, Any] = dict(STFT_LOSS_OPTIONS)
    mel_fft = 2 ** math.ceil(math.log2(1024 * sample_rate / 16000))
    try:
        mel_filterbank(mel_fft, 80, sample_rate)
    except ValueError:
        options.pop("mel_weight")
        return options
    return {**options, "mel_fft": mel_fft, "mel_bands": 80, "sample_rate": sample_rate}


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, schedulers, container stop), sent down Ctrl-C's save-then-exit path."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


@contextmanager
def sigterm_saves() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` while training (main thread only).

    Lightning composes this with its own SIGTERM notifier, whose flag it reads
    only at the end of an epoch; raising here saves within one step.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class RunResult:
    run_dir: Path
    global_step: int
    interrupted: bool
    skipped_files: int
    nonfinite_losses: int
    sanitized_gradients: int
    seconds: float
    samples_per_second: float
    """All processes together: each rank's steps times the batch times the number of ranks."""
    rank_zero: bool = True
    session_steps: int = 0
    """Optimiser steps this invocation trained (a resume starts from the checkpoint's step)."""
    session_nonfinite: int = 0
    stopped_nonfinite: bool = False
    epoch: int = 0


def say(message: str) -> None:
    """One line to the user (:func:`dirvae.printer.note`; only the first DDP rank speaks)."""
    printer.note(message)


# ----------------------------------------------------------------------- data
def _has_files(directory: Path) -> bool:
    if not directory.is_dir():
        return False
    for _root, _dirs, files in os.walk(directory):
        if any(not name.startswith(".") for name in files):
            return True
    return False


def open_dataset(config: TrainConfig) -> tuple[Any, str]:
    """The training dataset and a short description of where it came from."""
    if config.data is None:
        default = Path("data") / config.type
        if config.type == "image" and not _has_files(default):
            size = config.image_size or DEFAULT_IMAGE_SIZE["digits"]
            say(f"no data given and {default}/ has no files: training on the embedded scikit-learn digits ({size}x{size})")
            return digits(image_size=size), "digits"
        directory = default
    else:
        directory = Path(config.data)
    if directory.is_dir():
        found = detect_modality(directory)
        if found is not None and found != config.type:
            raise DataError(f"{directory}: holds {found} files, not {config.type}; pass --type {found}")
    return open_data_folder(config, directory), str(directory)


def open_data_folder(config: TrainConfig, directory: Path) -> Any:
    """A folder read with the run's options (the training data, or --val-data)."""
    size = config.image_size or DEFAULT_IMAGE_SIZE.get(config.type)
    if config.type == "image":
        return open_folder(directory, "image", image_size=size, grayscale=config.grayscale)
    if config.type == "audio":
        return open_folder(
            directory, "audio", sample_size=config.audio_size, sample_rate=config.sample_rate, channels=1,
            pad_last=config.pad_last,
        )
    return open_folder(directory, "video", image_size=size)


def data_module(config: TrainConfig, dataset: Any, item_shape: tuple[int, ...], accelerator: str) -> Any:
    """Train/validation loaders: a held-out share of ``dataset``, or the --val-data folder."""
    val = None
    if config.val_data:
        val = open_data_folder(config, Path(config.val_data))
        if tuple(val.item_shape) != item_shape:
            raise DataError(f"{config.val_data}: --val-data items are {tuple(val.item_shape)}, the training data's {item_shape}")
    module = DirvaeDataModule.from_dataset(
        dataset, val_fraction=config.val_fraction, val=val, batch_size=config.batches, shuffle=config.shuffles(),
        shuffle_dir=config.shuffle_dir, mix_files=config.mixes_files(), seed=config.seed, num_workers=config.num_workers, pin_memory=accelerator == "gpu",
    )  # fmt: skip
    if module.val is None and config.val_fraction > 0 and not config.val_data:
        say("too little data to hold out a validation share (one file or item): training without validation")
    return module


# ---------------------------------------------------------------------- model
def architecture_name(config: TrainConfig, source: str) -> str:
    if config.architecture != "auto":
        return config.architecture
    return {"image": "mlp" if source == "digits" else "resblock", "video": "resblock", "audio": AUDIO_ARCHITECTURE}[config.type]


def uses_digits(config: TrainConfig) -> bool:
    """Whether ``dirvae train`` falls back to the embedded digits (see :func:`open_dataset`)."""
    return config.data is None and config.type == "image" and not _has_files(Path("data") / config.type)


def model_size(config: TrainConfig, source: str | None = None) -> int:
    """K: the flag, or the architecture's measured default."""
    if config.model_size is not None:
        return config.model_size
    source = source if source is not None else ("digits" if uses_digits(config) else "folder")
    return DEFAULT_MODEL_SIZE[architecture_name(config, source)]


def model_config(config: TrainConfig, item_shape: tuple[int, ...], source: str) -> dict[str, Any]:
    """The JSON that rebuilds this model: architecture, model and data options."""
    architecture = architecture_name(config, source)
    k = model_size(config, source)
    recipe = config.latent_recipe()
    if architecture == "mlp":
        options: dict[str, Any] = {"input_shape": list(item_shape), "model_size": k, "hidden": [500, 500]}
    elif architecture == "resnet":
        options = {"image_size": list(item_shape[1:]), "in_channels": item_shape[0], "model_size": k}
    elif architecture == "resblock":
        options = {"image_size": list(item_shape[1:]), "in_channels": item_shape[0], "model_size": k, **RESBLOCK_OPTIONS}
    elif architecture == "stft":
        options = {"sample_size": item_shape[-1], "channels": item_shape[0], "model_size": k, **STFT_NET_OPTIONS}
    elif architecture == "wave":
        options = {"sample_size": item_shape[-1], "channels": item_shape[0], "model_size": k}
    else:
        options = {"sample_size": item_shape[-1], "channels": item_shape[0], "model_size": k, "sample_rate": config.sample_rate}
    reconstruction = config.reconstruction
    if reconstruction == "auto":
        reconstruction = "stft" if config.type == "audio" else "bernoulli" if source == "digits" else IMAGE_RECONSTRUCTION
    # One learned scale per channel, moved SCALE_GAIN times faster than a weight (see losses.reconstruction).
    loss_options = {"channels": item_shape[0], "gain": SCALE_GAIN} if reconstruction in ("gaussian", "logistic") else {}
    if reconstruction == "stft" and architecture == "stft":
        loss_options = stft_loss_options(config.sample_rate)
    return {
        "modality": config.type,
        "architecture": {"name": architecture, "options": options},
        "model": {
            "model_size": k,
            **recipe,
            "latent": config.latent,
            "prior_alpha": config.prior_alpha,
            "reconstruction": reconstruction,
            "reconstruction_options": loss_options,
            # A learned prior replaces the moment re-estimate.
            "prior_burn_in": None if recipe["learn_prior"] else config.prior_burn_in,
        },
        "data": {
            "source": source,
            "item_shape": list(item_shape),
            "image_size": item_shape[-1] if config.type != "audio" else None,
            "grayscale": item_shape[0] == 1 if config.type != "audio" else None,
            "sample_rate": config.sample_rate if config.type == "audio" else None,
            "sample_size": item_shape[-1] if config.type == "audio" else None,
            "pad_last": config.pad_last if config.type == "audio" else None,
        },
    }


def read_saved_config(run_dir: Path) -> dict[str, Any]:
    """A run's ``config.json`` as a mapping, or one error line saying it is damaged."""

    path = run_dir / "config.json"
    if not path.is_file():
        return {}
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise RunError(f"{path}: damaged ({reason}); restore it, or start a new run") from None
    if not isinstance(saved, dict) or not isinstance(saved.get("training", {}), dict) or not isinstance(saved.get("model", {}), dict):
        raise RunError(f"{path}: damaged (not the mapping dirvae writes); restore it, or start a new run")
    return saved


def keep_saved_networks(run_config: dict[str, Any], run_dir: Path) -> None:
    """A resumed run keeps the networks and likelihood it was saved with, whatever today's defaults.

    ``--architecture auto`` and ``--reconstruction auto`` resolve to today's
    defaults (the seed's ResNet and Bernoulli before issue 10); a run records
    what they resolved to, and a loss saved without options used the defaults.
    """
    saved = read_saved_config(run_dir)
    if "architecture" in saved:
        run_config["architecture"] = saved["architecture"]
    model = saved.get("model", {})
    if "reconstruction" in model:
        run_config["model"]["reconstruction"] = model["reconstruction"]
        run_config["model"]["reconstruction_options"] = model.get("reconstruction_options") or {}


def build_for_training(run_config: dict[str, Any], item_shape: tuple[int, ...]):
    model = DirichletVAE.from_run_config(run_config)
    # One dry forward fixes the latent field's shape before anything is saved.
    with torch.no_grad():
        model.eval()
        model(torch.zeros(1, *item_shape))
        model.train()
    return model


# -------------------------------------------------------------------- trainer
SMALL_MODEL_PARAMETERS = 5_000_000
SMALL_ITEM_VALUES = 4096
"""Below both (the digits MLP), a CPU step is dominated by dispatch, and a second thread only spin-waits."""


def cpu_threads(config: TrainConfig, model: torch.nn.Module, item_shape: tuple[int, ...]) -> int:
    """Torch intra-op threads for CPU training: ``--threads``, or a choice that cannot oversubscribe.

    Torch's threads spin-wait for each other; when another process holds a
    core they wait for a whole scheduler slice per operation, and one measured
    run fell from 9,115 to 295 samples/s.  So small models get one thread, and
    larger ones only the cores that the load average says are idle.
    """
    if config.threads:
        return config.threads
    cores = os.cpu_count() or 1
    small = sum(p.numel() for p in model.parameters()) < SMALL_MODEL_PARAMETERS and math.prod(item_shape) <= SMALL_ITEM_VALUES
    if small:
        return 1
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    return max(1, min(cores, int(cores - busy + 0.5)))


def batch_data_size(batch: Any) -> int:
    return int(batch_data(batch)[0].shape[0])


def _accelerator(config: TrainConfig) -> str:
    if config.no_gpu or not torch.cuda.is_available():
        return "cpu"
    return "gpu"


def _precision(config: TrainConfig, accelerator: str) -> str:
    if config.precision != "auto":
        return "32-true" if config.precision == "32" else config.precision
    if accelerator == "gpu" and torch.cuda.is_bf16_supported():
        return "bf16-mixed"
    return "32-true"


def _devices(value: str) -> int | str:
    return int(value) if str(value).isdigit() else value


MIN_VALIDATION_STEPS = 200
"""Short epochs validate every this many steps instead of at each epoch's end."""


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


SHORT_RUN_STEPS = 500
"""Below this many steps a run on the default cap gets a hint to train longer."""


def short_run_hint(config: TrainConfig, source: str, total_steps: float) -> str | None:
    """A line for a user whose default cap (one epoch of a small folder) is too short to learn much.

    Why: one epoch of 1,500 photos is 47 steps at the default batch, a few
    seconds of training that ends in blurs; the photo benchmark's models
    still improve after thousands of steps.  Silent unless no cap was given.
    """
    if config.epochs is not None or config.iterations is not None or source == "digits" or total_steps >= SHORT_RUN_STEPS:
        return None
    steps = int(total_steps)
    return (
        f"one epoch of this data is {steps} step{'s' if steps != 1 else ''} (the default cap), too few for a model to learn "
        f"much; pass --epochs N or --iterations N to train longer (64x64 photos keep improving for thousands of steps)"
    )


def epoch_cap(config: TrainConfig, source: str) -> int:
    """Lightning's ``max_epochs``: --epochs, else unbounded when --iterations is the cap, else the default.

    An explicit --iterations is never cut short by an epoch count nobody asked for.
    """
    if config.epochs is not None:
        return config.epochs
    if config.iterations is not None:
        return -1
    return DEFAULT_DIGITS_EPOCHS if source == "digits" else 1


def _trainer_or_error(make: Any) -> Any:
    """Build the Lightning Trainer; options it refuses (--devices, --strategy, ...) are one line."""
    try:
        return make()
    except (MisconfigurationException, ValueError, TypeError, RuntimeError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DirvaeError(f"Lightning refused --devices/--strategy/--num-nodes/--precision: {reason}") from None


LEGACY_TENSORBOARD = "tensorboard"


def tensorboard_logger(run_dir: Path) -> Any:
    """Event files in the run directory itself, so ``tensorboard --logdir runs`` names each run after its folder.

    Runs written before this wrote to ``<run>/tensorboard/``; resuming one keeps
    adding there, so its curves continue in one place.
    """
    if (run_dir / LEGACY_TENSORBOARD).is_dir():
        return TensorBoardLogger(save_dir=str(run_dir), name=LEGACY_TENSORBOARD, version="")
    return TensorBoardLogger(save_dir=str(run_dir), name="", version="")


def hparams_for(run_config: dict[str, Any]) -> dict[str, Any]:
    """The run's options, model and data as flat scalars for TensorBoard's HParams tab and checkpoints."""
    flat: dict[str, Any] = {}
    for section in ("training", "model", "data"):
        for key, value in run_config.get(section, {}).items():
            if isinstance(value, (bool, int, float, str)) or value is None:
                flat.setdefault(key, value)
    flat["architecture"] = run_config["architecture"]["name"]
    return flat


def progress_display(steps_per_epoch: int, epochs: int | None) -> Any:
    """Lightning's progress bar on a terminal; one line per epoch in a log file or CI."""
    if sys.stderr.isatty():
        return LossBar(refresh_rate=max(1, min(20, steps_per_epoch // 10 or 1)))
    return EpochLines(epochs)


def new_run_dir(config: TrainConfig) -> Path:
    if config.run_dir:
        return Path(config.run_dir)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{config.type}{model_size(config)}-{stamp}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def train(
    config: TrainConfig, run_dir: Path, *, resume_from: Path | None = None, callbacks: Sequence[Any] = ()
) -> RunResult:
    """Fit a model as ``config`` says and leave everything in ``run_dir``.

    ``callbacks`` are extra Lightning callbacks (benchmarks use one to time steps).
    """
    L.seed_everything(config.seed, workers=True, verbose=False)
    accelerator = _accelerator(config)
    if accelerator == "cpu":
        torch.set_flush_denormal(True)  # CPU denormals slow training ~1.8x from epoch 10 on

    dataset, source = open_dataset(config)
    item_shape = tuple(dataset.item_shape)
    run_config = model_config(config, item_shape, source)
    if resume_from is not None:
        keep_saved_networks(run_config, run_dir)
    training = {key: value for key, value in config.to_dict().items() if key not in SESSION_ONLY}
    resolved = {key: run_config["model"][key] for key in (*RECIPE_FIELDS, "model_size")}
    run_config["training"] = {**training, **resolved, "shuffle_all": config.mixes_files()}
    model = build_for_training(run_config, item_shape)
    if accelerator == "cpu":
        torch.set_num_threads(cpu_threads(config, model, item_shape))

    data = data_module(config, dataset, item_shape, accelerator)
    loader = data.train_dataloader()
    epochs = epoch_cap(config, source)
    steps_per_epoch = max(1, len(loader))
    total_steps = min(config.iterations or math.inf, epochs * steps_per_epoch if epochs > 0 else math.inf)
    hint = short_run_hint(config, source, total_steps)
    if hint:
        say(hint)
    cycle = config.kl_cycle_steps or max(1, int(total_steps) // 4)
    schedule = make_kl_schedule(
        config.kl_schedule, weight=config.kl_weight, cycle_steps=cycle, warmup_steps=config.kl_warmup_steps
    )
    module = DirichletVAEModule(
        model, learning_rate=config.learning_rate, kl_schedule=schedule, scalar_every=config.scalars_every,
        psnr=config.type != "audio", hparams=hparams_for(run_config),
    )  # fmt: skip
    bad_files = getattr(dataset, "bad_files", None)
    if bad_files is not None:
        module.track_bad_files(lambda: [dataset.paths[i] for i in bad_files.indices()])
    start = {"global_step": 0, "epoch": 0, "nonfinite": 0}
    if resume_from is not None:
        check_matches(resume_from, module, run_dir / "config.json")
        start.update(read_progress(resume_from))
        counters = torch.load(resume_from, map_location="cpu", weights_only=True, mmap=True).get("dirvae_counters", {})
        start["nonfinite"] = int(counters.get("nonfinite_losses", 0))

    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DirvaeError(f"--run-dir {run_dir}: cannot create it ({error.strerror or error})") from None
    for folder in (run_dir, last_checkpoint(run_dir).parent):
        remove_orphans(folder)  # what a kill left mid-write; this process owns the run now
    writer = BackgroundWriter()  # checkpoints, exports and live-view renders, written off the training thread
    export = RunExport(run_dir, run_config, writer)
    val_batches = len(data.val_dataloader())
    trainer = _trainer_or_error(lambda: L.Trainer(
        accelerator=accelerator,
        devices=_devices(config.devices),
        num_nodes=config.num_nodes,
        strategy=config.strategy,
        precision=_precision(config, accelerator),
        max_epochs=epochs,
        max_steps=config.iterations or -1,
        gradient_clip_val=config.clip_norm,
        gradient_clip_algorithm="norm",
        logger=tensorboard_logger(run_dir),
        callbacks=[
            periodic_checkpoint(run_dir, config.save_freq),
            export,
            LiveView(
                run_dir, config.type, every_n_steps=config.log_every, min_seconds=config.view_seconds, sample_rate=config.sample_rate,
                inputs=data.validation_inputs(LiveView.COUNT), writer=writer,
            ),  # fmt: skip
            LearningRateMonitor(logging_interval="step"),
            progress_display(steps_per_epoch, epochs if epochs > 0 else None),
            *callbacks,
        ],
        default_root_dir=str(run_dir),
        log_every_n_steps=max(1, min(config.scalars_every, steps_per_epoch)),
        enable_model_summary=False,
        num_sanity_val_steps=0,
        limit_val_batches=1.0 if val_batches else 0,
        **validation_schedule(steps_per_epoch, config.val_every, int(total_steps), bool(val_batches)),
        use_distributed_sampler=True,
        plugins=[AtomicCheckpointIO(writer)],
        profiler=NullProfiler(),
    ))
    # Lightning warns when an epoch has fewer steps than the logging interval;
    # under DDP each rank's epoch is a 1/world_size share of the loader's.
    trainer.log_every_n_steps = max(1, min(config.log_every, math.ceil(steps_per_epoch / trainer.world_size)))
    started = time.perf_counter()
    start_step = start["global_step"]
    try:
        with sigterm_saves():
            trainer.fit(module, datamodule=data, ckpt_path=str(resume_from) if resume_from else None, weights_only=True)
    except SystemExit:
        # Lightning turns Ctrl-C (and our SIGTERM) into on_exception (which saved) and then exit(1).
        if export.interrupted:
            raise (Terminated() if export.terminated else KeyboardInterrupt()) from None
        raise
    elapsed = time.perf_counter() - started
    if export.interrupted:
        raise Terminated() if export.terminated else KeyboardInterrupt()
    trainer.save_checkpoint(last_checkpoint(run_dir), weights_only=False)
    writer.flush()  # the final checkpoint and export are on disk when train() returns
    steps_done = max(0, trainer.global_step - start_step)
    return RunResult(
        session_steps=steps_done,
        session_nonfinite=module.nonfinite_losses - start["nonfinite"],
        stopped_nonfinite=module.stopped_nonfinite,
        epoch=int(trainer.current_epoch),
        run_dir=run_dir,
        global_step=int(trainer.global_step),
        interrupted=False,
        skipped_files=len(module.bad_file_names()),
        nonfinite_losses=module.nonfinite_losses,
        sanitized_gradients=module.sanitized_gradients,
        seconds=elapsed,
        samples_per_second=steps_done * config.batches * trainer.world_size / elapsed if elapsed > 0 else 0.0,
        rank_zero=bool(trainer.is_global_zero),
    )


def resume_checkpoint(run_dir: Path) -> Path:
    """The checkpoint ``--load RUN`` continues from: the readable one with the newest step."""
    if not run_dir.is_dir():
        raise DirvaeError(f"{run_dir}: --load needs a run directory written by 'dirvae train'; no such folder")
    return newest_checkpoint(run_dir)[0]


def past_cap(config: TrainConfig, progress: dict[str, int]) -> str | None:
    """Why a resumed run has nothing left to train, or None.  Caps are absolute targets."""
    if config.iterations is not None and progress["global_step"] >= config.iterations:
        return f"the run is at step {progress['global_step']}, already at or past --iterations {config.iterations}"
    if config.epochs is not None and progress["epoch"] >= config.epochs:
        return f"the run has finished {progress['epoch']} epochs, already at or past --epochs {config.epochs}"
    return None
