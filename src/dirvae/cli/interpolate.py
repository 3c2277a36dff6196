"""Walk the latent space from input A to input B and decode every step.

Two paths: --path mean (default) walks the straight line on the simplex
between the two posterior means; --path concentration blends the two
posteriors' α and decodes each blend's mean (the seed's interpolation).
A and B are files of the run's modality: an audio file gives its most
energetic window (the highest mean square; a first window is often silence)
and a video its first frame, unless FILE#N picks window or frame N
(FOLDER#N picks item N of a folder, digits#N a digit for digits runs).  The
summary line names the window or frame used.

Images write an animated GIF (default interpolation.gif) whose every frame
shows input A, the current step and input B side by side, or, with --out
x.png, a strip: input A, the steps left to right, input B.  In both,
pictures smaller than 128 pixels are enlarged (nearest neighbour, a whole
factor) for viewing.  Video writes an MP4 of the steps (default interpolation.mp4; .gif and .png work too);
audio writes one WAV that moves through the steps back to back (default
interpolation.wav).  An --out with no extension writes one file per decoded
step into that folder, at the model's size.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dirvae import printer
from dirvae.cli.arguments import add_run_arguments, positive_float, positive_int
from dirvae.io.outputs import check_output
from dirvae.runs.inputs import forwarding_warnings, representative_item
from dirvae.runs.loading import load_run


def _steps(text: str) -> int:
    value = positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"an interpolation needs at least 2 steps, got {value}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the description's paragraphs
    add_run_arguments(parser)
    add = parser.add_argument
    add("a", metavar="A", help="the input to start from: FILE (audio: its most energetic window; video: its first frame), or FILE#N for window or frame N")
    add("b", metavar="B", help="the input to end at")
    add("--steps", type=_steps, default=16, help="decoded steps, A's and B's included (default 16)")
    add(
        "--path",
        choices=["mean", "concentration"],
        default="mean",
        help="mean: a straight line on the simplex between the posterior means (default); "
        "concentration: blend the posteriors' α (the seed's way)",
    )
    add(
        "--out",
        metavar="FILE",
        help="out.gif, out.png (a strip), out.mp4 or a folder for images and video; out.wav or a folder for audio "
        "(default interpolation.gif, .mp4 for video, .wav for audio)",
    )
    add("--fps", type=positive_float, default=8.0, help="frames a second of a .gif or .mp4 (default 8)")
    add("--batch-size", type=positive_int, default=64, help="steps decoded at a time (default 64)")


def run(args: argparse.Namespace) -> int:
    model, run = load_run(args.run, args.device, args.weights)
    spec = run.spec
    out = Path(args.out or spec.default_outputs["interpolate"])
    kind = check_output(out, spec.output_kinds["interpolate"], f"{printer.article(run.modality)} {run.modality} interpolation")
    device = model.prior_alpha.device
    ends, names = [], []
    with forwarding_warnings(printer.warner("interpolate")):
        for text in (args.a, args.b):
            tensor, name, chosen = representative_item(run, text)
            ends.append(tensor[None].to(device))
            names.append(f"{name} (its most energetic {spec.item_key})" if chosen else name)
    latents = model.interpolation_path(ends[0], ends[1], args.steps, args.path)
    steps = model.decode_in_chunks(latents, args.batch_size)
    written = spec.write_interpolation(steps, (ends[0], ends[1]), out, kind, run.data, fps=args.fps, latents=latents.cpu())
    printer.result("interpolate", f"wrote {args.steps} steps from {names[0]} to {names[1]} ({args.path} path) to {written}")
    return 0
