"""An exact Dirichlet draw and its exact KL to a shared prior, as one autograd node.

Why fuse: a training step of the default recipe draws ``z ~ Dir(α)`` (the
implicit sampler) and takes ``KL(Dir(α) ‖ Dir(α_p))`` (the exact KL) from the
same α.  Apart from the Gamma draws and the digamma/lgamma/trigamma calls,
which cost what they cost, a CPU step at a latent's size is per-op and
per-node overhead: two autograd nodes, each behind its own flooring check,
autocast guard and shape checks, cost the digits MLP 0.3–0.5 ms a step more
than one node (about 3% of the step; BENCHMARKS.md, issue 9).  The math is
exactly that of :mod:`dirvae.latent.dirichlet` and :mod:`dirvae.latent.exact_kl`
(same random numbers, same values, same gradients; the test compares them).

Shapes: ``alpha`` ``[B, K, *rest]``, ``prior_alpha`` ``[K]``; returns ``log z``
``[B, K, *rest]`` and the KL ``[B, *rest]``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from dirvae.latent.dirichlet import (
    ALPHA_FLOOR,
    _check_simplex_axis,
    floor_alpha,
    floor_alpha_with_max,
    full_precision,
    implicit_draw_backward,
    implicit_draw_forward,
)
from dirvae.latent.exact_kl import exact_kl_backward, exact_kl_forward


class _ImplicitDrawWithExactKL(torch.autograd.Function):
    @staticmethod
    def forward(ctx, alpha: Tensor, prior_alpha: Tensor, largest: float) -> tuple[Tensor, Tensor]:
        log_z, draw_saved = implicit_draw_forward(alpha)
        kl, kl_saved = exact_kl_forward(alpha, prior_alpha, largest=largest)
        ctx.save_for_backward(alpha, prior_alpha, log_z, *draw_saved, *kl_saved)
        ctx.set_materialize_grads(False)
        return log_z, kl

    @staticmethod
    def backward(ctx, grad_log_z: Tensor | None, grad_kl: Tensor | None) -> tuple[Tensor | None, Tensor | None, None]:
        alpha, prior_alpha, log_z, *saved = ctx.saved_tensors
        grad_alpha = grad_prior = None
        if grad_log_z is not None and ctx.needs_input_grad[0]:
            grad_alpha = implicit_draw_backward(alpha, log_z, tuple(saved[:3]), grad_log_z)
        if grad_kl is not None:
            grad_q, grad_prior = exact_kl_backward(
                alpha, prior_alpha, tuple(saved[3:]), grad_kl, need_q=ctx.needs_input_grad[0], need_p=ctx.needs_input_grad[1]
            )
            if grad_q is not None:
                grad_alpha = grad_q if grad_alpha is None else grad_alpha.add_(grad_q)
        return grad_alpha, grad_prior, None


def rsample_log_dirichlet_with_exact_kl(
    alpha: Tensor, prior_alpha: Tensor, *, floor: float = ALPHA_FLOOR
) -> tuple[Tensor, Tensor]:
    """``log z`` of an exact reparameterised draw from Dir(α), and KL(Dir(α) ‖ Dir(α_p)).

    Equal in distribution, value and gradient to
    ``rsample_log_dirichlet(alpha, "implicit")`` followed by
    ``kl_dirichlet(alpha, prior_alpha, "dirichlet")``, in one node.
    """
    _check_simplex_axis(alpha)
    with full_precision(alpha):
        alpha, largest = floor_alpha_with_max(alpha, floor)
        prior_alpha = floor_alpha(prior_alpha.to(alpha.device), floor)
        if prior_alpha.dim() != 1 or prior_alpha.shape[0] not in (1, alpha.shape[1]):
            raise ValueError(f"prior alpha must be a vector of {alpha.shape[1]} values, got shape {tuple(prior_alpha.shape)}")
        if prior_alpha.shape[0] != alpha.shape[1]:
            prior_alpha = prior_alpha.expand(alpha.shape[1]).contiguous()
        return _ImplicitDrawWithExactKL.apply(alpha, prior_alpha, largest)
