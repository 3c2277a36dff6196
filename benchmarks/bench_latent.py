"""Issue 2 benchmark: sampler + KL cost, and DirichletVAE vs Gaussian VAE step time.

    .venv/bin/python benchmarks/bench_latent.py

1. Sampler + KL forward and backward at B=256, K=50: igca, implicit (ours,
   exact, log space), and torch.distributions.Dirichlet(α).rsample() called
   directly (with the exact Dirichlet KL from torch).
2. One training step (forward, backward, Adam) of the mnist10k MLP
   (784-500-500, K=50, Bernoulli) as DirichletVAE with the default recipe
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
    for name, latent, recipe in (("default", "dirichlet", "default"), ("paper", "dirichlet", "paper"), ("gaussian", "gaussian", "default")):
        torch.manual_seed(0)
        encoder, decoder = mlp_autoencoder((1, 28, 28), model_size=50)
        model = DirichletVAE(encoder, decoder, 50, latent=latent, recipe=recipe, reconstruction="bernoulli")
        models[name] = (model, make_optimizer(model.parameters(), 1e-3))

    def step(latent: str) -> None:
        model, optimizer = models[latent]
        terms = model.loss(x)
        optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        optimizer.step()

    step_times = interleaved_timings({k: (lambda k=k: step(k)) for k in models}, repeats=20, rounds=7)

    print(f"# bench_latent  {datetime.date.today()}  {machine()}")
    print(f"\nSampler + KL, forward+backward, B={args.batch}, K={args.components}")
    print("| method | ms / step | vs igca |\n|---|---|---|")
    for name, label in (("igca", "igca + multi-Gamma KL (paper)"), ("implicit", "implicit (exact) + exact KL (default)"), ("torch", "torch Dirichlet.rsample + torch KL")):
        print(f"| {label} | {sampler_times[name] * 1e3:.3f} | {sampler_times[name] / sampler_times['igca']:.2f}x |")
    ratio = step_times["default"] / step_times["gaussian"]
    print("\nTraining step, MLP 784-500-500, K=50, batch 100, Bernoulli, Adam")
    print("| model | ms / step | vs Gaussian |\n|---|---|---|")
    for name in ("default", "paper", "gaussian"):
        print(f"| {name} | {step_times[name] * 1e3:.2f} | {step_times[name] / step_times['gaussian']:.3f} |")
    print(f"\nDirichletVAE (default recipe) / Gaussian VAE step-time ratio: {ratio:.3f} (target <= 1.05: {'met' if ratio <= 1.05 else 'MISSED'})")


if __name__ == "__main__":
    main()
