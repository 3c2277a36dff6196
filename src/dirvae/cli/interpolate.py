"""Walk the latent space from input A to input B and decode every step.

Two paths: --path mean (default) walks the straight line on the simplex
between the two posterior means; --path concentration blends the two
posteriors' α and decodes each blend's mean (the seed's interpolation).
A and B are files of the run's modality: an audio file gives its most
energetic window (the highest mean square; a first window is often silence)
and a video its first frame, unless FILE#N picks window or frame N
(FOLDER#N picks item N of a folder, digits#N a digit for digits runs).  The
summary line names the window or frame used.

Images write an animated GIF (default interpolation.gif) or, with --out
x.png, a strip of the steps left to right; video writes an MP4 (default
interpolation.mp4; .gif and .png work too); audio writes one WAV that moves
through the steps back to back (default interpolation.wav).  An --out with no
extension writes one file per step into that folder.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dirvae.runs import add_run_arguments, article, positive_float, positive_int, say

KINDS = {
    "image": ("gif", "image", "video", "folder"),
    "video": ("video", "gif", "image", "folder"),
    "audio": ("audio", "folder"),
}
DEFAULT_OUT = {"image": "interpolation.gif", "video": "interpolation.mp4", "audio": "interpolation.wav"}


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
    from dirvae.outputs import check_output, save_pictures, save_sounds
    from dirvae.runs import decode_in_chunks, forwarding_warnings, load_run, most_energetic_item, warn

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
    else:
        columns = steps.shape[0] if kind == "image" else None
        written = save_pictures(steps, out, kind, columns=columns, fps=args.fps, stem="step")
    say("interpolate", f"wrote {args.steps} steps from {names[0]} to {names[1]} ({args.path} path) to {written}")
    return 0
