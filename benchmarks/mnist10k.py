"""The "mnist10k" benchmark: DirVAE (igca), DirVAE (implicit) and a Gaussian VAE on real digits.

    .venv/bin/python benchmarks/mnist10k.py                 # seed 0, 3 models x 50 epochs (~15 min on 2 cores)
    .venv/bin/python benchmarks/mnist10k.py --seeds 0 1 2   # means over seeds
    .venv/bin/python benchmarks/mnist10k.py --epochs 1 --nll-samples 20 --no-write   # smoke run

Protocol (../shared/notes/background.md, section 4): the 10,000 MNIST test
digits in ../shared/data/mnist (IDX .gz; --mnist to override), first 8,000
for training and the last 2,000 for evaluation, statically binarised (pixel >
127).  Every model is ``DirichletVAE`` around ``mlp_autoencoder`` (encoder
784-500-500, K = 50, decoder 50-500-500-784 with Bernoulli logits), trained
with ``make_optimizer`` (Adam lr 1e-3, betas (0.9, 0.99), the library's
recipe), batch 100, 50 epochs, KL weight 1 (the plain ELBO), fixed prior
α = 0.98, no gradient clipping, ``torch.set_flush_denormal(True)``, 2 threads.

Training is a plain loop over in-memory tensors, not the Lightning module:
the data is 25 MB, and the loop runs exactly ``model.loss`` → backward →
Adam, the same calls ``DirichletVAEModule.training_step`` makes, without
Lightning's per-step logging overhead in the samples/s.

Each model trains and is evaluated in its own subprocess, so the peak RSS
(taken right after training) is that model's alone.  Evaluation on the 2,000
held-out digits: NLL by importance sampling (500 exact-posterior draws, see
dirvae.evaluation.likelihood), the ELBO with the model's KL and with the
exact KL, kNN-5 accuracy (fitted on the 8,000 training digits' posterior
means, scored on the held-out ones), active units (Var_x E[z_d|x] > 0.01 on
the held-out digits), and the collapse diagnostics.

The table is printed and written between markers into
benchmarks/results/mnist10k.md (the text around the markers is kept).
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DEFAULT_MNIST = "../shared/data/mnist"
RESULTS = HERE / "results" / "mnist10k.md"
BEGIN, END = "<!-- mnist10k:begin (written by benchmarks/mnist10k.py) -->", "<!-- mnist10k:end -->"
MODELS = {
    "igca": {"latent": "dirichlet", "recipe": "paper", "sampler": "igca", "label": "DirVAE (igca)"},
    "implicit": {"latent": "dirichlet", "recipe": "paper", "sampler": "implicit", "label": "DirVAE (implicit)"},
    "default": {"latent": "dirichlet", "recipe": "default", "sampler": None, "label": "DirVAE (library default)"},
    "gaussian": {"latent": "gaussian", "recipe": "paper", "sampler": "igca", "label": "Gaussian VAE"},
}


# ---------------------------------------------------------------------- data
def read_idx(path: Path):
    import numpy as np

    with gzip.open(path, "rb") as handle:
        raw = handle.read()
    magic = int.from_bytes(raw[:4], "big")
    dims = magic & 0xFF
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def mnist_files(folder: Path) -> tuple[Path, Path] | None:
    images, labels = folder / "t10k-images-idx3-ubyte.gz", folder / "t10k-labels-idx1-ubyte.gz"
    return (images, labels) if images.is_file() and labels.is_file() else None


def load_mnist10k(folder: Path):
    """(train_x [8000, 784], train_y, eval_x [2000, 784], eval_y), binarised float32."""
    import torch

    files = mnist_files(folder)
    if files is None:
        raise FileNotFoundError(folder)
    images = torch.from_numpy(read_idx(files[0]).copy()).reshape(-1, 784)
    labels = torch.from_numpy(read_idx(files[1]).astype("int64"))
    if images.shape[0] != 10_000 or labels.shape[0] != 10_000:
        raise ValueError(f"expected the 10,000 MNIST test digits, found {images.shape[0]} images and {labels.shape[0]} labels")
    binary = (images > 127).float()
    return binary[:8000], labels[:8000], binary[8000:], labels[8000:]


# -------------------------------------------------------------------- worker
def worker(args: argparse.Namespace) -> dict:
    """Train and evaluate one model; returns the result dict (printed as JSON)."""
    import torch

    sys.path.insert(0, str(HERE))
    from common import machine, peak_rss_mib

    from dirvae import DirichletVAE, make_optimizer
    from dirvae.evaluation import (
        active_units,
        component_variance,
        decoder_weight_norms,
        importance_sampled_nll,
        knn_accuracy,
        component_signal,
        mean_per_component,
        prior_component_variance,
        used_components,
        reconstruction_with_sampler,
        scaled_proposal,
    )
    from dirvae.evaluation.likelihood import LikelihoodEstimate
    from dirvae.nets.mlp import mlp_autoencoder

    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    train_x, train_y, eval_x, eval_y = load_mnist10k(Path(args.mnist))
    spec = MODELS[args.worker]
    torch.manual_seed(args.seed)
    k = args.model_size
    encoder, decoder = mlp_autoencoder((784,), model_size=k, hidden=(500, 500))
    recipe_options = {"sampler": spec["sampler"], "kl_kind": args.kl_kind, **json.loads(args.model_options)}
    model = DirichletVAE(
        encoder,
        decoder,
        k,
        recipe=spec["recipe"],
        **recipe_options,
        latent=spec["latent"],
        prior_alpha=args.prior_alpha,
        reconstruction="bernoulli",
        prior_burn_in=args.prior_burn_in,
    )
    if args.decode_head_gain != 1.0:  # investigation only: the library initialises the K→K head to the identity
        with torch.no_grad():
            model.decode_head.weight.mul_(args.decode_head_gain)
    optimizer = make_optimizer(model.parameters(), args.learning_rate)
    if args.adam_beta2 is not None:  # investigation only: the library's recipe uses betas (0.9, 0.99)
        for group in optimizer.param_groups:
            group["betas"] = (0.9, args.adam_beta2)
    generator = torch.Generator().manual_seed(args.seed)
    batch = args.batch_size
    n = train_x.shape[0]
    history, epoch_seconds = [], []
    model.train()
    started = time.perf_counter()
    for epoch in range(args.epochs):
        epoch_started = time.perf_counter()
        order = torch.randperm(n, generator=generator)
        total, steps = 0.0, 0
        for start in range(0, n, batch):
            x = train_x[order[start : start + batch]]
            warmup = min(1.0, (epoch * n + start + batch) / (args.kl_warmup_epochs * n)) if args.kl_warmup_epochs else 1.0
            terms = model.loss(x, kl_weight=warmup)
            optimizer.zero_grad(set_to_none=True)
            terms.total.backward()
            if args.clip_norm:
                torch.nn.utils.clip_grad_norm_(model.parameters(), args.clip_norm)
            optimizer.step()
            model.update_prior(terms.output.latent.detach())  # a no-op unless --prior-burn-in is given
            total += float(terms.total.detach())
            steps += 1
        history.append(total / steps)
        epoch_seconds.append(time.perf_counter() - epoch_started)
    train_seconds = time.perf_counter() - started
    rss = peak_rss_mib()

    model.eval()
    started = time.perf_counter()
    torch.manual_seed(10_000 + args.seed)
    parts, igca_reconstruction = [], []
    with torch.no_grad():
        for start in range(0, eval_x.shape[0], 100):
            x = eval_x[start : start + 100]
            parts.append(importance_sampled_nll(model, x, args.nll_samples, max_rows=args.max_rows))
            if spec["latent"] == "dirichlet":
                igca_reconstruction.append(reconstruction_with_sampler(model, x, "igca", 20, max_rows=args.max_rows))
        estimate = LikelihoodEstimate.concatenate(parts)
        train_means = torch.cat([model.encode(train_x[i : i + 500]).mean for i in range(0, 8000, 500)])
        train_means = train_means.float()
        eval_means = torch.cat([model.encode(eval_x[i : i + 500]).mean for i in range(0, 2000, 500)])
    eval_seconds = time.perf_counter() - started
    if args.save_dir:
        architecture = {"name": "mlp", "options": {"input_shape": [784], "model_size": k, "hidden": [500, 500]}}
        model.save_pretrained(Path(args.save_dir) / f"{args.worker}-seed{args.seed}", extra={"modality": "image", "architecture": architecture, "model": {}})
    variance = component_variance(eval_means)
    norms = decoder_weight_norms(model).norms
    mean_latent = mean_per_component(eval_means)
    if args.charts:
        from dirvae.evaluation import draw_components_chart

        draw_components_chart(
            Path(args.charts) / f"mnist10k-{args.worker}-seed{args.seed}.png", variance.tolist(), mean_latent.tolist(),
            norms.tolist(), title=f"{spec['label']}, seed {args.seed}: {active_units(variance)}/{k} active units",
        )  # fmt: skip
    # Diagnostics: the posterior's concentration, and whether 500 importance samples have converged:
    # the first --check-items held-out digits again with 500 and with --check-samples draws from the
    # exact posterior, and with --check-samples draws from a twice sharper proposal (Dir(2α), N(μ, σ²/2)).
    # Every proposal gives a consistent estimate that is too high on average for finite S, so a lower
    # number from more samples or another proposal means the protocol's 500 were not enough.
    with torch.no_grad():
        posterior = model.encode(eval_x)
        if spec["latent"] == "dirichlet":
            total = posterior.concentration.sum(dim=1)
            concentration = {
                "alpha_sum_median": float(total.median()),
                "alpha_sum_q10_q90": [float(total.quantile(0.1)), float(total.quantile(0.9))],
                "alpha_max_median": float(posterior.concentration.max(dim=1).values.median()),
            }
        else:
            concentration = {"posterior_std_median": float(posterior.std.median())}
        check = {}
        subset = eval_x[: args.check_items]
        checks = (("S500", 500, 1.0), ("S_check", args.check_samples, 1.0), ("S_check_sharper", args.check_samples, 2.0))
        if args.check_only_low_ess:  # the ablation: more samples only where the 500-sample estimate is unreliable
            low = float(estimate.effective_samples.mean()) < 0.1 * args.nll_samples
            checks = checks[:2] if low else ()
        for name, samples, scale in checks:
            if not args.check_items or not args.check_samples:
                break
            torch.manual_seed(20_000 + args.seed)
            found = [
                importance_sampled_nll(model, subset[i : i + 50], samples, max_rows=args.max_rows, proposal=scaled_proposal(scale)).nll
                for i in range(0, subset.shape[0], 50)
            ]
            check[name] = float(torch.cat(found).mean())
    return {
        "model": args.worker,
        "label": spec["label"],
        "seed": args.seed,
        "epochs": args.epochs,
        "kl_kind": model.kl_kind if spec["latent"] == "dirichlet" else "gaussian",
        "recipe": model.recipe if spec["latent"] == "dirichlet" else None,
        "model_size": k,
        "prior_alpha": args.prior_alpha,
        "prior_alpha_final": model.prior_alpha.tolist(),
        # The median epoch resists bursts of load from other processes; the overall rate is kept too.
        "train_samples_per_s": n / statistics.median(epoch_seconds),
        "train_samples_per_s_overall": args.epochs * n / train_seconds,
        "train_seconds": train_seconds,
        "eval_seconds": eval_seconds,
        "peak_rss_mib": rss,
        "final_train_loss": history[-1],
        "train_loss_history": history,
        "nll": float(estimate.nll.mean()),
        "neg_elbo": float(-estimate.elbo.mean()),
        "neg_elbo_exact_kl": float(-estimate.elbo_exact_kl.mean()),
        "reconstruction": float(estimate.reconstruction.mean()),
        "reconstruction_igca": float(torch.cat(igca_reconstruction).mean()) if igca_reconstruction else None,
        "kl_model": float(estimate.kl_model.mean()),
        "kl_exact": float(estimate.kl_exact.mean()),
        "effective_samples": float(estimate.effective_samples.mean()),
        **concentration,
        "nll_check": check,
        "check_items": args.check_items,
        "check_samples": args.check_samples,
        "knn5": knn_accuracy(train_means, train_y, eval_means, eval_y, k=5),
        "active_units": active_units(variance),
        "active_units_prior_scaled": active_units(variance / prior_component_variance(model)),
        "used_components": used_components(component_signal(variance, norms)),
        "variance": variance.tolist(),
        "mean_latent": mean_latent.tolist(),
        "decoder_weight_norm": norms.tolist(),
        "machine": machine(),
    }


# -------------------------------------------------------------------- parent
def _fmt(values: list[float], digits: int, thousands: bool = False) -> str:
    def one(v: float) -> str:
        return f"{v:,.{digits}f}" if thousands else f"{v:.{digits}f}"

    if len(values) == 1:
        return one(values[0])
    return f"{one(statistics.mean(values))} ± {one(statistics.stdev(values))}"


def _dead_decoder_columns(result: dict) -> int:
    """Components whose decoder weight norm is below 10% of the largest: the paper's decoder-weight collapse."""
    norms = result["decoder_weight_norm"]
    return sum(1 for v in norms if v < 0.1 * max(norms))


def _used(result: dict) -> int:
    """Components whose std_x E[z_d|x] · ‖W_d‖ is at least 10% of the largest (dirvae.evaluation.latents)."""
    signal = [v**0.5 * w for v, w in zip(result["variance"], result["decoder_weight_norm"])]
    return sum(1 for v in signal if v >= 0.1 * max(signal))


def _mean_of(rows: list[dict], key: str, sub: str | None = None) -> str:
    values = [r.get(key) for r in rows]
    if sub is not None:
        values = [v.get(sub) if isinstance(v, dict) else None for v in values]
    values = [v for v in values if v is not None]
    return f"{statistics.mean(values):.2f}" if values else "-"


def table(results: list[dict], seeds: list[int], samples: int) -> str:
    seeds_text = "seed " + str(seeds[0]) if len(seeds) == 1 else f"mean ± sd over seeds {', '.join(map(str, seeds))}"
    lines = [
        f"Held-out 2,000 digits, {seeds_text}.  NLL and −ELBO in nats (lower is better).",
        "",
        f"| model | NLL ({samples} IS) | −ELBO (training KL) | −ELBO (exact KL) | kNN-5 | active units | used components | dead decoder columns | train samples/s (median epoch) | peak RSS MiB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, spec in MODELS.items():
        rows = [r for r in results if r["model"] == name]
        if not rows:
            continue
        units = [float(r["active_units"]) for r in rows]
        used = [float(_used(r)) for r in rows]
        dead = [float(_dead_decoder_columns(r)) for r in rows]
        lines.append(
            f"| {spec['label']} | {_fmt([r['nll'] for r in rows], 2)} | {_fmt([r['neg_elbo'] for r in rows], 2)} "
            f"| {_fmt([r['neg_elbo_exact_kl'] for r in rows], 2)} | {_fmt([r['knn5'] for r in rows], 3)} "
            f"| {_fmt(units, 1 if len(rows) > 1 else 0)} | {_fmt(used, 1 if len(rows) > 1 else 0)} | {_fmt(dead, 1 if len(rows) > 1 else 0)} "
            f"| {_fmt([r['train_samples_per_s'] for r in rows], 0, True)} | {_fmt([r['peak_rss_mib'] for r in rows], 0)} |"
        )
    if len(seeds) > 1:
        lines += ["", "Per seed:", "", "| model | seed | NLL | −ELBO | kNN-5 | active units | used components |", "|---|---|---|---|---|---|---|"]
        for r in results:
            lines.append(
                f"| {r['label']} | {r['seed']} | {r['nll']:.2f} | {r['neg_elbo']:.2f} | {r['knn5']:.3f} | {r['active_units']} "
                f"| {_used(r)} |"
            )
    lines += [
        "",
        "Details (means over seeds): reconstruction E_q[−log p(x|z)] with exact posterior draws and with IGCA draws, "
        "KL terms, importance-sampling effective sample size, the posterior's total concentration Σα, and an NLL "
        "convergence check on the first held-out digits (see --check-items, --check-samples).",
        "",
    ]
    lines += [
        f"| model | reconstruction (exact draws) | reconstruction (IGCA draws) | KL (training) | KL (exact) | IS ESS / {samples} "
        f"| final train loss | Σα median | NLL, first {results[0].get('check_items', '-')} digits: S=500 "
        f"| S={results[0].get('check_samples', '-')} | S={results[0].get('check_samples', '-')}, sharper proposal |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, spec in MODELS.items():
        rows = [r for r in results if r["model"] == name]
        if not rows:
            continue
        igca = [r["reconstruction_igca"] for r in rows if r["reconstruction_igca"] is not None]
        lines.append(
            f"| {spec['label']} | {statistics.mean(r['reconstruction'] for r in rows):.2f} "
            f"| {(f'{statistics.mean(igca):.2f}' if igca else '-')} | {statistics.mean(r['kl_model'] for r in rows):.2f} "
            f"| {statistics.mean(r['kl_exact'] for r in rows):.2f} | {statistics.mean(r['effective_samples'] for r in rows):.1f} "
            f"| {statistics.mean(r['final_train_loss'] for r in rows):.2f} | {_mean_of(rows, 'alpha_sum_median')} "
            f"| {_mean_of(rows, 'nll_check', 'S500')} | {_mean_of(rows, 'nll_check', 'S_check')} | {_mean_of(rows, 'nll_check', 'S_check_sharper')} |"
        )
    return "\n".join(lines)


def write_results(path: Path, section: str) -> None:
    """Replace the marked section of ``path`` (or create the file), keeping the text around it."""
    from common import write_marked_section

    write_marked_section(path, section, BEGIN, END, "mnist10k benchmark")


def worker_command(args: argparse.Namespace, model: str, seed: int) -> list[str]:
    return [
        sys.executable, str(Path(__file__).resolve()), "--worker", model, "--seed", str(seed),
        "--mnist", str(args.mnist), "--epochs", str(args.epochs), "--nll-samples", str(args.nll_samples),
        "--threads", str(args.threads), "--batch-size", str(args.batch_size), "--learning-rate", str(args.learning_rate),
        *(["--kl-kind", args.kl_kind] if args.kl_kind else []), "--prior-alpha", str(args.prior_alpha), "--clip-norm", str(args.clip_norm),
        "--max-rows", str(args.max_rows), "--decode-head-gain", str(args.decode_head_gain),
        "--kl-warmup-epochs", str(args.kl_warmup_epochs),
        *(["--prior-burn-in", str(args.prior_burn_in)] if args.prior_burn_in is not None else []),
        *(["--adam-beta2", str(args.adam_beta2)] if args.adam_beta2 is not None else []), "--check-items", str(args.check_items),
        "--check-samples", str(args.check_samples), "--model-size", str(args.model_size), "--model-options", args.model_options,
        *(["--check-only-low-ess"] if args.check_only_low_ess else []),
    ] + (["--charts", str(args.charts)] if args.charts else []) + (["--save-dir", str(args.save_dir)] if args.save_dir else [])  # fmt: skip


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", default=DEFAULT_MNIST, help=f"folder of the IDX .gz files, relative to the repository (default {DEFAULT_MNIST})")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds to run (default 0)")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS), help="models to run (default all three)")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--nll-samples", type=int, default=500)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--kl-kind", choices=["gamma", "dirichlet"], help="DirVAE KL (default: the model's recipe; gamma for igca/implicit, the paper's)")
    parser.add_argument("--model-size", type=int, default=50, help="K, latent components (default 50, the protocol's)")
    parser.add_argument("--model-options", default="{}", help="JSON of further DirichletVAE recipe options, e.g. '{\"decoder_input\": \"log\"}'")
    parser.add_argument("--check-only-low-ess", action="store_true", help="run the convergence check only when the IS ESS is below 10%% of the samples")
    parser.add_argument("--prior-alpha", type=float, default=0.98)
    parser.add_argument("--clip-norm", type=float, default=0.0, help="clip gradients to this norm (default 0: off, as the protocol)")
    parser.add_argument("--max-rows", type=int, default=10_000, help="latent draws decoded at once in the NLL")
    parser.add_argument("--out", type=Path, default=RESULTS, help="markdown file to update (default benchmarks/results/mnist10k.md)")
    parser.add_argument("--json-out", type=Path, help="also save every result (with per-component arrays) as JSON")
    parser.add_argument("--check-items", type=int, default=200, help="NLL convergence check on this many held-out digits (default 200; 0: off)")
    parser.add_argument("--check-samples", type=int, default=5000, help="importance samples for the convergence check (default 5000)")
    parser.add_argument("--adam-beta2", type=float, help="investigation: Adam's beta2 (default: the library's 0.99)")
    parser.add_argument("--prior-burn-in", type=int, help="investigation: re-estimate the prior α by moments after this many steps (default: fixed prior)")
    parser.add_argument("--kl-warmup-epochs", type=float, default=0.0, help="investigation: ramp the KL weight 0→1 over this many epochs (default 0: off)")
    parser.add_argument("--decode-head-gain", type=float, default=1.0, help="investigation: scale the identity-initialised decode head (default 1)")
    parser.add_argument("--save-dir", type=Path, help="save each trained model as a run directory (config.json + model.safetensors) here")
    parser.add_argument("--charts", type=Path, help="draw each model's per-component chart (PNG) into this folder")
    parser.add_argument("--no-write", action="store_true", help="print only; leave the results file alone")
    parser.add_argument("--worker", choices=list(MODELS), help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.chdir(REPO)  # --mnist and --out are relative to the repository
    if args.worker:
        print(json.dumps(worker(args)))
        return 0
    if mnist_files(Path(args.mnist)) is None:
        print(f"mnist10k: skipped: no MNIST IDX files (t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) in {args.mnist}; pass --mnist DIR", file=sys.stderr)
        return 0
    command = ".venv/bin/python benchmarks/mnist10k.py" + ("" if argv is None and len(sys.argv) == 1 else " " + shlex.join(argv if argv is not None else sys.argv[1:]))
    results = []
    for seed in args.seeds:
        for model in args.models:
            print(f"mnist10k: {MODELS[model]['label']}, seed {seed}, {args.epochs} epochs ...", file=sys.stderr, flush=True)
            done = subprocess.run(worker_command(args, model, seed), capture_output=True, text=True)
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                raise SystemExit(f"mnist10k: the {model} worker failed (exit {done.returncode})")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            print(
                f"mnist10k:   NLL {result['nll']:.2f}  -ELBO {result['neg_elbo']:.2f}  kNN {result['knn5']:.3f}  "
                f"AU {result['active_units']}  {result['train_samples_per_s']:,.0f} samples/s  "
                f"train {result['train_seconds']:.0f}s eval {result['eval_seconds']:.0f}s",
                file=sys.stderr,
                flush=True,
            )
            results.append(result)
    machine_text = results[0]["machine"]
    settings = (
        f"{args.epochs} epochs, batch {args.batch_size}, Adam lr {args.learning_rate:g} (betas 0.9, 0.99), "
        f"KL weight 1, DirVAE KL {args.kl_kind or 'gamma (igca, implicit) / per recipe (default)'}, prior α {args.prior_alpha:g}, "
        f"clip norm {args.clip_norm:g}" + (" (off)" if not args.clip_norm else "") + f", {args.nll_samples} IS samples"
        + (f", KL warm-up {args.kl_warmup_epochs:g} epochs" if args.kl_warmup_epochs else "")
        + (f", decode head gain {args.decode_head_gain:g}" if args.decode_head_gain != 1.0 else "")
        + (f", prior re-estimated by moments after {args.prior_burn_in} steps" if args.prior_burn_in is not None else "")
        + (f", Adam beta2 {args.adam_beta2:g}" if args.adam_beta2 is not None else "")
    )
    section = (
        f"Run {datetime.date.today().isoformat()} on {machine_text}, flush-denormal on.\n\n"
        f"Command: `{command}`\n\nSettings: {settings}.\n\n{table(results, args.seeds, args.nll_samples)}"
    )
    print(section)
    if args.json_out:
        args.json_out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    if not args.no_write:
        write_results(args.out, section)
        print(f"mnist10k: results written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
