"""``dirvae train`` from top to bottom: options → run record → data → model → Lightning → run directory.

Read it like nanoGPT's train.py.  The options resolve into the run's record
(:func:`~dirvae.training.plan.plan_run`: which data, networks and
likelihood); the data opens through the one opener; the networks build from
the registry; Lightning fits them with the seed's optimiser recipe,
checkpoints and the live view.  Nothing here names a modality or an
architecture.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import lightning as L
import torch

from dirvae import printer
from dirvae.errors import DataError, DirvaeError
from dirvae.data.shard_loader import batch_count
from dirvae.io.atomic import remove_orphans
from dirvae.model import DirichletVAE
from dirvae.modalities.opening import open_dataset
from dirvae.runs.record import RunConfig
from dirvae.training.averaging import ema_callbacks
from dirvae.training.background import BackgroundWriter
from dirvae.training.best import BestCheckpoint
from dirvae.training.checkpoints import RunExport, check_matches, last_checkpoint, read_progress
from dirvae.training.config import TrainConfig
from dirvae.training.data_module import DirvaeDataModule
from dirvae.training.live_view import LiveView
from dirvae.training.module import DirichletVAEModule
from dirvae.training.plan import data_source, plan_run, validation_data
from dirvae.training.resume import saved_run
from dirvae.training.schedules import make_kl_schedule
from dirvae.training.signals import Terminated, sigterm_saves
from dirvae.training.thread_trial import ThreadTrial
from dirvae.training.threads import busy_cores_now, cpu_threads, data_workers, decodes_items, thread_counts_to_try
from dirvae.training import trainer as trainers


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
    best: str | None = None
    """Which step's weights were best on validation, for the closing line (None without validation)."""


def build_model(run: RunConfig) -> DirichletVAE:
    model = DirichletVAE(run.model)
    with torch.no_grad():  # one dry forward fixes the latent field's shape before anything is saved
        model.eval()
        model(torch.zeros(1, *run.data.item_shape))
        model.train()
    return model


def hparams_for(run: RunConfig) -> dict[str, Any]:
    """The run's options, model and data as flat scalars for TensorBoard's HParams tab and checkpoints."""
    sections = run.to_dict()
    flat: dict[str, Any] = {}
    for section in ("training", "model", "data"):
        for key, value in sections.get(section, {}).items():
            if isinstance(value, (bool, int, float, str)) or value is None:
                flat.setdefault(key, value)
    flat["architecture"] = run.model.architecture
    return flat


def new_run_dir(options: TrainConfig) -> Path:
    """``runs/<type><K>-<time>``, numbered when two runs start in the same second."""
    if options.run_dir:
        return Path(options.run_dir)
    k = plan_run(options, data_source(options, announce=False), prepare=False).model.model_size
    base = Path("runs") / f"{options.type}{k}-{time.strftime('%Y%m%d-%H%M%S')}"
    candidate, n = base, 1
    while candidate.exists():
        n += 1
        candidate = base.with_name(f"{base.name}-{n}")
    return candidate


def train(options: TrainConfig, run_dir: Path, *, resume_from: Path | None = None, callbacks: Sequence[Any] = ()) -> RunResult:
    """Fit a model as ``options`` say and leave everything in ``run_dir``.

    ``callbacks`` are extra Lightning callbacks (benchmarks use one to time steps).
    """
    L.seed_everything(options.seed, workers=True, verbose=False)
    accelerator = trainers.accelerator(options)
    if accelerator == "cpu":
        torch.set_flush_denormal(True)  # CPU denormals slow training ~1.8x from epoch 10 on

    # The run's record: what data, which networks and likelihood (a resumed run keeps its own).
    run = plan_run(options, data_source(options), saved_run(run_dir) if resume_from is not None else None)
    spec = run.spec
    embedded = run.data.source in spec.named_sets

    # Data: the one opener, then the fixed validation split (or --val-data).
    dataset = open_dataset(run.data, training=True)
    note = spec.data_note(dataset)
    if note:
        printer.note(note)
    if tuple(dataset.item_shape) != run.data.item_shape:
        raise DataError(f"{run.data.source}: items are {tuple(dataset.item_shape)}, expected {run.data.item_shape}")
    val_data = validation_data(options, run.data)
    if val_data is not None:
        train_set, val_set = dataset, open_dataset(val_data, training=True)
    else:
        train_set, val_set = spec.split(dataset, run.data, options.val_fraction)
    data = DirvaeDataModule(
        train_set, val_set, batch_size=options.batches, shuffle=options.shuffles(), shuffle_dir=options.shuffle_dir, mix_files=options.mixes_files(),
        seed=options.seed, num_workers=0, pin_memory=accelerator == "gpu", drop_last=spec.drop_last,
        shuffle_buffer=options.shuffle_buffer,
    )  # fmt: skip
    if val_data is not None and tuple(data.val.item_shape) != run.data.item_shape:
        raise DataError(f"{options.val_data}: --val-data items are {tuple(data.val.item_shape)}, the training data's {run.data.item_shape}")
    if data.val is None and options.val_fraction > 0 and val_data is None:
        printer.note("too little data to hold out a validation share (one file or item): training without validation")

    # Model, the CPU threads it gets and the data workers beside them (one sample of the machine's load for both).
    model = build_model(run)
    load = busy_cores_now() if options.threads is None or options.num_workers is None else 0.0
    workers, why_workers = data_workers(options.num_workers, decodes_items(train_set), gpu=accelerator == "gpu", busy=lambda: load)
    data.num_workers = workers
    trials: list[L.Callback] = []
    if accelerator == "cpu":
        threads, why = cpu_threads(options.threads, model, run.data.item_shape, busy=lambda: load, workers=workers)
        torch.set_num_threads(threads)
        counts = thread_counts_to_try(options.threads, threads, model, run.data.item_shape, load=load, workers=workers)
        if len(counts) > 1:
            trials.append(ThreadTrial(counts))
            why = trials[0].describe(load)
        printer.note(f"{why}; {why_workers}")
    elif workers:
        printer.note(why_workers)

    # Length of the run and the KL schedule over it.
    epochs = trainers.epoch_cap(options, embedded)
    steps_per_epoch = max(1, batch_count(data.train_dataloader()))
    total_steps = min(options.iterations or math.inf, epochs * steps_per_epoch if epochs > 0 else math.inf)
    hint = trainers.short_run_hint(options, embedded, total_steps)
    if hint:
        printer.note(hint)
    cycle = options.kl_cycle_steps or max(1, int(total_steps) // 4)
    schedule = make_kl_schedule(options.kl_schedule, weight=options.kl_weight, cycle_steps=cycle, warmup_steps=options.kl_warmup_steps)
    module = DirichletVAEModule(
        model, learning_rate=options.learning_rate, betas=(options.adam_beta1, options.adam_beta2), kl_schedule=schedule, scalar_every=options.scalars_every,
        psnr=spec.psnr, hparams=hparams_for(run),
    )  # fmt: skip
    readers = [reader for reader in (dataset, data.val if val_data else None) if getattr(reader, "bad_files", None) is not None]
    module.track_bad_files(lambda: sorted({reader.paths[i] for reader in readers for i in reader.bad_files.indices()}))

    # Where a resumed run stands.
    start = {"global_step": 0, "epoch": 0, "nonfinite": 0}
    if resume_from is not None:
        check_matches(resume_from, module, run_dir / "config.json")
        start.update(read_progress(resume_from))
        counters = torch.load(resume_from, map_location="cpu", weights_only=True, mmap=True).get("dirvae_counters", {})
        start["nonfinite"] = int(counters.get("nonfinite_losses", 0))

    # The run directory, and the trainer that writes into it.
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DirvaeError(f"--run-dir {run_dir}: cannot create it ({error.strerror or error})") from None
    for folder in (run_dir, last_checkpoint(run_dir).parent):
        remove_orphans(folder)  # what a kill left mid-write; this process owns the run now
    writer = BackgroundWriter()  # checkpoints, exports and live-view renders, written off the training thread
    export = RunExport(run_dir, run, writer)
    best = BestCheckpoint(run_dir, writer)
    view = LiveView(
        run_dir, spec, run.data, every_n_steps=options.log_every, min_seconds=options.view_seconds,
        inputs=data.validation_inputs(LiveView.COUNT), writer=writer,
    )  # fmt: skip
    trainer = trainers.make_trainer(
        options, run_dir, chosen_accelerator=accelerator, epochs=epochs, steps_per_epoch=steps_per_epoch, total_steps=total_steps,
        val_batches=batch_count(data.val_dataloader()), callbacks=[*ema_callbacks(options.ema_decay), export, best, view, *trials], extra=callbacks, writer=writer,
    )  # fmt: skip

    # Fit.  Ctrl-C and SIGTERM save on the way out (RunExport) and end here as KeyboardInterrupt.
    started = time.perf_counter()
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
    steps_done = max(0, trainer.global_step - start["global_step"])
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
        samples_per_second=steps_done * options.batches * trainer.world_size / elapsed if elapsed > 0 else 0.0,
        rank_zero=bool(trainer.is_global_zero),
        best=best.summary(),
    )
