"""``dirvae train`` from top to bottom: data → model → Lightning → run directory.

Read it like nanoGPT's train.py: resolve the data, build the networks for the
modality, wrap them in a ``DirichletVAE``, hand that to Lightning with the
seed's optimiser recipe, checkpoints and the live view, and fit.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch

from dirvae.builders import build_model
from dirvae.errors import DataError, DirvaeError
from dirvae.training.config import TrainConfig

DEFAULT_DIGITS_EPOCHS = 30
DEFAULT_IMAGE_SIZE = {"image": 64, "video": 64, "digits": 28}


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


def say(message: str) -> None:
    print(f"dirvae: {message}", file=sys.stderr, flush=True)


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
    from dirvae.data import detect_modality, digits, open_folder

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
    size = config.image_size or DEFAULT_IMAGE_SIZE.get(config.type)
    if config.type == "image":
        dataset = open_folder(directory, "image", image_size=size, grayscale=config.grayscale)
    elif config.type == "audio":
        dataset = open_folder(directory, "audio", sample_size=config.audio_size, sample_rate=config.sample_rate, channels=1)
    else:
        dataset = open_folder(directory, "video", image_size=size)
    return dataset, str(directory)


# ---------------------------------------------------------------------- model
def model_config(config: TrainConfig, item_shape: tuple[int, ...], source: str) -> dict[str, Any]:
    """The JSON that rebuilds this model: architecture, model and data options."""
    architecture = config.architecture
    if architecture == "auto":
        architecture = {"image": "mlp" if source == "digits" else "resnet", "video": "resnet", "audio": "wave"}[config.type]
    k = config.model_size
    if architecture == "mlp":
        options: dict[str, Any] = {"input_shape": list(item_shape), "model_size": k, "hidden": [500, 500]}
    elif architecture == "resnet":
        options = {"image_size": list(item_shape[1:]), "in_channels": item_shape[0], "model_size": k}
    elif architecture == "wave":
        options = {"sample_size": item_shape[-1], "channels": item_shape[0], "model_size": k}
    else:
        options = {"sample_size": item_shape[-1], "channels": item_shape[0], "model_size": k, "sample_rate": config.sample_rate}
    reconstruction = config.reconstruction
    if reconstruction == "auto":
        reconstruction = "stft" if config.type == "audio" else "bernoulli"
    return {
        "modality": config.type,
        "architecture": {"name": architecture, "options": options},
        "model": {
            "model_size": k,
            "sampler": config.sampler,
            "latent": config.latent,
            "prior_alpha": config.prior_alpha,
            "reconstruction": reconstruction,
            "prior_burn_in": config.prior_burn_in,
        },
        "data": {
            "source": source,
            "item_shape": list(item_shape),
            "image_size": item_shape[-1] if config.type != "audio" else None,
            "grayscale": item_shape[0] == 1 if config.type != "audio" else None,
            "sample_rate": config.sample_rate if config.type == "audio" else None,
            "sample_size": item_shape[-1] if config.type == "audio" else None,
        },
    }


def build_for_training(run_config: dict[str, Any], item_shape: tuple[int, ...]):
    model = build_model(run_config)
    # One dry forward fixes the latent field's shape before anything is saved.
    with torch.no_grad():
        model.eval()
        model(torch.zeros(1, *item_shape))
        model.train()
    return model


# -------------------------------------------------------------------- trainer
def batch_data_size(batch: Any) -> int:
    from dirvae.training.module import batch_data

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


def new_run_dir(config: TrainConfig) -> Path:
    if config.run_dir:
        return Path(config.run_dir)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{config.type}{config.model_size}-{stamp}"
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
    import lightning as L
    from lightning.pytorch.callbacks import TQDMProgressBar
    from lightning.pytorch.loggers import TensorBoardLogger

    from dirvae.data import GroupedSampler, make_loader
    from dirvae.training.checkpoints import RunExport, last_checkpoint, periodic_checkpoint
    from dirvae.training.live_view import LiveView
    from dirvae.training.module import DirichletVAEModule
    from dirvae.training.schedules import make_kl_schedule

    L.seed_everything(config.seed, workers=True, verbose=False)
    accelerator = _accelerator(config)
    if accelerator == "cpu":
        torch.set_flush_denormal(True)  # CPU denormals slow training ~1.8x from epoch 10 on

    dataset, source = open_dataset(config)
    item_shape = tuple(dataset.item_shape)
    run_config = model_config(config, item_shape, source)
    run_config["training"] = config.to_dict()
    model = build_for_training(run_config, item_shape)

    sampler = None
    if hasattr(dataset, "groups"):
        # Audio windows and video frames keep the seed's order: file by file,
        # --shuffle within a file, --shuffle-dir across files.
        sampler = GroupedSampler(dataset.groups(), config.shuffle, config.shuffle_dir, config.seed)
    loader = make_loader(
        dataset,
        config.batches,
        shuffle=config.shuffle,
        sampler=sampler,
        num_workers=config.num_workers,
        persistent_workers=config.num_workers > 0,
        pin_memory=accelerator == "gpu",
        seed=config.seed,
    )
    epochs = config.epochs or (DEFAULT_DIGITS_EPOCHS if source == "digits" else 1)
    steps_per_epoch = max(1, len(loader))
    total_steps = min(config.iterations or math.inf, epochs * steps_per_epoch)
    cycle = config.kl_cycle_steps or max(1, int(total_steps) // 4)
    schedule = make_kl_schedule(config.kl_schedule, weight=config.kl_weight, cycle_steps=cycle)
    module = DirichletVAEModule(model, learning_rate=config.learning_rate, kl_schedule=schedule)

    run_dir.mkdir(parents=True, exist_ok=True)
    export = RunExport(run_dir, run_config)
    trainer = L.Trainer(
        accelerator=accelerator,
        devices=_devices(config.devices),
        num_nodes=config.num_nodes,
        strategy=config.strategy,
        precision=_precision(config, accelerator),
        max_epochs=epochs,
        max_steps=config.iterations or -1,
        gradient_clip_val=config.clip_norm,
        gradient_clip_algorithm="norm",
        logger=TensorBoardLogger(save_dir=str(run_dir), name="tensorboard", version=""),
        callbacks=[
            periodic_checkpoint(run_dir, config.save_freq),
            export,
            LiveView(run_dir, config.type, every_n_steps=config.log_every, sample_rate=config.sample_rate),
            TQDMProgressBar(refresh_rate=max(1, min(20, steps_per_epoch // 10 or 1))),
            *callbacks,
        ],
        default_root_dir=str(run_dir),
        log_every_n_steps=max(1, min(config.log_every, steps_per_epoch)),
        enable_model_summary=False,
        num_sanity_val_steps=0,
        use_distributed_sampler=True,
    )
    started = time.perf_counter()
    start_step = 0
    if resume_from is not None:
        start_step = int(torch.load(resume_from, map_location="cpu", weights_only=True).get("global_step", 0))
    try:
        trainer.fit(module, loader, ckpt_path=str(resume_from) if resume_from else None, weights_only=True)
    except SystemExit:
        # Lightning turns Ctrl-C into on_exception (which saved) and then exit(1).
        if export.interrupted:
            raise KeyboardInterrupt from None
        raise
    elapsed = time.perf_counter() - started
    if export.interrupted:
        raise KeyboardInterrupt
    trainer.save_checkpoint(last_checkpoint(run_dir), weights_only=False)
    steps_done = max(0, trainer.global_step - start_step)
    return RunResult(
        run_dir=run_dir,
        global_step=int(trainer.global_step),
        interrupted=False,
        skipped_files=module.skipped_files,
        nonfinite_losses=module.nonfinite_losses,
        sanitized_gradients=module.sanitized_gradients,
        seconds=elapsed,
        samples_per_second=steps_done * config.batches / elapsed if elapsed > 0 else 0.0,
    )


def resume_checkpoint(run_dir: Path) -> Path:
    from dirvae.training.checkpoints import last_checkpoint

    if not run_dir.is_dir():
        raise DirvaeError(f"{run_dir}: --load needs a run directory written by 'dirvae train'; no such folder")
    checkpoint = last_checkpoint(run_dir)
    if not checkpoint.is_file():
        raise DirvaeError(f"{run_dir}: no checkpoint to resume ({checkpoint} is missing)")
    return checkpoint
