"""Where the default audio model's training step spends its time, and old code against new (issue 10).

    .venv/bin/python benchmarks/speech_step.py --profile                      # this checkout: parts + profiler
    .venv/bin/python benchmarks/speech_step.py --profile --against a23159c    # the same, REV and this checkout side by side
    .venv/bin/python benchmarks/speech_step.py --against a23159c --rounds 30  # interleaved step times, REV against this checkout

The model and step are ``benchmarks/speech.py``'s (``dirvae train --type audio`` defaults, 2^14-sample
windows, batch 8, loss → backward → sanitise + clip → Adam) on a fixed batch of noise: the step's cost
does not depend on what the audio says.

``--profile`` times the parts (thread CPU time, median of ``--rounds``, interleaved across the models):
the whole step, the encoder, the decoder and the reconstruction loss (forward + backward each), and each
term of the loss; then ``torch.profiler``'s self CPU time of 5 steps, grouped by kind of operation.

``--against REV`` builds the model twice, once from this checkout and once with REV's versions of
``src/dirvae/losses/spectral.py`` and ``src/dirvae/nets/spectral.py`` (from ``git show``; everything else
is this checkout's), loads the first model's weights into the second (so the state-dict names must
still match), prints both losses of one batch, and times their training steps interleaved
(alternating which goes first), ``--repeats`` steps a round.  Printed: windows/s of each (median) and
the per-round speed-up new/old in wall and thread CPU time, with its median and quartiles.  Ratios, not
absolute rates, are what a shared machine can measure.
"""

from __future__ import annotations

import argparse
import collections
import os
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
SPECTRAL_MODULES = ("src/dirvae/losses/spectral.py", "src/dirvae/nets/spectral.py")


def fixed_batch() -> torch.Tensor:
    from speech import BATCH, WINDOW

    return 0.3 * torch.randn(BATCH, 1, WINDOW, generator=torch.Generator().manual_seed(0))


def stepper(model, batch: torch.Tensor):
    from speech import training_step

    from dirvae import GradientSanitizer, make_optimizer

    optimizer, sanitizer = make_optimizer(model.parameters(), 1e-3), GradientSanitizer(max_norm=1.0)
    return lambda: training_step(model, optimizer, sanitizer, batch)


def cpu_ms(function, repeats: int) -> float:
    start = time.thread_time()
    for _ in range(repeats):
        function()
    return (time.thread_time() - start) / repeats * 1000


def step_parts(model, batch: torch.Tensor) -> dict:
    """The step and its parts as functions of nothing, for ``model`` (its loss module's own distance functions)."""
    losses = sys.modules[type(model.likelihood).__module__]
    encoder, decoder, loss = model.encoder, model.decoder, model.likelihood
    encoded_gradient = torch.randn_like(encoder(batch).detach())
    latent = torch.randn(batch.shape[0], decoder.in_channels, decoder.input_length, requires_grad=True)
    output_gradient = 1e-3 * torch.randn_like(batch)
    output = (0.3 * torch.randn_like(batch)).requires_grad_()
    prediction, target = torch.tanh(output.detach()).reshape(batch.shape[0], -1).requires_grad_(), batch.reshape(batch.shape[0], -1)
    parts = {
        "whole step: loss forward + backward, sanitise, Adam": stepper(model, batch),
        "model.loss forward only": lambda: model.loss(batch),
        "encoder forward + backward": lambda: encoder(batch).backward(encoded_gradient),
        "decoder forward + backward": lambda: decoder(latent).backward(output_gradient),
        "reconstruction loss forward + backward (all terms)": lambda: loss(output, batch).sum().backward(),
    }
    for n_fft in loss.fft_sizes:
        hop = max(1, round(n_fft * loss.hop_fraction))
        parts[f"  STFT term n_fft {n_fft}, forward + backward"] = lambda n=n_fft, h=hop: losses.spectral_distance(prediction, target, n, h).sum().backward()
    if loss.mel_weight > 0:
        parts[f"  log-mel term n_fft {loss.mel_fft}, forward + backward"] = lambda: (
            losses.log_mel_distance(prediction, target, loss.mel_filters, loss.mel_fft, loss.mel_fft // 4, loss.mel_floor).sum().backward()
        )
    return parts


def profile(models: dict, rounds: int) -> None:
    """Parts timed (interleaved across ``models``), then each model's step under torch.profiler."""
    batch = fixed_batch()
    parts = {label: step_parts(model, batch) for label, model in models.items()}
    for functions in parts.values():
        for function in functions.values():
            function(), function()
    names = list(next(iter(parts.values())))
    samples = {label: {name: [] for name in names} for label in models}
    for index in range(rounds):
        for name in names:
            for label in list(models) if index % 2 == 0 else list(models)[::-1]:
                samples[label][name].append(cpu_ms(parts[label][name], 3))
    print(f"load average {os.getloadavg()[0]:.2f}; thread CPU ms, median of {rounds} rounds of 3 calls\n")
    print("| part | " + " | ".join(models) + " |\n|---|" + "---|" * len(models))
    for name in names:
        print(f"| {name} | " + " | ".join(f"{statistics.median(samples[label][name]):.1f}" for label in models) + " |")

    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    for label, model in models.items():
        step = parts[label][names[0]]
        with torch_profile(activities=[ProfilerActivity.CPU]) as profiler:
            for _ in range(5):
                step()
        groups: collections.Counter = collections.Counter()
        for event in profiler.key_averages():
            groups[_op_group(event.key)] += event.self_cpu_time_total / 5 / 1000
        total = sum(groups.values())
        print(f"\n{label}: torch.profiler, self CPU time a step (5 steps; {total:.1f} ms a step under the profiler)\n")
        print("| operations | ms | share |\n|---|---|---|")
        for name, value in groups.most_common():
            print(f"| {name} | {value:.1f} | {value / total:.0%} |")


def _op_group(name: str) -> str:
    if "conv" in name:
        return "convolutions, forward and backward"
    if "_fft_" in name:
        return "FFTs"
    if "group_norm" in name or "silu" in name:
        return "GroupNorm and SiLU, forward and backward"
    if name in ("aten::fill_", "aten::copy_", "aten::index_add_", "aten::reflection_pad1d", "aten::reflection_pad1d_backward", "aten::unfold_backward", "aten::cat", "aten::flip"):
        return "copies, fills, padding, overlap-add"
    if "gamma" in name:
        return "Dirichlet sampling and its gradient"
    if "adam" in name.lower():
        return "Adam"
    if name in ("aten::mm", "aten::bmm", "aten::addmm"):
        return "matrix products"
    return "other (elementwise, reductions, autograd)"


def load_revision(revision: str) -> None:
    """Execute REV's spectral modules under private names: their registrations replace this checkout's ``stft`` entries."""
    for path in SPECTRAL_MODULES:
        source = subprocess.run(["git", "show", f"{revision}:{path}"], cwd=REPO, capture_output=True, text=True)
        if source.returncode != 0:
            raise SystemExit(f"--against: git show {revision}:{path} failed: {source.stderr.strip()}")
        module = types.ModuleType(f"_{revision}_{Path(path).parent.name}_spectral")
        module.__file__ = f"{revision}:{path}"
        sys.modules[module.__name__] = module
        exec(compile(source.stdout, module.__file__, "exec"), module.__dict__)


def same_loss(old, new, revision: str) -> None:
    """Both models' loss on the same batch and latent noise, before either has trained."""
    values = []
    for model in (old, new):
        torch.manual_seed(1)
        with torch.no_grad():
            values.append(float(model.loss(fixed_batch()).total))
    print(f"loss of the same batch, {revision} / this checkout: {values[0]:.8g} / {values[1]:.8g}")


def against(old, new, revision: str, rounds: int, repeats: int) -> None:
    from speech import BATCH

    batch = fixed_batch()
    steps = {"old": stepper(old, batch), "new": stepper(new, batch)}
    for step in steps.values():
        step(), step()
    wall: dict[str, list[float]] = {"old": [], "new": []}
    cpu: dict[str, list[float]] = {"old": [], "new": []}
    for index in range(rounds):
        for name in ("old", "new") if index % 2 == 0 else ("new", "old"):
            start_wall, start_cpu = time.perf_counter(), time.thread_time()
            for _ in range(repeats):
                steps[name]()
            wall[name].append((time.perf_counter() - start_wall) / repeats)
            cpu[name].append((time.thread_time() - start_cpu) / repeats)
    print(f"{torch.get_num_threads()} thread(s), {rounds} rounds of {repeats} steps, load average {os.getloadavg()[0]:.2f}")
    print(f"windows/s (median wall): {revision} {BATCH / statistics.median(wall['old']):.1f}, this checkout {BATCH / statistics.median(wall['new']):.1f}")
    for clock, samples in (("wall", wall), ("thread CPU", cpu)):
        ratios = [old_time / new_time for old_time, new_time in zip(samples["old"], samples["new"])]
        quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
        print(
            f"speed-up new/old per round ({clock}): median {statistics.median(ratios):.3f}, quartiles {quartiles[0]:.3f}-{quartiles[2]:.3f}; "
            + " ".join(f"{ratio:.2f}" for ratio in ratios)
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", action="store_true", help="time the step's parts and profile it")
    parser.add_argument("--against", metavar="REV", help="time the step interleaved against REV's spectral modules")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--repeats", type=int, default=2, help="--against: steps a round (default 2)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    if not args.profile and not args.against:
        parser.error("give --profile, --against REV or both")
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)
    from speech import build

    torch.manual_seed(0)
    models = {"this checkout": build("stft")[0]}
    if args.against:
        load_revision(args.against)
        old = build("stft")[0]
        old.load_state_dict(models["this checkout"].state_dict())
        models = {args.against: old, **models}
        same_loss(old, models["this checkout"], args.against)
    if args.profile:
        profile(models, args.rounds)
    if args.against:
        against(models[args.against], models["this checkout"], args.against, args.rounds, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
