"""Issue 2 benchmark: sampler + KL cost, and DirichletVAE vs Gaussian VAE step time.

    .venv/bin/python benchmarks/bench_latent.py

1. Sampler + KL forward and backward at B=256, K=50: igca, implicit (ours,
   exact, log space), and torch.distributions.Dirichlet(α).rsample() called
   directly (with the exact Dirichlet KL from torch).
2. One training step (forward, backward, Adam) of the mnist10k MLP
   (784-500-500, Bernoulli; K=20, the MLP's default, and K=50, the old
   default) as DirichletVAE with the default recipe
   (implicit sampler, exact KL, K·z to the decoder) and with the paper's
   recipe, vs the Gaussian VAE from the same wrapper and networks.  Target
   ratio (default recipe / Gaussian) ≤ 1.05.
All candidates are timed interleaved in one process; ratios are what count.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from common import interleaved_timings, machine  # noqa: E402

from dirvae import DirichletVAE, kl_dirichlet, make_optimizer, rsample_dirichlet  # noqa: E402
from dirvae.nets.mlp import mlp_autoencoder  # noqa: E402


def sampler_step(method: str, raw: torch.Tensor, prior: torch.Tensor) -> None:
    alpha = torch.nn.functional.softplus(raw) + 1e-5
    if method == "torch":
        z = torch.distributions.Dirichlet(alpha).rsample()
        kl = torch.distributions.kl_divergence(torch.distributions.Dirichlet(alpha), torch.distributions.Dirichlet(prior))
    else:
        z = rsample_dirichlet(alpha, method)
        kl = kl_dirichlet(alpha, prior, "gamma" if method == "igca" else "dirichlet")
    (z.square().sum() + kl.sum()).backward()
    raw.grad = None


def build_step_model(recipe_name: str, k: int) -> tuple[DirichletVAE, torch.optim.Optimizer]:
    """The step comparison's model: ``default`` and ``paper`` recipes of the Dirichlet VAE, or ``gaussian``."""
    latent, recipe = ("gaussian", "default") if recipe_name == "gaussian" else ("dirichlet", recipe_name)
    torch.manual_seed(0)
    encoder, decoder = mlp_autoencoder((1, 28, 28), model_size=k)
    model = DirichletVAE(encoder, decoder, k, latent=latent, recipe=recipe, reconstruction="bernoulli")
    return model, make_optimizer(model.parameters(), 1e-3)


def training_step(model: DirichletVAE, optimizer: torch.optim.Optimizer, x: torch.Tensor) -> None:
    terms = model.loss(x)
    optimizer.zero_grad(set_to_none=True)
    terms.total.backward()
    optimizer.step()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--components", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="cpu", help="wall time, or this thread's CPU time (default; robust to other jobs)")
    parser.add_argument("--rounds", type=int, default=30, help="rounds of the step comparison, each with freshly built models (default 30)")
    parser.add_argument("--step-components", type=int, nargs="+", default=[20, 50], help="K of the training-step comparison")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(0)

    raw = torch.randn(args.batch, args.components, requires_grad=True)
    prior = torch.full((args.components,), 0.98)
    sampler_times = interleaved_timings(
        {m: (lambda m=m: sampler_step(m, raw, prior)) for m in ("igca", "implicit", "torch")}, repeats=50
    )

    x = (torch.rand(100, 1, 28, 28) > 0.5).float()
    candidates = [(name, k) for k in args.step_components for name in ("default", "paper", "gaussian")]
    now = time.thread_time if args.clock == "cpu" else time.perf_counter
    samples: dict[tuple[str, int], list[float]] = {key: [] for key in candidates}
    for round_index in range(args.rounds):
        # Fresh models every round, in rotating order, and the median of the per-round ratios: whole runs
        # of the old benchmark (one set of models, built once, fixed order) disagreed by up to ±6%, so no
        # one build or position in the round should decide a run.
        models = {key: build_step_model(*key) for key in candidates}
        order = candidates[round_index % len(candidates) :] + candidates[: round_index % len(candidates)]
        for key in order:
            model, optimizer = models[key]
            for _ in range(3):
                training_step(model, optimizer, x)
            start = now()
            for _ in range(10):
                training_step(model, optimizer, x)
            samples[key].append((now() - start) / 10)
    step_times = {key: statistics.median(values) for key, values in samples.items()}
    round_ratios = {
        k: [d / g for d, g in zip(samples[("default", k)], samples[("gaussian", k)])] for k in args.step_components
    }

    print(f"# bench_latent  {datetime.date.today()}  {machine()}  clock={args.clock}")
    print(f"\nSampler + KL, forward+backward, B={args.batch}, K={args.components}")
    print("| method | ms / step | vs igca |\n|---|---|---|")
    for name, label in (("igca", "igca + multi-Gamma KL (paper)"), ("implicit", "implicit (exact) + exact KL (default)"), ("torch", "torch Dirichlet.rsample + torch KL")):
        print(f"| {label} | {sampler_times[name] * 1e3:.3f} | {sampler_times[name] / sampler_times['igca']:.2f}x |")
    print("\nTraining step, MLP 784-500-500, batch 100, Bernoulli, Adam (fused)")
    print("| K | model | ms / step | vs Gaussian |\n|---|---|---|---|")
    for k in args.step_components:
        for name in ("default", "paper", "gaussian"):
            print(f"| {k} | {name} | {step_times[(name, k)] * 1e3:.2f} | {step_times[(name, k)] / step_times[('gaussian', k)]:.3f} |")
    for k in args.step_components:
        ratio = statistics.median(round_ratios[k])
        quartiles = statistics.quantiles(round_ratios[k], n=4) if len(round_ratios[k]) > 1 else [ratio, ratio, ratio]
        print(
            f"K={k}: DirichletVAE (default recipe) / Gaussian VAE step-time ratio, median of {args.rounds} rounds: {ratio:.3f} "
            f"(quartiles {quartiles[0]:.3f}-{quartiles[2]:.3f}; target <= 1.05: {'met' if ratio <= 1.05 else 'MISSED'})"
        )


if __name__ == "__main__":
    main()
