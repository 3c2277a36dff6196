"""The photo benchmark (issue 10): DirVAE and a Gaussian VAE on 64×64 crops of real photographs.

    .venv/bin/python benchmarks/photos.py                              # budgets 2, 5, 10 minutes (wall clock)
    .venv/bin/python benchmarks/photos.py --budget-minutes 1 --threads 1 --no-write   # quick check

Data: the colour photographs that ship inside installed packages, read from
their files with Pillow: scikit-learn's two ``load_sample_images()`` photos
(china, flower) and, when scikit-image is installed, its colour photographs
(astronaut, chelsea, coffee, rocket, motorcycle, hubble deep field, retina,
ihc).  A source that is absent is skipped with a message.  Each photo is
taken at up to three scales (shorter side as is, halved, quartered, while
≥ 64) and cut into 64×64 crops: stride 32 for training photos, stride 64
(no overlap) for held-out ones.  The split is by whole photo: the held-out
photos (china and chelsea; china alone without scikit-image, flower then
being the only training photo) are never seen in training.  Crops are 8-bit
(quantised to k/255), as a decoded JPEG or PNG would be.

Models: ``DirichletVAE`` (the library's default latent recipe) and the same
wrapper with ``latent="gaussian"``, around identical networks (``--architecture``,
default the library's image default) and the same likelihood
(``--reconstruction``).  Training: a plain loop on in-memory tensors
(``model.loss`` → backward → sanitise+clip → Adam, the calls the Lightning
module makes), batch 32, ``make_optimizer`` (Adam 1e-3), KL weight 1 (the plain
ELBO), random horizontal flips, until the budget is spent.  ``--clock wall``
(default) counts wall-clock seconds; ``--clock cpu`` counts this process's CPU
seconds, which keeps comparisons fair on a machine shared with other work.

Metrics on the held-out crops: PSNR of the reconstruction (decoded posterior
mean, the likelihood's ``mean``), from the MSE pooled over every held-out
pixel; the same for the per-image mean-colour baseline (each crop painted its
own mean colour); "colour PSNR", the PSNR between each reconstruction's mean
colour and its input's (are the colours right: greying shows here first); −ELBO in nats per image (one posterior draw per crop, the
model's KL) and, for the discretised logistic, bits per dimension; training
images per second.  A PNG grid (held-out inputs on odd rows, reconstructions
below) goes to benchmarks/results/photos-grid.png and the table to
benchmarks/results/photos.md (rewritten between markers).

Probes (issue 25): ``--one-run`` trains one model per latent for the largest
budget and evaluates it as each budget is reached (checkpoints along one run,
the clock paused while evaluating); ``--ema DECAY ...`` evaluates exponential
moving averages of the weights beside them; ``--loss-option KEY=VALUE`` sets a
likelihood option (e.g. ``pixel_scale=16``, ``gain=4``); ``--diagnose`` adds
the σ the likelihood used on the held-out pixels, the held-out −ELBO with σ
re-fitted per channel to the held-out residuals, and −ELBO on 512 training
crops; ``--grid PATH`` saves the grid even with ``--no-write``:

    .venv/bin/python benchmarks/photos.py --clock cpu --threads 1 --models dirichlet --budget-minutes 5 10 \
        --one-run --diagnose --ema 0.99 --no-write
"""

from __future__ import annotations

import argparse
import datetime
import json
import importlib.util
import math
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
from PIL import Image

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
RESULTS = HERE / "results" / "photos.md"
GRID = HERE / "results" / "photos-grid.png"
BEGIN, END = "<!-- photos:begin (written by benchmarks/photos.py) -->", "<!-- photos:end -->"
CROP = 64
HELD_OUT = ("china", "chelsea")
SKIMAGE_PHOTOS = {
    "astronaut": "astronaut.png",
    "chelsea": "chelsea.png",
    "coffee": "coffee.png",
    "rocket": "rocket.jpg",
    "motorcycle": "motorcycle_left.png",
    "hubble": "hubble_deep_field.jpg",
    "retina": "retina.jpg",
    "ihc": "ihc.png",
}


# ---------------------------------------------------------------------- data
def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def photo_files() -> dict[str, Path]:
    """Name → file of every colour photograph found in installed packages."""
    found: dict[str, Path] = {}
    sklearn = _package_dir("sklearn")
    if sklearn is not None:
        for name in ("china", "flower"):
            path = sklearn / "datasets" / "images" / f"{name}.jpg"
            if path.is_file():
                found[name] = path
    else:
        print("photos: scikit-learn is not installed: no china/flower photos", file=sys.stderr)
    skimage = _package_dir("skimage")
    if skimage is not None:
        for name, file in SKIMAGE_PHOTOS.items():
            path = skimage / "data" / file
            if path.is_file():
                found[name] = path
    else:
        print("photos: scikit-image is not installed: only scikit-learn's two photos (pip install scikit-image for 8 more)", file=sys.stderr)
    return found


def crops(path: Path, stride: int, size: int = CROP, scales: int = 3) -> np.ndarray:
    """``[N, 3, size, size]`` uint8 crops of one photo at up to ``scales`` scales."""
    with Image.open(path) as image:
        image = image.convert("RGB")
        out = []
        for level in range(scales):
            width, height = image.width >> level, image.height >> level
            if min(width, height) < size:
                break
            scaled = image if level == 0 else image.resize((width, height), Image.Resampling.LANCZOS)
            pixels = np.asarray(scaled)
            for top in range(0, height - size + 1, stride):
                for left in range(0, width - size + 1, stride):
                    out.append(pixels[top : top + size, left : left + size].transpose(2, 0, 1))
    return np.stack(out)


def load_photos(held_out: tuple[str, ...] = HELD_OUT) -> tuple[torch.Tensor, torch.Tensor, list[str], list[str]]:
    """(train crops, held-out crops, train photo names, held-out photo names), floats k/255."""
    files = photo_files()
    if len(files) < 2:
        raise SystemExit("photos: need at least two photographs (scikit-learn's sample images); none found")
    test_names = [name for name in held_out if name in files]
    train_names = [name for name in files if name not in test_names]
    if not train_names:  # scikit-learn only: china held out, flower trained on
        train_names, test_names = ["flower"], ["china"]
    train = np.concatenate([crops(files[name], stride=CROP // 2) for name in train_names])
    test = np.concatenate([crops(files[name], stride=CROP) for name in test_names])
    to_float = lambda a: torch.from_numpy(a.astype(np.float32) / 255.0)  # noqa: E731
    return to_float(train), to_float(test), train_names, test_names


# ------------------------------------------------------------------- metrics
def psnr(mse: float) -> float:
    return 10.0 * math.log10(1.0 / max(mse, 1e-12))


def mean_colour_psnr(images: torch.Tensor) -> float:
    """PSNR of painting each image its own mean colour (pooled MSE over all pixels)."""
    means = images.mean(dim=(2, 3), keepdim=True)
    return psnr(float(((images - means) ** 2).mean()))


@torch.no_grad()
def evaluate(model, images: torch.Tensor, batch: int = 64) -> dict:
    """Held-out PSNR (decoded posterior mean), −ELBO per image (nats), bits/dim."""
    model.eval()
    squared, recon, kl, outputs = 0.0, 0.0, 0.0, []
    drawn_squared = torch.zeros(images.shape[1], dtype=torch.float64)  # per channel, at the posterior draw the ELBO used
    used_log_sigma = torch.zeros(images.shape[1], dtype=torch.float64)
    for start in range(0, images.shape[0], batch):
        x = images[start : start + batch]
        reconstruction = model.decode(model.encode(x).mean).clamp(0, 1)
        outputs.append(reconstruction)
        squared += float(((reconstruction - x) ** 2).sum())
        terms = model.loss(x)
        recon += float(terms.reconstruction) * x.shape[0]
        kl += float(terms.kl) * x.shape[0]
        drawn = model.likelihood.mean(terms.output.decoder_output).float()
        log_scale_for = getattr(model.likelihood, "log_scale_for", None)
        if log_scale_for is not None:  # the σ the density used on these images (per pixel where the loss predicts one)
            used = log_scale_for(terms.output.decoder_output, x).expand_as(x)
            used_log_sigma = used_log_sigma + used.transpose(0, 1).reshape(x.shape[1], -1).sum(dim=1).double()
        drawn_squared += ((drawn - x) ** 2).transpose(0, 1).reshape(x.shape[1], -1).sum(dim=1).double()
    model.train()
    n, dims = images.shape[0], images[0].numel()
    neg_elbo = (recon + kl) / n
    # The same −ELBO with the Gaussian's per-channel σ re-fitted to these images' residuals (its maximum-likelihood
    # value here): how much of the −ELBO is the learned σ's mismatch with these images rather than the reconstructions.
    per_channel = dims // images.shape[1]
    refit_sigma = (drawn_squared / (n * per_channel)).sqrt()
    refit_recon = float((per_channel * (0.5 + refit_sigma.log() + 0.5 * math.log(2 * math.pi))).sum())
    scale_log = getattr(model.likelihood, "scale_log", None)
    reconstructions = torch.cat(outputs)
    colour_error = float(((reconstructions.mean(dim=(2, 3)) - images.mean(dim=(2, 3))) ** 2).mean())
    return {
        "psnr": psnr(squared / (n * dims)),
        "colour_psnr": psnr(colour_error),
        "neg_elbo": neg_elbo,
        "kl": kl / n,
        "bits_per_dim": neg_elbo / (dims * math.log(2)),
        "neg_elbo_refit": refit_recon + kl / n,
        "refit_sigma": refit_sigma.tolist(),
        "sigma": (used_log_sigma / (n * per_channel)).exp().tolist() if scale_log is not None else [],
        "reconstructions": reconstructions,
    }


# ------------------------------------------------------------------ training
def build(
    latent: str, architecture: str, reconstruction: str, model_size: int | None, options: dict | None = None,
    loss_options: dict | None = None,
):  # fmt: skip
    """The model ``dirvae train`` would build for 64×64 RGB images, with ``latent`` (and ``loss_options`` over the loss's)."""
    from dirvae.training.config import resolve
    from dirvae.training.plan import plan_run
    from dirvae.training.run import build_model

    flags = {"type": "image", "data": "photos", "image_size": CROP, "latent": latent, "architecture": architecture, "reconstruction": reconstruction}
    if model_size is not None:
        flags["model_size"] = model_size
    run = plan_run(resolve(flags), "photos")
    run.model.architecture_options.update(options or {})
    run.model.reconstruction_options.update(loss_options or {})
    return build_model(run), run.to_dict()


def train(
    model, images: torch.Tensor, budget_s: float, clock: str, batch: int = 32, seed: int = 0, lr: float = 1e-3,
    checkpoints: list[float] = (), on_checkpoint: Callable[[float, dict], None] | None = None, after_step: Callable[[], None] | None = None,
) -> dict:  # fmt: skip
    """Train until ``budget_s`` seconds of ``clock`` are spent; returns images seen and the rate.

    ``on_checkpoint(seconds, stats)`` is called when each of ``checkpoints`` (seconds of ``clock``) is reached, along
    the one run; the time it takes is not counted.  ``after_step()`` runs after each optimiser step (e.g. an EMA update).
    """
    from dirvae import GradientSanitizer, make_optimizer

    clock_now = time.process_time if clock == "cpu" else time.perf_counter
    paused = [0.0]
    now = lambda: clock_now() - paused[0]  # noqa: E731
    pending = sorted(s for s in checkpoints if s < budget_s)
    generator = torch.Generator().manual_seed(seed)
    optimizer = make_optimizer(model.parameters(), lr)
    sanitizer = GradientSanitizer(max_norm=1.0)
    model.train()
    seen, steps, start, wall_start = 0, 0, now(), time.perf_counter()
    cpu_start = time.process_time()
    while now() - start < budget_s:
        order = torch.randperm(images.shape[0], generator=generator)
        for first in range(0, len(order) - batch + 1, batch):
            x = images[order[first : first + batch]]
            flip = torch.rand(x.shape[0], generator=generator) < 0.5
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
            terms = model.loss(x)
            optimizer.zero_grad(set_to_none=True)
            terms.total.backward()
            sanitizer(model.parameters())
            optimizer.step()
            if after_step is not None:
                after_step()
            seen += x.shape[0]
            steps += 1
            while pending and now() - start >= pending[0] and on_checkpoint is not None:
                before, wall_before = clock_now(), time.perf_counter()
                wall = time.perf_counter() - wall_start
                on_checkpoint(pending.pop(0), {"images": seen, "steps": steps, "wall_s": wall, "images_per_s": seen / wall})
                paused[0] += clock_now() - before
                wall_start += time.perf_counter() - wall_before
            if now() - start >= budget_s:
                break
    wall = time.perf_counter() - wall_start
    return {"images": seen, "steps": steps, "wall_s": wall, "cpu_s": time.process_time() - cpu_start, "images_per_s": seen / wall}


LABELS = {"dirichlet": "DirVAE", "gaussian": "Gaussian VAE"}


def run_budgets(
    budgets: list[float], latents: list[str], train_x: torch.Tensor, test_x: torch.Tensor, clock: str, seed: int,
    make_model: Callable[[str], tuple[Any, dict]], describe: Callable[[dict], str],
    one_run: bool = False, ema: list[float] = (), train_probe: torch.Tensor | None = None,
) -> tuple[list[dict], dict[str, torch.Tensor], dict]:  # fmt: skip
    """Train a fresh model per budget and latent, evaluate it on ``test_x``, print ``describe(row)``.

    ``one_run``: train one model per latent for the largest budget and evaluate it as each budget is reached
    (checkpoints along one run, half the cost of fresh runs for 5 and 10 minutes).  ``ema``: also keep an
    exponential moving average of the weights for each of these decays (``torch.optim.swa_utils.AveragedModel``,
    updated every step) and evaluate it beside the raw weights.  ``train_probe``: training crops on which to report
    the raw weights' −ELBO too.

    Returns the table rows, the last budget's held-out reconstructions per
    model label, and the last model's run configuration.
    """
    rows: list[dict] = []
    last: dict[str, torch.Tensor] = {}
    config: dict = {}

    def record(minutes: float, latent: str, stats: dict, model, suffix: str = "") -> None:
        result = evaluate(model, test_x)
        row = {"budget": f"{minutes:g} min {clock}", "label": LABELS[latent] + suffix, **stats}
        row.update({key: value for key, value in result.items() if key != "reconstructions"})
        if train_probe is not None and not suffix:
            row["train_neg_elbo"] = evaluate(model, train_probe)["neg_elbo"]
        rows.append(row)
        last[row["label"]] = result["reconstructions"]
        print(f"{row['budget']:>12} {row['label']:>13}: {describe(row)}", file=sys.stderr, flush=True)

    def one(latent: str, budget: float, checkpoints: list[float]) -> None:
        nonlocal config
        torch.manual_seed(seed)
        model, config = make_model(latent)
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        # decay per step, updated every `every` steps by decay**every (as dirvae.training.averaging.WeightEMA)
        averaged = {
            (decay, every): AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay**every), use_buffers=True)
            for decay, every in map(ema_spec, ema)
        }  # fmt: skip
        steps = 0

        def checkpoint(seconds: float, stats: dict) -> None:
            record(seconds / 60.0, latent, stats, model)
            for (decay, every), average in averaged.items():
                record(seconds / 60.0, latent, stats, average.module, f" EMA {decay:g}" + (f"/{every}" if every > 1 else ""))

        def update() -> None:
            nonlocal steps
            for (decay, every), average in averaged.items():
                if steps % every == 0:
                    average.update_parameters(model)
            steps += 1

        stats = train(
            model, train_x, budget * 60.0, clock, seed=seed, checkpoints=[m * 60.0 for m in checkpoints],
            on_checkpoint=checkpoint, after_step=update if averaged else None,
        )  # fmt: skip
        checkpoint(budget * 60.0, stats)

    if one_run:
        for latent in latents:
            one(latent, max(budgets), sorted(budgets)[:-1])
        rows.sort(key=lambda row: float(row["budget"].split()[0]))
    else:
        for minutes in budgets:
            for latent in latents:
                one(latent, minutes, [])
    return rows, last, config


def ema_spec(spec: float | str) -> tuple[float, int]:
    """``0.99`` (every step) or ``"0.99/4"`` (an update every 4 steps by 0.99**4)."""
    decay, _, every = str(spec).partition("/")
    return float(decay), int(every or 1)


# ------------------------------------------------------------------- results
def table(rows: list[dict], baseline: float, discrete: bool) -> str:
    """``discrete``: the likelihood is a probability of the 8-bit data, so bits/dim mean something."""
    lines = [
        "| budget | model | held-out PSNR (dB) | vs mean colour | colour PSNR (dB) | −ELBO (nats/image) | bits/dim | KL (nats/image) | images/s | images seen |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        bits = f"{row['bits_per_dim']:.3f}" if discrete else "—"
        lines.append(
            f"| {row['budget']} | {row['label']} | {row['psnr']:.2f} | {row['psnr'] - baseline:+.2f} | {row['colour_psnr']:.1f} | {row['neg_elbo']:,.0f} | "
            f"{bits} | {row['kl']:,.0f} | {row['images_per_s']:.1f} | {row['images']:,} |"
        )
    return "\n".join(lines)


def write_results(path: Path, section: str) -> None:
    """Replace the marked section of ``path`` (or create the file), keeping the text around it."""
    from common import write_marked_section

    write_marked_section(path, section, BEGIN, END, "Photo benchmark (issue 10)")


def save_grid(inputs: torch.Tensor, reconstructions: dict[str, torch.Tensor], path: Path, n: int = 12) -> None:
    """Rows: held-out inputs, then each model's reconstructions of them."""
    from dirvae.io import make_grid, save_image

    picks = torch.linspace(0, inputs.shape[0] - 1, n).round().long()
    rows = [inputs[picks]] + [images[picks] for images in reconstructions.values()]
    save_image(make_grid(torch.cat(rows), columns=n), path)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget-minutes", type=float, nargs="+", default=[2.0, 5.0, 10.0])
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall", help="what the budget counts (default wall)")
    parser.add_argument("--models", nargs="+", choices=["dirichlet", "gaussian"], default=["dirichlet", "gaussian"])
    parser.add_argument("--architecture", default="auto", help="as for dirvae train (default: the image default)")
    parser.add_argument("--reconstruction", default="auto", help="as for dirvae train (default: the image default)")
    parser.add_argument("--model-size", type=int, help="K (default: the architecture's)")
    parser.add_argument("--widths", type=int, nargs="+", help="resblock widths, one per halving (default: the library's)")
    parser.add_argument("--upsample", choices=["nearest", "bilinear"], help="resblock decoder upsampling (default: the library's)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--note", default="", help="a line added under the table (e.g. that the machine was shared)")
    parser.add_argument("--one-run", action="store_true", help="evaluate one run per model at each budget (checkpoints along it) instead of a fresh run per budget")
    parser.add_argument("--ema", nargs="+", default=[], metavar="DECAY[/EVERY]", help="also evaluate an exponential moving average of the weights with each decay per step (e.g. 0.99 0.999; 0.99/4: updated every 4 steps by 0.99^4, as dirvae train does)")
    parser.add_argument("--loss-option", action="append", default=[], metavar="KEY=VALUE", help="a reconstruction-loss option (JSON value), e.g. gain=4; repeatable")
    parser.add_argument("--diagnose", action="store_true", help="also print the learned σ, the held-out −ELBO with σ re-fitted to the held-out residuals, and −ELBO on 512 training crops")
    parser.add_argument("--grid", type=Path, help="also save the reconstructions grid here (with --no-write too)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave results/ alone")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from common import machine

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    train_x, test_x, train_names, test_names = load_photos()
    baseline = mean_colour_psnr(test_x)
    print(
        f"photos: {train_x.shape[0]} training crops from {', '.join(train_names)}; "
        f"{test_x.shape[0]} held-out crops from {', '.join(test_names)}; mean-colour baseline {baseline:.2f} dB",
        file=sys.stderr,
    )
    options = {key: value for key, value in (("widths", args.widths), ("upsample", args.upsample)) if value} or None

    loss_options = {}
    for item in args.loss_option:
        key, _, value = item.partition("=")
        loss_options[key] = json.loads(value)

    def describe(row: dict) -> str:
        line = (
            f"PSNR {row['psnr']:.2f} dB ({row['psnr'] - baseline:+.2f} vs mean colour), colour PSNR {row['colour_psnr']:.1f} dB, "
            f"-ELBO {row['neg_elbo']:,.0f} nats ({row['bits_per_dim']:.3f} bits/dim), KL {row['kl']:,.0f}, "
            f"{row['images_per_s']:.1f} images/s, {row['images']:,} images"
        )
        if args.diagnose:
            sigmas = lambda values: "/".join(f"{v:.4f}" for v in values)  # noqa: E731
            line += (
                f"\n{'':>28}σ learned (geometric mean over these pixels) {sigmas(row['sigma'])}, re-fit on held-out {sigmas(row['refit_sigma'])}; "
                f"held-out -ELBO at the re-fit σ {row['neg_elbo_refit']:,.0f}"
                + (f"; training -ELBO {row['train_neg_elbo']:,.0f}" if "train_neg_elbo" in row else "")
            )
        return line

    rows, last, config = run_budgets(
        args.budget_minutes, args.models, train_x, test_x, args.clock, args.seed,
        lambda latent: build(latent, args.architecture, args.reconstruction, args.model_size, options, loss_options), describe,
        one_run=args.one_run, ema=args.ema, train_probe=train_x[torch.linspace(0, train_x.shape[0] - 1, 512).long()] if args.diagnose else None,
    )  # fmt: skip
    command = "python " + " ".join(shlex.quote(a) for a in ["benchmarks/photos.py", *(sys.argv[1:] if argv is None else argv)])
    architecture = config["architecture"]
    options = {k: v for k, v in architecture["options"].items() if k not in ("image_size", "in_channels")}
    section = "\n".join(
        [
            f"**Run** {datetime.date.today().isoformat()} on {machine()}.  Command: `{command}`",
            "",
            f"Data: {train_x.shape[0]} training crops (64×64, stride 32, 3 scales) from {', '.join(train_names)}; "
            f"{test_x.shape[0]} held-out crops (stride 64) from {', '.join(test_names)}, never seen in training.  "
            f"Networks: `{architecture['name']}` {options}; likelihood `{config['model']['reconstruction']}`; "
            f"K = {config['model']['model_size']}; batch 32, Adam 1e-3, KL weight 1.",
            "",
            f"Per-image mean-colour baseline on the held-out crops: **{baseline:.2f} dB**.  "
            f"`{GRID.relative_to(REPO)}`: {len(last) + 1} rows of the same held-out crops: inputs, then "
            + ", then ".join(last)
            + " reconstructions after the last budget.",
            "",
            table(rows, baseline, discrete=config["model"]["reconstruction"] == "logistic"),
            *(
                [
                    "",
                    "The Gaussian is a density on continuous values, so its −ELBO can be negative and is not a "
                    "probability of the 8-bit data: compare it between models, not with a discrete likelihood's.",
                ]
                if config["model"]["reconstruction"] == "gaussian"
                else []
            ),
            *([""] + [args.note] if args.note else []),
        ]
    )
    print(section)
    if args.grid is not None:
        save_grid(test_x, last, args.grid)
    if not args.no_write:
        write_results(RESULTS, section)
        save_grid(test_x, last, GRID)
        print(f"photos: wrote {RESULTS.relative_to(REPO)} and {GRID.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
