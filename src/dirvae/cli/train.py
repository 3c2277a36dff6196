"""Train a Dirichlet VAE on a folder of images, audio or video (or the embedded digits).

With no data at all it trains on scikit-learn's bundled digits.  Options may
also come from a YAML/JSON file (--config); the resolved configuration is
saved as the run's config.json.  --load RUN resumes a run where it stopped.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import warnings
from pathlib import Path

from dirvae import printer
from dirvae.data.audio import ShortFileWarning
from dirvae.data.bad_files import UnreadableFileWarning, warning_line
from dirvae.errors import DirvaeError
from dirvae.training.checkpoints import read_progress
from dirvae.training.config import TrainConfig, read_config_file, resolve
from dirvae.training.options import add_flags
from dirvae.training.resume import past_cap, resume_checkpoint, saved_layer, saved_run
from dirvae.training.run import new_run_dir, train
from dirvae.training.signals import Terminated, ignore_ctrl_c_until_exit


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """--config, then one flag per training option, generated from its declaration in TrainConfig."""
    parser.add_argument("--config", help="YAML or JSON file of options (flag names as keys)")
    add_flags(parser, TrainConfig)


def given_options(args: argparse.Namespace) -> dict:
    skip = {"config", "command", "handler"}
    return {k: v for k, v in vars(args).items() if v is not None and k not in skip}


def start_viewer(run_dir: Path, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(run_dir), "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    printer.note(f"live view at http://127.0.0.1:{port}/ (TensorBoard)")
    return process


def quiet_lightning() -> None:
    """Keep Lightning's progress bar and warnings, drop its banners and tips."""
    for name in (
        "lightning.pytorch",
        "lightning.fabric",
        "pytorch_lightning",
        "lightning.pytorch.utilities.rank_zero",
        "lightning.fabric.utilities.rank_zero",
    ):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*does not have many workers.*")
    # Shards split themselves across workers (data/shard_plan.py), so their length is exact.
    warnings.filterwarnings("ignore", message=".*IterableDataset. has .__len__. defined.*")
    # A resumed run's checkpoints/ holds its own earlier checkpoints, which is the point of resuming.
    warnings.filterwarnings("ignore", message=".*Checkpoint directory .* exists and is not empty.*")
    # What a mid-epoch resume does is the README's "Resuming" (the epoch's order restarts, its batch count is kept).
    warnings.filterwarnings("ignore", message=".*resuming from a checkpoint that ended before the epoch ended.*")


def run(args: argparse.Namespace) -> int:
    later = [read_config_file(args.config)] if args.config else []
    later.append(given_options(args))
    resume_from = None
    layers = later
    if args.load:
        run_dir = Path(args.load)
        resume_from = resume_checkpoint(run_dir)
        layers = [saved_layer(saved_run(run_dir), later), *later]
    config = resolve(*layers)
    say = printer.note
    quiet_lightning()
    if args.load:
        config.run_dir = str(Path(args.load))
        config.load = args.load
    run_dir = Path(config.run_dir) if config.run_dir else new_run_dir(config)
    if run_dir.exists() and not run_dir.is_dir():
        raise DirvaeError(f"--run-dir {run_dir}: is a file, not a folder; choose another --run-dir")
    if resume_from is None and any((run_dir / "checkpoints").glob("last*.ckpt")):
        raise DirvaeError(f"{run_dir}: already holds a run; resume it with --load {run_dir} or choose another --run-dir")
    if resume_from is not None:
        progress = read_progress(resume_from)
        reason = past_cap(config, progress)
        if reason is not None:
            say(f"nothing to train: {reason}; trained 0 steps (raise --iterations or --epochs to continue)")
            return 0
    viewer = start_viewer(run_dir, config.view_port) if config.view else None
    try:
        if resume_from is not None:
            say(f"resuming {run_dir} from {resume_from}")
        try:
            with printer.warnings_as_lines((UnreadableFileWarning, ShortFileWarning), warning_line):
                result = train(config, run_dir, resume_from=resume_from)
        except KeyboardInterrupt as stop:
            ignore_ctrl_c_until_exit()
            what = "terminated (SIGTERM)" if isinstance(stop, Terminated) else "interrupted"
            say(f"{what}: checkpoint saved; resume with: dirvae train --load {run_dir}")
            return 143 if isinstance(stop, Terminated) else 130
        if not result.rank_zero:
            return 0
        if result.stopped_nonfinite or (result.session_steps == 0 and result.session_nonfinite > 0):
            say(
                f"failed: {result.session_nonfinite} non-finite losses and {result.session_steps} steps trained this session; "
                "the data or the options (--learning-rate, --kl-weight, --prior-alpha) make the loss NaN/inf"
                + (f"; the last good checkpoint is in {run_dir}/checkpoints/" if result.global_step else "")
            )
            return 1
        say(
            f"done: trained {result.session_steps} steps this session (the run is at step {result.global_step}), "
            f"{result.samples_per_second:,.0f} samples/s; "
            f"skipped files {result.skipped_files}, non-finite losses {result.nonfinite_losses}, "
            f"sanitised gradient entries {result.sanitized_gradients}"
        )
        if result.best:
            say(result.best)
        say(f"results in {run_dir}/ (reconstructions, config.json, model.safetensors, checkpoints/, TensorBoard event files)")
        say(f"watch the logs with: tensorboard --logdir {run_dir.parent}  (each run is named after its folder)")
        if viewer is not None:
            say("TensorBoard keeps running; press Ctrl-C to stop it")
            try:
                viewer.wait()
            except KeyboardInterrupt:
                pass
        return 0
    finally:
        if viewer is not None and viewer.poll() is None:
            viewer.terminate()
