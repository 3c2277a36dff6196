"""Draw latents from the prior (or Dir(--alpha)) and decode them.

Images and video frames give one grid picture (default samples.png); with
--out x.gif or x.mp4 the samples follow one another, and an --out with no
extension writes one PNG per sample into that folder.  Audio gives one WAV
per sample in a folder (default samples/), or all of them back to back with
--out x.wav.  The draws are repeatable: the same --seed gives the same samples.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch

from dirvae import printer
from dirvae.cli.arguments import add_run_arguments, positive_float, positive_int
from dirvae.errors import DirvaeError
from dirvae.io.outputs import check_output
from dirvae.runs.loading import load_run


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the description's paragraphs
    add_run_arguments(parser, seed=True)
    add = parser.add_argument
    add("--n", type=positive_int, default=64, help="how many samples (default 64)")
    add(
        "--alpha",
        metavar="A",
        help="draw from Dir(A) instead of the prior: one concentration for every component, "
        "or K comma-separated values (e.g. 0.1,0.1,5,0.1)",
    )
    add(
        "--out",
        metavar="FILE",
        help="output: a picture (.png, .jpg), .gif, .mp4 or a folder for images and video "
        "(default samples.png); a .wav/.flac or a folder for audio (default samples/)",
    )
    add("--fps", type=positive_float, default=8.0, help="frames a second of a .gif or .mp4 (default 8)")
    add("--batch-size", type=positive_int, default=64, help="samples decoded at a time (default 64)")


def parse_alpha(text: str, k: int) -> torch.Tensor:
    """``"0.5"`` or K comma-separated positive numbers → a concentration for Dir."""
    try:
        values = [float(part) for part in text.replace(" ", "").split(",") if part]
    except ValueError:
        raise DirvaeError(f"--alpha {text!r}: expected a number or {k} comma-separated numbers") from None
    if len(values) not in (1, k):
        raise DirvaeError(f"--alpha: this model has K = {k} components; give 1 value or {k}, not {len(values)}")
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise DirvaeError(f"--alpha {text!r}: concentrations must be positive numbers")
    return torch.tensor(values[0] if len(values) == 1 else values, dtype=torch.float32)


def run(args: argparse.Namespace) -> int:
    model, run = load_run(args.run, args.device, args.weights)
    spec = run.spec
    out = Path(args.out or spec.default_outputs["sample"])
    kind = check_output(out, spec.output_kinds["sample"], f"{run.modality} samples")
    alpha = None
    if args.alpha is not None:
        if model.latent_kind != "dirichlet":
            raise DirvaeError("--alpha: this run has a Gaussian latent, which has no concentration")
        alpha = parse_alpha(args.alpha, model.model_size)
    torch.manual_seed(args.seed)
    latents = model.sample_latent(args.n, alpha)
    samples = model.decode_in_chunks(latents, args.batch_size)
    written = spec.write_samples(samples, out, kind, run.data, fps=args.fps)
    source = "the prior" if alpha is None else f"Dir({args.alpha})"
    printer.result("sample", f"wrote {args.n} samples from {source} to {written}")
    return 0
