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


def make_optimizer(parameters: Iterable[nn.Parameter], learning_rate: float = 1e-3) -> torch.optim.Adam:
    """Adam with the seed's betas (0.9, 0.99)."""
    return torch.optim.Adam(parameters, lr=learning_rate, betas=(0.9, 0.99))
