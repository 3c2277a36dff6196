"""The seed's optimiser recipe: sanitise, clip to norm 1, Adam(0.9, 0.99).

The seed's "NoNaN" step replaced non-finite gradient entries by zero and said
nothing.  We keep the step (one bad batch should not destroy a long run) but
count every entry it zeroes, so training can log it and a user sees when the
model is in numerical trouble.
"""

from __future__ import annotations

from typing import Iterable

import torch
from torch import Tensor, nn


def sanitize_gradients(parameters: Iterable[nn.Parameter]) -> int:
    """Zero NaN/Inf gradient entries in place and return how many there were.

    The common case (every gradient finite) costs one fused norm over all
    gradients; entries are only counted one by one when that norm is not
    finite.
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0
    norms = torch._foreach_norm(grads)
    if bool(torch.isfinite(torch.stack(norms)).all()):
        return 0
    return _zero_nonfinite(grads)


def _zero_nonfinite(grads: list[Tensor]) -> int:
    count = 0
    for grad in grads:
        bad = ~torch.isfinite(grad)
        n_bad = int(bad.sum())
        if n_bad:
            count += n_bad
            grad.masked_fill_(bad, 0.0)
    return count


def sanitize_and_clip(parameters: Iterable[nn.Parameter], max_norm: float | None) -> tuple[int, Tensor | None]:
    """Zero non-finite gradient entries, then clip to ``max_norm``; one norm in the common case.

    Returns (entries zeroed, pre-clip norm).  Sanitising and clipping each
    need the total norm; computing it once is what makes the sanitiser free
    next to a plain ``clip_grad_norm_`` (the trainer-overhead benchmark).
    """
    parameters = [p for p in parameters if p.grad is not None]
    grads = [p.grad for p in parameters]
    if not grads:
        return 0, None
    norm = torch.nn.utils.get_total_norm(grads)
    count = 0
    if not bool(torch.isfinite(norm)):
        count = _zero_nonfinite(grads)
        norm = torch.nn.utils.get_total_norm(grads)
    if max_norm is not None:
        torch.nn.utils.clip_grads_with_norm_(parameters, max_norm, norm)
    return count, norm


class GradientSanitizer:
    """Sanitise then clip, keeping a running count of zeroed entries for logging."""

    def __init__(self, max_norm: float | None = 1.0) -> None:
        self.max_norm = max_norm
        self.total_nonfinite = 0
        self.last_nonfinite = 0

    def __call__(self, parameters: Iterable[nn.Parameter]) -> Tensor | None:
        """Returns the pre-clip gradient norm (or None when clipping is off)."""
        self.last_nonfinite, norm = sanitize_and_clip(parameters, self.max_norm)
        self.total_nonfinite += self.last_nonfinite
        return norm if self.max_norm is not None else None


LEARNING_RATE = 1e-3
"""Adam's learning rate unless given (a modality may choose its own: :attr:`dirvae.modalities.Modality.option_defaults`)."""


BETAS = (0.9, 0.99)
"""Adam's moment decays unless given: the seed's."""


def make_optimizer(
    parameters: Iterable[nn.Parameter], learning_rate: float = LEARNING_RATE, *, betas: tuple[float, float] = BETAS, fused: bool = True
) -> torch.optim.Adam:
    """Adam with the seed's betas (0.9, 0.99) unless given, fused where torch has the kernel.

    torch's default Adam on a CPU updates one tensor at a time with several
    passes over memory; the fused kernel does one.  On the digits MLP it took
    the optimiser step from 7.5 ms to 1.0 ms on a 2-core CPU (a third of the
    whole training step; BENCHMARKS.md).  The update is the same up to float
    rounding.  Devices or dtypes without the kernel get the default loop, as
    does ``fused=False`` (Lightning's mixed precision clips gradients itself
    and refuses an optimiser that unscales them internally).
    """
    parameters = list(parameters)
    if not fused:
        return torch.optim.Adam(parameters, lr=learning_rate, betas=tuple(betas))
    try:
        optimizer = torch.optim.Adam(parameters, lr=learning_rate, betas=tuple(betas), fused=True)
    except (RuntimeError, ValueError):
        return torch.optim.Adam(parameters, lr=learning_rate, betas=tuple(betas))
    optimizer.register_load_state_dict_pre_hook(_stay_fused)
    return optimizer


def _stay_fused(optimizer: torch.optim.Optimizer, state_dict: dict) -> dict:
    """A checkpoint saved by the unfused Adam of older runs would switch the kernel off on resume."""
    groups = [{**group, "fused": True} for group in state_dict.get("param_groups", [])]
    return {**state_dict, "param_groups": groups}
