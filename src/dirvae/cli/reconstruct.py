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
from PIL import Image

from dirvae.io.stitching import contiguous_runs, stitch
from dirvae.cli.arguments import add_run_arguments, positive_float, positive_int, say

PICTURE_KINDS = ("image", "gif", "video", "folder")
SOUND_KINDS = ("audio", "folder")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the description's paragraphs
    add_run_arguments(parser, seed=True)
    add = parser.add_argument
    add("inputs", nargs="+", metavar="INPUT", help="files or folders of the run's modality (FILE#N picks one item)")
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


def _groups(names: list[str]) -> list[tuple[str, list[int]]]:
    """Consecutive items of the same file, in order: [(file, [item indices])]."""
    from dirvae.io import split_name  # deferred: PyAV and SciPy (~1 s), and `dirvae --help` imports every sub-command

    groups: list[tuple[str, list[int]]] = []
    for index, name in enumerate(names):
        file = split_name(name)[0]
        if groups and groups[-1][0] == file:
            groups[-1][1].append(index)
        else:
            groups.append((file, [index]))
    return groups


def _write_pictures(inputs, outputs, names, out: Path, kind: str, fps: float) -> str:
    from dirvae.io import side_by_side  # deferred: PyAV and SciPy (~1 s), and `dirvae --help` imports every sub-command
    from dirvae.io import save_image, save_pictures, safe_stem  # deferred: PyAV and SciPy (~1 s), and `dirvae --help` imports every sub-command

    if kind == "image":
        save_image(side_by_side(inputs, outputs), out)
        return f"{out} (rows alternate inputs and reconstructions)"
    separator = torch.ones(*inputs.shape[:-1], 2)
    pairs = torch.cat([inputs, separator, outputs], dim=-1)  # input | reconstruction
    if kind == "folder":
        out.mkdir(parents=True, exist_ok=True)
        for index, (pair, name) in enumerate(zip(pairs, names)):
            save_image(pair, out / f"{index:03d}_{safe_stem(name)}.png")
        return f"{out}/ ({len(names)} PNG files, input left, reconstruction right)"
    return save_pictures(pairs, out, kind, fps=fps) + ", input left, reconstruction right"


def _stitched_sounds(model, inputs, names, batch_size: int, stochastic: bool):
    """Per input file: its windows back to back, and their overlap-add reconstruction.

    Windows that touch in the file (``a.wav#window=3`` then ``=4``) are one
    signal, reconstructed through half-overlapping windows; the input audio is
    exactly those samples.
    """
    from dirvae.io import concat_audio, split_name  # deferred: PyAV and SciPy (~1 s), and `dirvae --help` imports every sub-command
    from dirvae.runs import reconstruct_in_chunks  # deferred: PyAV and SciPy (~1 s), and `dirvae --help` imports every sub-command

    size = inputs.shape[-1]

    def window_model(windows):
        return reconstruct_in_chunks(model, windows, batch_size, stochastic=stochastic)

    sounds = []
    for file, indices in _groups(names):
        numbers = [split_name(names[index])[2] or 0 for index in indices]
        signals, outputs = [], []
        for run in contiguous_runs(numbers):
            signal = concat_audio(inputs[[indices[position] for position in run]])
            signals.append(signal)
            outputs.append(stitch(signal, size, window_model, batch_size=batch_size))
        sounds.append((file, torch.cat(signals, dim=-1), torch.cat(outputs, dim=-1)))
    return sounds


def _write_sounds(sounds, out: Path, kind: str, rate: int) -> str:
    from dirvae.io import safe_stem, save_audio  # deferred: PyAV and SciPy (~1 s), and `dirvae --help` imports every sub-command

    if kind == "audio":
        parts = [part for _, signal, output in sounds for part in (signal, output)]
        save_audio(torch.cat(parts, dim=-1), out, rate)
        return f"{out} ({len(sounds)} input(s), each followed by its reconstruction)"
    out.mkdir(parents=True, exist_ok=True)
    for number, (file, signal, output) in enumerate(sounds):
        stem = f"{number:03d}_{safe_stem(file)}"
        save_audio(signal, out / f"{stem}.input.wav", rate)
        save_audio(output, out / f"{stem}.reconstruction.wav", rate)
    return f"{out}/ ({len(sounds)} × .input.wav and .reconstruction.wav)"


def non_square(names: list[str]) -> list[tuple[str, tuple[int, int]]]:
    """The image files among ``names`` that are not square (read from their headers only)."""

    found = []
    for name in names:
        path = Path(name)
        if not path.is_file():
            continue  # digits#N, FILE#window=N: not a picture file
        try:
            with Image.open(path) as picture:
                size = picture.size
        except OSError:
            continue
        if size[0] != size[1]:
            found.append((name, size))
    return found


def run(args: argparse.Namespace) -> int:
    from dirvae.io import check_output  # deferred: PyAV and SciPy (~1 s), and `dirvae --help` imports every sub-command
    from dirvae.runs import forwarding_warnings, load_run, reconstruct_in_chunks, spread_inputs, warn  # deferred: PyAV and SciPy (~1 s), and `dirvae --help` imports every sub-command

    model, config = load_run(args.run, args.device)
    modality = config["modality"]
    audio = modality == "audio"
    out = Path(args.out or ("reconstructions" if audio else "reconstructions.png"))
    kind = check_output(out, SOUND_KINDS if audio else PICTURE_KINDS, f"{modality} reconstructions")
    with forwarding_warnings(warn("reconstruct")):
        inputs, names, truncated = spread_inputs(config, args.inputs, args.limit)
    if truncated:
        which = f"{len(names)} items, shared over the {len(args.inputs)} inputs" if len(args.inputs) > 1 else f"the first {len(names)} items"
        warn("reconstruct")(f"using {which} (raise --limit for more)")
    if modality == "image":
        cropped = non_square(names)
        if cropped:
            name, (width, height) = cropped[0]
            side = config["data"].get("image_size")
            warn("reconstruct")(
                f"centre-cropped {len(cropped)} non-square input(s) to the model's square {side}x{side} "
                f"(e.g. {name}, {width}x{height}); the edges are not reconstructed"
            )  # fmt: skip
    torch.manual_seed(args.seed)
    if audio:
        sounds = _stitched_sounds(model, inputs, names, args.batch_size, args.stochastic)
        written = _write_sounds(sounds, out, kind, config["data"]["sample_rate"])
    else:
        outputs = reconstruct_in_chunks(model, inputs, args.batch_size, stochastic=args.stochastic)
        written = _write_pictures(inputs, outputs, names, out, kind, args.fps)
    say("reconstruct", f"wrote {len(names)} item(s) and their reconstructions to {written}")
    return 0
