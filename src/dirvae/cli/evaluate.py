"""Evaluate a trained run on held-out data: NLL, ELBO, kNN accuracy and component collapse.

DIR is a folder of images, audio or video read the way the run was trained
(or "digits" for the embedded digits).  Reports the negative log-likelihood
by importance sampling from the exact posterior, the ELBO split into
reconstruction and KL (with the model's training KL and with the exact KL),
kNN (k=5) accuracy on posterior means cross-validated over the labelled items
(class sub-folders, or the digits' labels; audio and video folds are split by
file, so near-identical neighbouring frames never sit on both sides), a
warning when the importance weights' effective sample size makes the NLL
unreliable, active units (Var_x E[z_d|x] >
0.01), the mean latent value and decoder weight norm per component, and a PNG
bar chart of the last three (RUN/evaluation.png, or in --out-dir, next to
evaluation.json).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
from torch.utils.data import Subset

from dirvae import printer
from dirvae.io.atomic import WriteError, atomic_write_json
from dirvae.cli.arguments import add_weights_argument, positive_int
from dirvae.data import make_loader
from dirvae.errors import DataError, DirvaeError
from dirvae.evaluation import WithFiles, draw_components_chart, evaluate_model, format_table, to_json
from dirvae.modalities.opening import open_dataset
from dirvae.modalities.sources import is_shard_source
from dirvae.runs.inputs import is_named_set
from dirvae.runs.loading import load_run


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("run", metavar="RUN", help="run directory written by 'dirvae train'")
    add("data", metavar="DIR", help="held-out data folder or shards (a .tar pattern, Parquet, a save_to_disk folder), or 'digits' for the embedded digits")
    add("--nll-samples", type=positive_int, default=500, help="importance samples per item for the NLL (default 500)")
    add("--batch-size", type=positive_int, default=100, help="items encoded at once (default 100)")
    add("--limit", type=positive_int, metavar="N", help="evaluate only the first N items")
    add("--reference", metavar="DIR", help="text: the documents whose co-occurrences score topic coherence (NPMI; default DIR itself)")
    add("--json", action="store_true", help="print one JSON object instead of the table")
    add("--out-dir", help="where evaluation.json and evaluation.png go (default RUN)")
    add("--device", help="cpu, cuda, cuda:1, ... (default: cuda when available)")
    add_weights_argument(parser)
    add("--seed", type=int, default=0, help="random seed for the samples and the kNN folds (default 0)")
    add("--knn-k", type=positive_int, default=5, help="neighbours for the kNN accuracy (default 5)")
    add("--folds", type=positive_int, default=5, help="cross-validation folds for the kNN accuracy, grouped by file for audio and video (default 5)")


def _check_device(name: str | None) -> None:
    """A bad --device is the user's to fix: one line, not a traceback from deep in torch."""
    if not name:
        return
    try:
        device = torch.device(name)
    except RuntimeError:
        raise DirvaeError(f"--device {name!r} is not a device (try cpu or cuda)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DirvaeError(f"--device {name}: CUDA is not available on this machine")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise DirvaeError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s) here")


def chart_options(report: dict, latent_kind: str, name: str) -> dict:
    """What the components chart headlines: for a Dirichlet run, the prior-scaled active units.

    On a simplex the components share one unit of mass, so a component's
    variance is bounded by what its prior allows (K = 64, α = 0.98: about
    2e-4), far under the Gaussian convention's 0.01, and the raw count says
    0/K for a healthy run.  Dividing by the prior's variance puts every
    component on the Gaussian scale (N(0, 1) has variance 1).
    """
    components = report["components"]
    k, threshold = report["model_size"], report["active_threshold"]
    options = dict(mean=components["mean"], weight_norm=components["decoder_weight_norm"], threshold=threshold)
    if latent_kind != "dirichlet" or "prior_variance" not in components:
        return dict(options, variance=components["variance"], title=f"{name}: {report['active_units']}/{k} active units")
    scaled = [v / p if p > 0 else float("nan") for v, p in zip(components["variance"], components["prior_variance"])]
    return dict(
        options,
        variance=scaled,
        variance_label="Var_x E[z_d|x] / Var_prior z_d per component",
        title=f"{name}: {report['active_units_prior_scaled']}/{k} active units (prior-scaled)",
        note=(
            f"Unscaled Var_x E[z_d|x] > {threshold:g} (the Gaussian convention) counts {report['active_units']}/{k}: "
            "on a simplex a component's variance is bounded by its prior's, so that count undercounts."
        ),
    )


def run(args: argparse.Namespace) -> int:
    _check_device(args.device)
    model, run = load_run(args.run, args.device, args.weights)
    data = Path(args.data)
    if not is_named_set(data, run) and not data.exists() and not is_shard_source(args.data):
        raise DataError(f"{data}: no such folder")
    dataset = opened = open_dataset(run.data.at(args.data))
    if len(dataset) == 0:
        raise DataError(f"{data}: no items to evaluate")
    if hasattr(dataset, "locate"):
        dataset = WithFiles(dataset)  # kNN folds split by file: frames of one video are near copies
    if args.limit is not None and hasattr(dataset, "hold_out"):
        dataset.limit = min(args.limit, len(dataset))  # shards are read in order: the first --limit samples
    elif args.limit is not None:
        dataset = Subset(dataset, range(min(args.limit, len(dataset))))
    loader = make_loader(dataset, args.batch_size, shuffle=False)
    device = next(model.parameters()).device
    try:
        report = evaluate_model(
            model, loader, nll_samples=args.nll_samples, device=device, knn_k=args.knn_k, knn_folds=args.folds, seed=args.seed
        )
    except ValueError as error:
        if "no readable items" in str(error):
            raise DataError(f"{data}: no readable items to evaluate") from None
        raise
    except torch.cuda.OutOfMemoryError:
        raise DirvaeError(f"out of GPU memory; lower --batch-size (now {args.batch_size})") from None
    reference = open_dataset(run.data.at(args.reference)) if args.reference else None
    extra = run.spec.extra_metrics(model, opened, run.data, reference=reference)
    report = {"run": str(args.run), "data": str(args.data), **report, **({"modality_metrics": extra} if extra else {})}

    out_dir = Path(args.out_dir) if args.out_dir else Path(args.run)
    components = report["components"]
    try:
        chart = draw_components_chart(out_dir / "evaluation.png", **chart_options(report, model.latent_kind, f"{Path(args.run).name} on {args.data}"))
        report["chart"] = str(chart)
        atomic_write_json(out_dir / "evaluation.json", json.loads(to_json(report)))
    except (OSError, WriteError) as error:
        reason = getattr(error, "strerror", None) or str(error).rsplit("(", 1)[-1].rstrip(")")
        raise DirvaeError(f"{out_dir}: cannot write the evaluation ({reason}); pass --out-dir") from None

    print(to_json(report) if args.json else format_table(report))
    sys.stdout.flush()
    if report.get("nll_warning"):
        printer.warning("evaluate", report["nll_warning"])
    return 0
