"""What the tools' command lines share: argument types and the RUN argument."""

from __future__ import annotations

import argparse
import math


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number above 0."""

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text}")
    return value


def add_weights_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--weights", choices=["last", "best"], default="last",
        help="which weights of the run: last (model.safetensors, default) or best (best.safetensors, the best validation's)",
    )  # fmt: skip


def add_run_arguments(parser: argparse.ArgumentParser, *, seed: bool = False) -> None:
    """``RUN`` and ``--device`` (and ``--seed`` for commands that draw at random)."""
    parser.add_argument("run", metavar="RUN", help="a run directory written by 'dirvae train'")
    parser.add_argument(
        "--device", default="auto", help="where the model runs: auto (CUDA when present, else cpu), cpu, cuda, cuda:N, mps"
    )
    add_weights_argument(parser)
    if seed:
        parser.add_argument("--seed", type=int, default=0, help="random seed, for repeatable draws (default 0)")
