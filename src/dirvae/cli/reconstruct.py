"""Encode inputs and decode them again: inputs and reconstructions side by side.

INPUT is a file, a folder, or one item of either: FILE#N picks window or
frame N of an audio or video file, FOLDER#N item N of a folder (digits#N for
the embedded digits).  Audio and video files give all their windows or
frames, up to --limit items in all, shared equally over the inputs
(a b --limit 16 takes 8 of each; an input with fewer leaves the rest to the
others).

Images and video frames give one picture (default reconstructions.png) whose
rows alternate inputs and their reconstructions; --out x.gif or x.mp4 shows
each input beside its reconstruction, one after another; a folder gets one
PNG per input.  Audio gives, per input file, its windows back to back and
their reconstruction: in a folder (default reconstructions/, two WAVs per
file) or, with --out x.wav, all in one sound, each input followed by its
reconstruction.  Consecutive windows of a file are reconstructed through
windows that overlap by half and are cross-faded back together, so the
reconstruction has no clicks where windows meet.  Each input is decoded from
its posterior mean, or from a random draw with --stochastic.  Pictures are
read as in training: resized and centre-cropped to the model's square size;
the command says when that cut off part of a non-square input.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from dirvae import printer
from dirvae.cli.arguments import add_run_arguments, positive_float, positive_int
from dirvae.io.outputs import check_output
from dirvae.runs.inputs import forwarding_warnings, spread_inputs
from dirvae.runs.loading import load_run


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the description's paragraphs
    add_run_arguments(parser, seed=True)
    add = parser.add_argument
    add("inputs", nargs="+", metavar="INPUT", help="files, folders or shards of the run's modality (FILE#N, SHARD#KEY pick one item)")
    add(
        "--out",
        metavar="FILE",
        help="output: a picture (.png, .jpg), .gif, .mp4 or a folder for images and video "
        "(default reconstructions.png); a .wav/.flac or a folder for audio (default reconstructions/)",
    )
    add("--limit", type=positive_int, default=64, help="use at most this many items (windows, frames) in all, shared equally over the inputs (default 64)")
    add("--stochastic", action="store_true", help="decode a random draw from each posterior instead of its mean")
    add("--fps", type=positive_float, default=4.0, help="frames a second of a .gif or .mp4 (default 4)")
    add("--batch-size", type=positive_int, default=64, help="items encoded at a time (default 64)")


def run(args: argparse.Namespace) -> int:
    model, run = load_run(args.run, args.device, args.weights)
    spec = run.spec
    warn = printer.warner("reconstruct")
    out = Path(args.out or spec.default_outputs["reconstruct"])
    kind = check_output(out, spec.output_kinds["reconstruct"], f"{run.modality} reconstructions")
    with forwarding_warnings(warn):
        inputs, names, truncated = spread_inputs(run, args.inputs, args.limit)
    if truncated:
        which = f"{len(names)} items, shared over the {len(args.inputs)} inputs" if len(args.inputs) > 1 else f"the first {len(names)} items"
        warn(f"using {which} (raise --limit for more)")
    note = spec.warn_inputs(names, run.data)
    if note:
        warn(note)
    torch.manual_seed(args.seed)

    def reconstruct(batch: torch.Tensor) -> torch.Tensor:
        return model.reconstruct_in_chunks(batch, args.batch_size, stochastic=args.stochastic)

    written = spec.write_reconstructions(reconstruct, inputs, names, out, kind, run.data, fps=args.fps, batch_size=args.batch_size)
    printer.result("reconstruct", f"wrote {len(names)} item(s) and their reconstructions to {written}")
    return 0
