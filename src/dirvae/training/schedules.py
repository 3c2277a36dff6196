"""KL weight schedules, functions of the optimiser step only.

Depending only on the global step makes a resumed run continue the schedule
exactly where it stopped, with nothing extra to checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConstantKL:
    """The plain ELBO when ``weight`` is 1."""

    weight: float = 1.0

    def __call__(self, step: int) -> float:
        return self.weight


@dataclass(frozen=True)
class CyclicalKL:
    """Fu et al. 2019 (arXiv 1903.10145): ramp 0 → max over ``ratio`` of each cycle, then hold.

    Restarting the ramp lets the decoder learn to use latents that the KL
    would otherwise push back onto the prior early in training.
    """

    cycle_steps: int
    ratio: float = 0.5
    max_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.cycle_steps < 1:
            raise ValueError("a KL cycle must last at least one step")
        if not 0.0 < self.ratio <= 1.0:
            raise ValueError("the KL ramp ratio must be in (0, 1]")

    def __call__(self, step: int) -> float:
        position = (step % self.cycle_steps) / self.cycle_steps
        return self.max_weight * min(1.0, position / self.ratio)


@dataclass(frozen=True)
class LinearWarmupKL:
    """Bowman et al. 2016: ramp 0 → max once over ``warmup_steps``, then hold (the plain ELBO after)."""

    warmup_steps: int
    max_weight: float = 1.0

    def __post_init__(self) -> None:
        if self.warmup_steps < 1:
            raise ValueError("a KL warm-up must last at least one step")

    def __call__(self, step: int) -> float:
        return self.max_weight * min(1.0, step / self.warmup_steps)


KL_SCHEDULES = ("cyclical", "linear", "constant")


def make_kl_schedule(
    kind: str, *, weight: float = 1.0, cycle_steps: int = 10_000, ratio: float = 0.5, warmup_steps: int | None = None
) -> ConstantKL | CyclicalKL | LinearWarmupKL:
    """``warmup_steps`` is the linear ramp's length (default: ``cycle_steps``)."""
    if kind == "constant":
        return ConstantKL(weight)
    if kind == "cyclical":
        return CyclicalKL(cycle_steps=cycle_steps, ratio=ratio, max_weight=weight)
    if kind == "linear":
        return LinearWarmupKL(warmup_steps=warmup_steps or cycle_steps, max_weight=weight)
    raise ValueError(f"unknown KL schedule {kind!r}; choose one of {', '.join(KL_SCHEDULES)}")
