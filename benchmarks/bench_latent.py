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
import sys
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--components", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clock", choices=["wall", "cpu"], default="cpu", help="wall time, or this thread's CPU time (default; robust to other jobs)")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds of the step comparison (default 15)")
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
    models = {}
    for k in args.step_components:
        for name, latent, recipe in (("default", "dirichlet", "default"), ("paper", "dirichlet", "paper"), ("gaussian", "gaussian", "default")):
            torch.manual_seed(0)
            encoder, decoder = mlp_autoencoder((1, 28, 28), model_size=k)
            model = DirichletVAE(encoder, decoder, k, latent=latent, recipe=recipe, reconstruction="bernoulli")
            models[(name, k)] = (model, make_optimizer(model.parameters(), 1e-3))

    def step(key: tuple[str, int]) -> None:
        model, optimizer = models[key]
        terms = model.loss(x)
        optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        optimizer.step()

    step_times = interleaved_timings({key: (lambda key=key: step(key)) for key in models}, repeats=10, rounds=args.rounds, clock=args.clock)

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
        ratio = step_times[("default", k)] / step_times[("gaussian", k)]
        print(f"K={k}: DirichletVAE (default recipe) / Gaussian VAE step-time ratio: {ratio:.3f} (target <= 1.05: {'met' if ratio <= 1.05 else 'MISSED'})")


if __name__ == "__main__":
    main()
