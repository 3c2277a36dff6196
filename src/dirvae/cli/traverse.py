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
import math
from pathlib import Path

import torch

from dirvae.io.stitching import join_clips
from dirvae.cli.arguments import add_run_arguments, article, positive_float, positive_int, say

PICTURE_KINDS = ("image", "gif", "video", "folder")
SOUND_KINDS = ("audio", "folder")


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

    from dirvae.io import make_grid  # deferred: PyAV and SciPy (~1 s), and `dirvae --help` imports every sub-command
    from dirvae.io import check_output, save_pictures, save_sounds, save_strip  # deferred: PyAV and SciPy (~1 s), and `dirvae --help` imports every sub-command
    from dirvae.runs import decode_in_chunks, load_run  # deferred: PyAV and SciPy (~1 s), and `dirvae --help` imports every sub-command

    model, config = load_run(args.run, args.device)
    modality = config["modality"]
    audio = modality == "audio"
    out = Path(args.out or ("traversal" if audio else "traversal.png"))
    kind = check_output(out, SOUND_KINDS if audio else PICTURE_KINDS, f"{article(modality)} {modality} traversal")
    k, steps = model.model_size, args.steps
    decoded = decode_in_chunks(model, model.traversal_latents(steps, args.reach), args.batch_size)
    rows = decoded.view(k, steps, *decoded.shape[1:])
    if audio:
        per_component = torch.stack([join_clips(row, config["data"]["sample_rate"]) for row in rows])  # [K, C, steps·T]
        written = save_sounds(per_component, out, kind, config["data"]["sample_rate"], stem="component")
    elif kind == "image":
        written = save_pictures(decoded, out, kind, columns=steps)
    elif kind == "folder":
        out.mkdir(parents=True, exist_ok=True)
        width = max(3, len(str(k - 1)))
        for index, row in enumerate(rows):
            save_strip(row, out / f"component_{index:0{width}d}.png")
        written = f"{out}/ ({k} strip PNGs, component_{0:0{width}d}.png ...)"
    else:
        columns = math.ceil(math.sqrt(k))
        frames = torch.stack([make_grid(rows[:, step], columns=columns) for step in range(steps)])
        written = save_pictures(frames, out, kind, fps=args.fps)
    say("traverse", f"wrote {k} components × {steps} steps (reach {args.reach:g}) to {written}")
    return 0
