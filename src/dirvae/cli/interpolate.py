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

import torch
import torch.nn.functional as F
from torch import Tensor

from dirvae.cli.arguments import add_run_arguments, article, positive_float, positive_int, say

KINDS = {
    "image": ("gif", "image", "video", "folder"),
    "video": ("video", "gif", "image", "folder"),
    "audio": ("audio", "folder"),
}
DEFAULT_OUT = {"image": "interpolation.gif", "video": "interpolation.mp4", "audio": "interpolation.wav"}
VIEW_SIZE = 128
"""Pictures under this many pixels a side are enlarged by a whole factor for viewing."""


def for_viewing(steps: Tensor, a: Tensor, b: Tensor, kind: str) -> tuple[Tensor, int | None]:
    """Frames that show both inputs: [A | step | B] per frame of an animation, or A, steps, B as a strip.

    ``steps`` is ``[N, C, H, W]``; ``a`` and ``b`` are ``[1, C, H, W]`` inputs.
    Returns the pictures and the strip's column count (None for animations).
    """

    a, b = a.to(steps).clamp(0, 1), b.to(steps).clamp(0, 1)
    if kind == "image":
        pictures, columns = torch.cat([a, steps, b]), steps.shape[0] + 2
    else:
        gap = torch.ones(*steps.shape[:3], max(1, steps.shape[-1] // 16), dtype=steps.dtype, device=steps.device)
        n = steps.shape[0]
        pictures = torch.cat([a.expand(n, -1, -1, -1), gap, steps, gap, b.expand(n, -1, -1, -1)], dim=-1)
        columns = None
    factor = max(1, VIEW_SIZE // max(1, min(steps.shape[-2:])))
    if factor > 1:
        pictures = F.interpolate(pictures, scale_factor=factor, mode="nearest")
    return pictures, columns


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
    from dirvae.io import check_output, save_pictures, save_sounds  # deferred: PyAV and SciPy (~1 s), and `dirvae --help` imports every sub-command
    from dirvae.runs import decode_in_chunks, forwarding_warnings, load_run, most_energetic_item, warn  # deferred: PyAV and SciPy (~1 s), and `dirvae --help` imports every sub-command

    model, config = load_run(args.run, args.device)
    modality = config["modality"]
    out = Path(args.out or DEFAULT_OUT[modality])
    kind = check_output(out, KINDS[modality], f"{article(modality)} {modality} interpolation")
    device = model.prior_alpha.device
    ends, names = [], []
    with forwarding_warnings(warn("interpolate")):
        for text in (args.a, args.b):
            tensor, name, loudest = most_energetic_item(config, text)
            ends.append(tensor[None].to(device))
            names.append(f"{name} (its most energetic window)" if loudest else name)
    latents = model.interpolation_path(ends[0], ends[1], args.steps, args.path)
    steps = decode_in_chunks(model, latents, args.batch_size)
    if modality == "audio":
        written = save_sounds(steps, out, kind, config["data"]["sample_rate"], stem="step")
    elif kind in ("folder", "video"):
        written = save_pictures(steps, out, kind, fps=args.fps, stem="step")
    else:
        pictures, columns = for_viewing(steps.float().cpu(), ends[0].float().cpu(), ends[1].float().cpu(), kind)
        written = save_pictures(pictures, out, kind, columns=columns, fps=args.fps, stem="step")
    shown = "; inputs A and B shown at both ends" if kind in ("gif", "image") else ""
    say("interpolate", f"wrote {args.steps} steps from {names[0]} to {names[1]} ({args.path} path) to {written}{shown}")
    return 0
