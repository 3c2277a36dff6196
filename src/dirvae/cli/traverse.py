"""Show what each latent component has learned: one row per component.

Row k decodes points that move every latent position from the centre of the
simplex (1/K, ..., 1/K) a fraction t of the way toward the vertex e_k, for t
from 0 to --reach in --steps steps (a Gaussian run moves along axis k, from 0
to 3·reach standard deviations).

Images and video frames give one grid picture, a row per component and a
column per step (default traversal.png); --out x.gif or x.mp4 animates the
steps, every component in one frame; a folder gets one strip PNG per
component.  Audio gives one WAV per component with its steps back to back, in
a folder (default traversal/), or every component in turn in one --out x.wav.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dirvae import printer
from dirvae.cli.arguments import add_run_arguments, positive_float, positive_int
from dirvae.io.outputs import check_output
from dirvae.runs.loading import load_run


def _steps(text: str) -> int:
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"a traversal needs at least 2 steps, got {value}")
    return value


def _reach(text: str) -> float:
    value = positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"must be at most 1 (1 reaches the vertex), got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the description's paragraphs
    add_run_arguments(parser)
    add = parser.add_argument
    add("--steps", type=_steps, default=8, help="points per component, the centre included (default 8)")
    add("--reach", type=_reach, default=0.9, help="how far toward each vertex to go, in (0, 1] (default 0.9)")
    add(
        "--out",
        metavar="FILE",
        help="a picture (.png, .jpg), .gif, .mp4 or a folder for images and video (default traversal.png); "
        "a .wav/.flac or a folder for audio (default traversal/)",
    )
    add("--fps", type=positive_float, default=4.0, help="frames a second of a .gif or .mp4 (default 4)")
    add("--batch-size", type=positive_int, default=64, help="points decoded at a time (default 64)")


def run(args: argparse.Namespace) -> int:
    model, run = load_run(args.run, args.device, args.weights)
    spec = run.spec
    out = Path(args.out or spec.default_outputs["traverse"])
    kind = check_output(out, spec.output_kinds["traverse"], f"{printer.article(run.modality)} {run.modality} traversal")
    k, steps = model.model_size, args.steps
    latents = model.traversal_latents(steps, args.reach)
    decoded = model.decode_in_chunks(latents, args.batch_size)
    rows = decoded.view(k, steps, *decoded.shape[1:])
    written = spec.write_traversal(rows, out, kind, run.data, fps=args.fps, latents=latents.view(k, steps, *latents.shape[1:]).cpu())
    printer.result("traverse", f"wrote {k} components × {steps} steps (reach {args.reach:g}) to {written}")
    return 0
