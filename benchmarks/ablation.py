"""The recipe ablation on mnist10k: one factor at a time, the winners combined, and a sweep over K.

    .venv/bin/python benchmarks/ablation.py                  # every variant, seeds 0 1 2 (about 2 h on 2 cores)
    .venv/bin/python benchmarks/ablation.py --seeds 0        # one seed
    .venv/bin/python benchmarks/ablation.py --only paper default-k50 gaussian-k50
    .venv/bin/python benchmarks/ablation.py --report         # rebuild the table and plot from saved results
    .venv/bin/python benchmarks/ablation.py --smoke          # seconds: 2 variants, 1 epoch, 20 IS samples (CI)

Each (variant, seed) is one ``benchmarks/mnist10k.py`` worker (the mnist10k
protocol: 8,000 real test digits for training, 2,000 held out, binarised,
MLP 784-500-500 / K / 500-500-784, Bernoulli, Adam 1e-3, batch 100, 50
epochs, fixed prior 0.98, NLL by 500 exact-posterior importance samples).
Where the importance-sampling effective sample size is below 10% of the
samples, the first 200 held-out digits are re-estimated with 5,000 samples
and the table says so.  Results are saved one JSON per run under
``benchmarks/results/ablation/`` and reused, so an interrupted sweep resumes;
the table goes between markers in ``benchmarks/results/ablation.md`` and the
NLL-vs-K plot to ``benchmarks/results/ablation-nll-vs-k.png``.

"Today's default" is the paper's recipe (``recipe="paper"``: IGCA sampler,
multi-Gamma KL, softplus α, the simplex fed to the decoder), which the library
used before this ablation.  Runs execute ``--jobs`` at a time with
``--threads`` torch threads each; samples/s are therefore only comparable
between runs made with the same jobs and threads.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import shlex
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

import mnist10k  # noqa: E402  (the protocol's data, worker and formatting)

RESULTS_DIR = HERE / "results" / "ablation"
RESULTS_MD = HERE / "results" / "ablation.md"
PLOT = HERE / "results" / "ablation-nll-vs-k.png"
BEGIN, END = "<!-- ablation:begin (written by benchmarks/ablation.py) -->", "<!-- ablation:end -->"

PAPER = {"sampler": "igca", "kl_kind": "gamma", "alpha_transform": "softplus", "decoder_input": "simplex", "learn_prior": False}
BEST = {"sampler": "implicit", "kl_kind": "dirichlet", "alpha_transform": "softplus", "decoder_input": "scaled", "learn_prior": False}


def _variant(group: str, label: str, options: dict | None = None, k: int = 50, model: str = "default", warmup: float = 0.0) -> dict:
    return {"group": group, "label": label, "options": options or {}, "k": k, "model": model, "warmup": warmup}


VARIANTS: dict[str, dict] = {
    "paper": _variant("one factor", "today's default (paper recipe): igca, multi-Gamma KL, softplus α, z to decoder", PAPER),
    "paper+implicit": _variant("one factor", "sampler implicit (exact)", {**PAPER, "sampler": "implicit"}),
    "paper+exact-kl": _variant("one factor", "exact Dirichlet KL", {**PAPER, "kl_kind": "dirichlet"}),
    "paper+exp": _variant("one factor", "α = exp(h), clamped", {**PAPER, "alpha_transform": "exp"}),
    "paper+mean-conc": _variant("one factor", "α = softmax(h) · exp(c) (mean–concentration)", {**PAPER, "alpha_transform": "mean-concentration"}),
    "paper+scaled": _variant("one factor", "decoder fed K·z", {**PAPER, "decoder_input": "scaled"}),
    "paper+log": _variant("one factor", "decoder fed log(K·z)", {**PAPER, "decoder_input": "log"}),
    "paper+learned-prior": _variant("one factor", "prior α learned by gradient", {**PAPER, "learn_prior": True}),
    "paper+warmup": _variant("one factor", "KL warm-up, linear over 10 epochs", PAPER, warmup=10.0),
    "default-k50": _variant("combined", "implicit + exact KL + K·z (the new default)", BEST),
    "best+igca": _variant("combined", "… with the igca sampler", {**BEST, "sampler": "igca"}),
    "best+exp": _variant("combined", "… with α = exp(h)", {**BEST, "alpha_transform": "exp"}),
    "best+log": _variant("combined", "… with log(K·z) instead of K·z", {**BEST, "decoder_input": "log"}),
    "best+learned-prior": _variant("combined", "… with a learned prior", {**BEST, "learn_prior": True}),
    "best+mean-conc": _variant("combined", "… with mean–concentration α", {**BEST, "alpha_transform": "mean-concentration"}),
    **{f"default-k{k}": _variant("K sweep", f"new default, K={k}", BEST, k=k) for k in (5, 10, 20)},
    **{f"paper-k{k}": _variant("K sweep", f"paper recipe, K={k}", PAPER, k=k) for k in (10, 20)},
    **{f"gaussian-k{k}": _variant("K sweep", f"Gaussian VAE, {k} dims", k=k, model="gaussian") for k in (5, 10, 20, 50)},
}
PRIORITY = [
    "paper", "default-k50", "gaussian-k50", "paper+scaled", "paper+exact-kl", "paper+implicit", "default-k10", "gaussian-k10",
    "default-k20", "gaussian-k20", "paper+exp", "paper+log", "paper+mean-conc", "paper+learned-prior", "paper+warmup",
    "best+exp", "best+log", "best+igca", "best+learned-prior", "best+mean-conc", "default-k5", "gaussian-k5", "paper-k10", "paper-k20",
]  # fmt: skip
SMOKE = ["default-k50", "gaussian-k10"]


# ------------------------------------------------------------------- running
def result_path(folder: Path, name: str, seed: int) -> Path:
    return folder / f"{name}-seed{seed}.json"


def worker_command(args: argparse.Namespace, name: str, seed: int) -> list[str]:
    spec = VARIANTS[name]
    options = json.dumps(spec["options"]) if spec["model"] != "gaussian" else "{}"
    return [
        sys.executable, str(HERE / "mnist10k.py"), "--worker", spec["model"], "--seed", str(seed), "--mnist", str(args.mnist),
        "--epochs", str(args.epochs), "--nll-samples", str(args.nll_samples), "--threads", str(args.threads),
        "--model-size", str(spec["k"]), "--model-options", options, "--kl-warmup-epochs", str(spec["warmup"]),
        "--check-items", str(args.check_items), "--check-samples", str(args.check_samples), "--check-only-low-ess",
    ]  # fmt: skip


def run_one(args: argparse.Namespace, name: str, seed: int) -> dict:
    path = result_path(args.results, name, seed)
    if path.is_file() and not args.force:
        return json.loads(path.read_text(encoding="utf-8"))
    done = subprocess.run(worker_command(args, name, seed), capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise RuntimeError(f"{name} seed {seed} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result.update(variant=name, threads=args.threads, jobs=args.jobs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result), encoding="utf-8")
    print(
        f"ablation: {name:20s} seed {seed}: NLL {result['nll']:.2f}  -ELBO {result['neg_elbo_exact_kl']:.2f}  "
        f"kNN {result['knn5']:.3f}  ESS {result['effective_samples']:.0f}  {result['train_samples_per_s']:,.0f}/s",
        file=sys.stderr,
        flush=True,
    )
    return result


# ------------------------------------------------------------------ reporting
def _mean_sd(values: list[float], digits: int) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def load_results(folder: Path, names: list[str], seeds: list[int]) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for name in names:
        rows = [json.loads(p.read_text(encoding="utf-8")) for s in seeds if (p := result_path(folder, name, s)).is_file()]
        if rows:
            found[name] = rows
    return found


def table(found: dict[str, list[dict]]) -> str:
    lines = [
        "| group | variant | K | seeds | NLL (500 IS) | NLL, first 200 digits, 500 → 5,000 IS (where ESS < 10%) | −ELBO (exact KL) | kNN-5 | used components | dead decoder columns | IS ESS / 500 | train samples/s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]  # fmt: skip
    for name, spec in VARIANTS.items():
        rows = found.get(name)
        if not rows:
            continue
        checks = [r["nll_check"] for r in rows if r.get("nll_check")]
        check = (
            f"{statistics.mean(c['S500'] for c in checks):.2f} → {statistics.mean(c['S_check'] for c in checks):.2f} ({len(checks)} of {len(rows)} seeds)"
            if checks else "-"
        )  # fmt: skip
        lines.append(
            f"| {spec['group']} | `{name}`: {spec['label']} | {spec['k']} | {len(rows)} | {_mean_sd([r['nll'] for r in rows], 2)} | {check} "
            f"| {_mean_sd([r['neg_elbo_exact_kl'] for r in rows], 2)} | {_mean_sd([r['knn5'] for r in rows], 3)} "
            f"| {_mean_sd([float(mnist10k._used(r)) for r in rows], 1)} | {_mean_sd([float(mnist10k._dead_decoder_columns(r)) for r in rows], 1)} "
            f"| {_mean_sd([r['effective_samples'] for r in rows], 1)} | {_mean_sd([r['train_samples_per_s'] for r in rows], 0)} |"
        )
    return "\n".join(lines)


def draw_plot(found: dict[str, list[dict]], path: Path) -> Path | None:
    """NLL (3-seed mean) against K, one line per recipe, with Pillow (no plotting dependency)."""
    from PIL import Image, ImageDraw

    from dirvae.evaluation.report import _font

    lines = {
        "new default (implicit, exact KL, K·z)": ("default-k", (31, 119, 180)),
        "paper recipe": ("paper-k", (214, 39, 40)),
        "Gaussian VAE": ("gaussian-k", (44, 160, 44)),
    }
    series: dict[str, list[tuple[int, float]]] = {}
    for label, (prefix, _colour) in lines.items():
        points = []
        for k in (5, 10, 20, 50):
            name = "paper" if prefix == "paper-k" and k == 50 else f"{prefix}{k}"
            if name in found:
                points.append((k, statistics.mean(r["nll"] for r in found[name])))
        if points:
            series[label] = points
    if not series:
        return None
    values = [v for points in series.values() for _, v in points]
    low, high = min(values) - 2, max(values) + 2
    width, height, left, right, top, bottom = 640, 420, 70, 20, 40, 60
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    font = _font(12)
    ks = [5, 10, 20, 50]

    def xy(k: int, v: float) -> tuple[float, float]:
        x = left + ks.index(k) / (len(ks) - 1) * (width - left - right)
        y = top + (high - v) / (high - low) * (height - top - bottom)
        return x, y

    draw.rectangle([left, top, width - right, height - bottom], outline="black")
    for k in ks:
        x, _ = xy(k, low)
        draw.text((x - 6, height - bottom + 6), str(k), fill="black", font=font)
    for i in range(6):
        v = low + i * (high - low) / 5
        _, y = xy(5, v)
        draw.line([left - 4, y, left, y], fill="black")
        draw.text((8, y - 7), f"{v:.0f}", fill="black", font=font)
    draw.text((width // 2 - 60, height - 28), "K (latent components)", fill="black", font=font)
    draw.text((left, 12), "mnist10k held-out NLL (nats, 500 IS, mean of seeds) vs K", fill="black", font=font)
    for row, (label, points) in enumerate(series.items()):
        colour = lines[label][1]
        coords = [xy(k, v) for k, v in points]
        if len(coords) > 1:
            draw.line(coords, fill=colour, width=2)
        for x, y in coords:
            draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=colour)
        draw.text((width - right - 260, top + 8 + 16 * row), label, fill=colour, font=font)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def write_report(section: str, path: Path) -> None:
    from common import write_marked_section

    write_marked_section(path, section, BEGIN, END, "Recipe ablation on mnist10k")


# ----------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist", default=mnist10k.DEFAULT_MNIST, help="folder of the MNIST IDX .gz files")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--only", nargs="+", choices=list(VARIANTS), help="run just these variants")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--nll-samples", type=int, default=500)
    parser.add_argument("--check-items", type=int, default=200)
    parser.add_argument("--check-samples", type=int, default=5000)
    parser.add_argument("--jobs", type=int, default=2, help="runs at once (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run (default 1)")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="folder of per-run JSON results")
    parser.add_argument("--force", action="store_true", help="rerun even where a saved result exists")
    parser.add_argument("--report", action="store_true", help="only rebuild the table and plot from saved results")
    parser.add_argument("--smoke", action="store_true", help="2 variants, 1 seed, 1 epoch, 20 IS samples, into --results; no report")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.chdir(REPO)
    names = args.only or (SMOKE if args.smoke else PRIORITY)
    if args.smoke:
        args.seeds, args.epochs, args.nll_samples, args.check_items = [0], 1, 20, 0
    if not args.report:
        if mnist10k.mnist_files(Path(args.mnist)) is None:
            print(f"ablation: skipped: no MNIST IDX files in {args.mnist}; pass --mnist DIR", file=sys.stderr)
            return 0
        jobs = [(name, seed) for seed in args.seeds for name in names]
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for future in [pool.submit(run_one, args, name, seed) for name, seed in jobs]:
                future.result()
    found = load_results(args.results, [n for n in VARIANTS if n in names or args.report], args.seeds)
    section = table(found)
    print(section)
    if args.smoke:
        return 0
    machine = next(iter(found.values()))[0]["machine"] if found else "-"
    command = ".venv/bin/python benchmarks/ablation.py" + (" " + shlex.join(argv if argv is not None else sys.argv[1:]) if (argv or sys.argv[1:]) else "")
    plot = draw_plot(found, PLOT)
    header = (
        f"Updated {datetime.date.today().isoformat()} with `{command}`; runs on {machine} "
        f"(seeds {', '.join(map(str, args.seeds))}; {args.jobs} runs at once, so samples/s compare only within this table).\n\n"
    )
    write_report(header + section + (f"\n\n![NLL vs K]({plot.name})" if plot else ""), RESULTS_MD)
    print(f"ablation: table written to {RESULTS_MD}" + (f", plot to {plot}" if plot else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
