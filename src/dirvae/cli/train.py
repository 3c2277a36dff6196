"""Train a Dirichlet VAE on a folder of images, audio or video (or the embedded digits).

With no data at all it trains on scikit-learn's bundled digits.  Options may
also come from a YAML/JSON file (--config); the resolved configuration is
saved as the run's config.json.  --load RUN resumes a run where it stopped.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from dirvae.errors import DirvaeError
from dirvae.recipe import ALPHA_TRANSFORMS, DECODER_INPUTS, KL_KINDS, RECIPES, SAMPLERS
from dirvae.training.schedules import KL_SCHEDULES


def _audio_size(text: str) -> int:
    """Accepts 65536 or the seed's 2^16 / 2**16."""
    cleaned = text.replace("**", "^")
    try:
        if "^" in cleaned:
            base, exponent = cleaned.split("^", 1)
            return int(base) ** int(exponent)
        return int(cleaned)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number such as 65536 or 2^16, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # Every default is None so that only flags the user typed override a config file or a resumed run.
    add = parser.add_argument
    add("--config", help="YAML or JSON file of options (flag names as keys)")
    add("--type", choices=["image", "audio", "video"], default=None, help="modality (default image)")
    add("--data", help="data folder (default data/<type>/; digits if that is empty for images)")
    add("--epochs", type=int, help="passes over the data (default 1; 30 on the digits)")
    add("--iterations", type=int, help="stop after this many optimiser steps")
    add("--batches", type=int, help="batch size, as in the seed (default 32)")
    add("--learning-rate", type=float, help="Adam learning rate (default 1e-3)")
    add("--model-size", type=int, help="K, components of each simplex (default 10 for the MLP/digits, 64 otherwise)")
    add("--audio-size", type=_audio_size, help="samples per audio window (default 2^16)")
    add("--image-size", type=int, help="images and frames are resized and centre-cropped to this (default 64; 28 on the digits)")
    add("--sample-rate", type=int, help="audio is resampled to this rate (default 16000)")
    add("--grayscale", action="store_const", const=True, help="train on grayscale images")
    add(
        "--shuffle-all",
        action="store_const",
        const=True,
        help="audio/video: every batch draws windows or frames at random from all files "
        "(the default unless --shuffle or --shuffle-dir is given)",
    )
    add(
        "--no-shuffle-all",
        dest="shuffle_all",
        action="store_const",
        const=False,
        help="audio/video: read file by file, as the seed did (--shuffle and --shuffle-dir then apply)",
    )
    add(
        "--shuffle",
        action="store_const",
        const=True,
        help="audio/video: read file by file, shuffling the windows or frames within each file; "
        "images: shuffle the files (their default)",
    )
    add("--no-shuffle", dest="shuffle", action="store_const", const=False, help="images: keep the sorted file order")
    add(
        "--shuffle-dir",
        action="store_const",
        const=True,
        help="audio/video: read file by file, the files in a random order each epoch (with --shuffle, each file's items shuffled too)",
    )
    add(
        "--pad-last",
        nargs="?",
        const="all",
        choices=["none", "short", "all"],
        help="audio: zero-pad a file's last partial window instead of dropping it: "
        "short pads only files shorter than one window (default), all (the flag alone) every file, "
        "none drops them (short files are then named in a warning)",
    )
    add("--no-gpu", action="store_const", const=True, help="train on the CPU even when a GPU is present")
    add("--load", metavar="RUN", help="resume the run in this directory")
    add("--save-freq", type=float, metavar="SECONDS", help="checkpoint at most this often (default 10; 0 = every step)")
    add("--run-dir", help="where to write this run (default runs/<type><K>-<time>)")
    add("--recipe", choices=list(RECIPES), help="latent recipe preset: default (measured best) or paper (Joo et al.); the five flags below override it")
    add("--sampler", choices=list(SAMPLERS), help="reparameterisation: implicit (exact; default) or igca (the paper's approximation)")
    add("--kl-kind", choices=list(KL_KINDS), help="KL term: dirichlet (exact; default) or gamma (the paper's multi-Gamma)")
    add("--alpha-transform", choices=list(ALPHA_TRANSFORMS), help="how the head's output becomes α (default softplus)")
    add("--decoder-input", choices=list(DECODER_INPUTS), help="what the decoder sees: scaled K·z (default), simplex z (paper), log K·z")
    add("--learn-prior", action="store_const", const=True, help="learn the prior's α by gradient (replaces the --prior-burn-in re-estimate)")
    add("--latent", choices=["dirichlet", "gaussian"], help="dirichlet, or gaussian for a baseline")
    add("--architecture", choices=["auto", "resblock", "resnet", "mlp", "wave", "melresnet", "stft"], help="network family (default by modality)")
    add("--reconstruction", choices=["auto", "mse", "bernoulli", "gaussian", "logistic", "stft"], help="decoder likelihood")
    add("--prior-alpha", type=float, help="Dirichlet prior concentration (default 0.98)")
    add("--prior-burn-in", type=int, help="steps before the prior is re-estimated by moments (default 10000)")
    add("--kl-schedule", choices=list(KL_SCHEDULES), help="KL weight schedule: cyclical (default), linear warm-up, constant")
    add("--kl-weight", type=float, help="maximum KL weight (default 1)")
    add("--kl-cycle-steps", type=int, help="steps per KL cycle (default a quarter of the run)")
    add("--kl-warmup-steps", type=int, help="length of the linear warm-up (default: --kl-cycle-steps)")
    add("--seed", type=int, help="random seed (default 0)")
    add("--view", action="store_const", const=True, help="start TensorBoard on localhost and print its URL")
    add("--view-port", type=int, help="TensorBoard port for --view (default 6006)")
    add("--log-every", type=int, help="render reconstructions every N steps (default 50)")
    add("--num-workers", type=int, help="data-loading worker processes (default 0)")
    add("--threads", type=int, help="torch CPU threads (default: 1 for small models or a busy machine, else the idle cores)")
    add("--devices", help="devices per node for Lightning (default auto)")
    add("--num-nodes", type=int, help="nodes for DDP (default 1)")
    add("--strategy", help="Lightning strategy, e.g. ddp (default auto)")
    add("--precision", help="Lightning precision (default bf16-mixed on GPU, 32 on CPU)")


def given_options(args: argparse.Namespace) -> dict:
    skip = {"config", "command", "handler"}
    return {k: v for k, v in vars(args).items() if v is not None and k not in skip}


def start_viewer(run_dir: Path, port: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "tensorboard.main", "--logdir", str(run_dir), "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    print(f"dirvae: live view at http://127.0.0.1:{port}/ (TensorBoard)", file=sys.stderr, flush=True)
    return process


def quiet_lightning() -> None:
    """Keep Lightning's progress bar and warnings, drop its banners and tips."""
    import logging
    import warnings

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


def run(args: argparse.Namespace) -> int:
    from dirvae.training.config import legacy_training_options, read_config_file, resolve
    from dirvae.training.run import Terminated, launched_rank_zero, new_run_dir, resume_checkpoint, train
    from dirvae.training.run import say as say_always

    def say(message: str) -> None:
        # Under DDP every rank runs this command: only the first one speaks.
        if launched_rank_zero():
            say_always(message)

    quiet_lightning()
    layers: list[dict] = []
    resume_from = None
    cli = given_options(args)
    if args.load:
        run_dir = Path(args.load)
        resume_from = resume_checkpoint(run_dir)
        saved = json.loads((run_dir / "config.json").read_text()) if (run_dir / "config.json").is_file() else {}
        layers.append(legacy_training_options(saved.get("training", {})))
    if args.config:
        layers.append(read_config_file(args.config))
    layers.append(cli)
    config = resolve(*layers)
    if args.load:
        config.run_dir = str(Path(args.load))
        config.load = args.load
    run_dir = Path(config.run_dir) if config.run_dir else new_run_dir(config)
    if resume_from is None and (run_dir / "checkpoints" / "last.ckpt").exists():
        raise DirvaeError(f"{run_dir}: already holds a run; resume it with --load {run_dir} or choose another --run-dir")
    viewer = start_viewer(run_dir, config.view_port) if config.view else None
    try:
        if resume_from is not None:
            say(f"resuming {run_dir} from {resume_from}")
        try:
            result = train(config, run_dir, resume_from=resume_from)
        except KeyboardInterrupt as stop:
            what = "terminated (SIGTERM)" if isinstance(stop, Terminated) else "interrupted"
            say(f"{what}: checkpoint saved; resume with: dirvae train --load {run_dir}")
            return 143 if isinstance(stop, Terminated) else 130
        if not result.rank_zero:
            return 0
        say(
            f"done: {result.global_step} steps, {result.samples_per_second:,.0f} samples/s; "
            f"skipped files {result.skipped_files}, non-finite losses {result.nonfinite_losses}, "
            f"sanitised gradient entries {result.sanitized_gradients}"
        )
        say(f"results in {run_dir}/ (reconstructions, config.json, model.safetensors, checkpoints/, tensorboard/)")
        say(f"watch the logs with: tensorboard --logdir {run_dir}")
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
