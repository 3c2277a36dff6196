"""Write each item's posterior: one row per file (per window for audio, per frame for video).

DIR is a folder of the run's modality (or one file; digits for the embedded
digits).  Columns: file (its path inside DIR; a single file as given), then
window (audio) or frame (video), then the posterior mean on the simplex
z_0 ... z_{K-1}, then the concentration alpha_0 ... alpha_{K-1} (a Gaussian
run has its mean and std_0 ... instead).

Models whose latent is a field (the ResNet image model's [K, h, w], the audio
model's [K, t]) have a simplex at every position.  --field flatten (the
default for audio) keeps every position: columns z_k@i for audio (time step
i) and z_k@i_j for images (row i, column j), component-major, and the same
for alpha.  --field average (the default for images and video) puts their
average in a row: the mean of the posterior means, itself a point on the
simplex, and the mean α.  Audio defaults to flatten because a window's time
steps code different sounds and their average is close to uniform.

A .npy output is a structured array with the same fields: np.load(path)["z"]
is [N, K] (or [N, K, *field] with --field flatten), ["alpha"] likewise, and
["file"], ["window"] or ["frame"] name the rows.  Unreadable files are skipped
with a warning, as in training.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from dirvae import printer
from dirvae.cli.arguments import add_run_arguments, positive_int
from dirvae.errors import DataError, DirvaeError
from dirvae.io.outputs import check_output
from dirvae.io.tables import LatentTable
from dirvae.runs.batches import iter_batches
from dirvae.runs.inputs import forwarding_warnings
from dirvae.runs.loading import load_run


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter  # keep the description's paragraphs
    add_run_arguments(parser)
    add = parser.add_argument
    add("dir", metavar="DIR", help="a folder (or file, or shards such as data-{000..009}.tar, or SHARD#KEY) of the run's modality; 'digits' for the embedded digits")
    add("--out", metavar="FILE", default="latents.csv", help="latents.csv or latents.npy (default latents.csv)")
    add(
        "--field",
        choices=["average", "flatten"],
        default=None,
        help="for a latent with several positions: keep one column per position (flatten; the default for audio) "
        "or average them (average; the default for images and video)",
    )
    add("--batch-size", type=positive_int, default=64, help="items encoded at a time (default 64)")
    add("--workers", type=int, default=0, help="data-loading processes for a folder (default 0)")


def run(args: argparse.Namespace) -> int:
    if args.workers < 0:
        raise DirvaeError(f"--workers must be 0 or more, not {args.workers}")
    model, run = load_run(args.run, args.device, args.weights)
    spec = run.spec
    out = Path(args.out)
    check_output(out, ("csv", "npy"), "latents")
    table = LatentTable(
        model.model_size,
        model.latent_shape or (),
        field=args.field or spec.latent_field,
        kind=model.latent_kind,
        index=spec.item_key,
    )
    device = model.prior_alpha.device

    def batches():
        found = False
        for inputs, names in iter_batches(run, args.dir, args.batch_size, num_workers=args.workers):
            with torch.no_grad():
                posterior = model.encode(inputs.to(device))
            found = True
            yield names, posterior
        if not found:
            raise DataError(f"{args.dir}: no readable {run.modality} item")

    with forwarding_warnings(printer.warner("encode")):
        rows = table.write(out, batches())
    columns = len(table.header)
    printer.result("encode", f"wrote {rows} row{'' if rows == 1 else 's'} × {columns} columns ({', '.join(table.header[:3])}, ...) to {out}")
    return 0
