"""The exact Dirichlet KL to a shared prior: precise for any α, one autograd node.

    KL(Dir(a) ‖ Dir(p)) = lgamma(A) − Σ lgamma(a_k) − lgamma(P) + Σ lgamma(p_k)
                          + Σ (a_k − p_k)(ψ(a_k) − ψ(A)),        A = Σ a_k, P = Σ p_k.

Why float64 inside: the terms are of size a·log a and cancel to a few nats,
so in float32 the textbook form was 2.5% off at α=1e5 and negative at 1e8.
In float64 the same sum keeps about 1e-8 relative up to α=1e8 (the test
compares it with torch's float64 KL).  When every α is below 10 (the usual
posterior), the per-component terms are regrouped as g(x) = x ψ(x) − lgamma(x)
− x, which is below 12 in size there, so they are computed in float32 (float64
lgamma costs 2.5x float32 on a CPU) and only the sums and A's terms are wide.
An earlier form switched to an asymptotic series of g above 10 instead; it
needed about twice the operations and two host syncs, and at the size of a
latent (a few thousand values) a CPU spends its time on per-op overhead.  The
result is float32.

Why a custom autograd node: autograd through the textbook form runs about
twenty nodes and recomputes digamma for lgamma's gradient; the closed-form
gradient needs two trigamma calls, in float32:

    ∂KL/∂a_k = (a_k − p_k) ψ'(a_k) − (A − P) ψ'(A)
    ∂KL/∂p_k = ψ(p_k) − ψ(P) − (ψ(a_k) − ψ(A))        (summed over items)
"""

from __future__ import annotations

import torch
from torch import Tensor


SMALL_ALPHA = 10.0
"""Below this every posterior α's own terms are summed from float32 values (the common case)."""


def _along_dim_1(vector: Tensor, like: Tensor) -> Tensor:
    return vector.view(1, -1, *([1] * (like.dim() - 2)))


def wide_dtype(reference: Tensor) -> torch.dtype:
    """float64 for the cancelling sum, except on Apple's MPS, which has none."""
    return torch.float32 if reference.device.type == "mps" else torch.float64


def exact_kl_forward(alpha_q: Tensor, alpha_p: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor]]:
    """The KL ``[B, *rest]`` for floored float32 α_q and prior ``[K]``, and what its gradient needs."""
    wide = wide_dtype(alpha_q)
    p = alpha_p.to(wide)
    total_q = alpha_q.sum(dim=1, dtype=wide)
    digamma_total = torch.digamma(total_q)
    prior_log_norm = torch.lgamma(p.sum()) - torch.lgamma(p).sum()
    if wide != alpha_q.dtype and float(alpha_q.detach().max()) < SMALL_ALPHA:
        # Σ g(a_k) − g(A) − Σ p_k ψ(a_k) + P ψ(A), with g(x) = x ψ(x) − lgamma(x) − x: each
        # g(a_k) is below 12 in size here, so float32 keeps it to 1e-6; only A's terms are wide.
        digamma_q = torch.digamma(alpha_q)
        g_q = alpha_q * digamma_q - torch.lgamma(alpha_q) - alpha_q
        per_component = (g_q - _along_dim_1(alpha_p, alpha_q) * digamma_q).sum(dim=1, dtype=wide)
        g_total = total_q * digamma_total - torch.lgamma(total_q) - total_q
        kl = per_component - g_total + p.sum() * digamma_total
        digamma_gap = digamma_q - digamma_total.to(alpha_q.dtype).unsqueeze(1)
    else:
        q = alpha_q.to(wide)
        digamma_gap = torch.digamma(q) - digamma_total.unsqueeze(1)
        kl = torch.lgamma(total_q) - torch.lgamma(q).sum(dim=1) + ((q - _along_dim_1(p, q)) * digamma_gap).sum(dim=1)
    return (kl - prior_log_norm).to(alpha_q.dtype), (total_q, digamma_gap)


def exact_kl_backward(
    alpha_q: Tensor, alpha_p: Tensor, saved: tuple[Tensor, Tensor], grad: Tensor, *, need_q: bool = True, need_p: bool = True
) -> tuple[Tensor | None, Tensor | None]:
    """The closed-form gradients of :func:`exact_kl_forward` for the upstream ``grad`` ``[B, *rest]``."""
    total_q, digamma_gap = saved
    grad = grad.unsqueeze(1)
    prior = _along_dim_1(alpha_p, alpha_q)
    grad_q = grad_p = None
    if need_q:
        total = total_q.to(alpha_q.dtype)
        shared = ((total - alpha_p.sum()) * torch.polygamma(1, total)).unsqueeze(1)
        grad_q = ((alpha_q - prior) * torch.polygamma(1, alpha_q) - shared) * grad
    if need_p:
        prior_gap = _along_dim_1(torch.digamma(alpha_p) - torch.digamma(alpha_p.sum()), alpha_q)
        per_item = (prior_gap - digamma_gap.to(alpha_q.dtype)) * grad
        grad_p = per_item.transpose(0, 1).reshape(alpha_p.shape[0], -1).sum(dim=1)
    return grad_q, grad_p


class _ExactKLToSharedPrior(torch.autograd.Function):
    @staticmethod
    def forward(ctx, alpha_q: Tensor, alpha_p: Tensor) -> Tensor:
        kl, saved = exact_kl_forward(alpha_q, alpha_p)
        ctx.save_for_backward(alpha_q, alpha_p, *saved)
        return kl

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, Tensor | None]:
        alpha_q, alpha_p, *saved = ctx.saved_tensors
        return exact_kl_backward(alpha_q, alpha_p, tuple(saved), grad, need_q=ctx.needs_input_grad[0], need_p=ctx.needs_input_grad[1])


def exact_kl_to_shared_prior(alpha_q: Tensor, alpha_p: Tensor) -> Tensor:
    """KL(Dir(α_q) ‖ Dir(α_p)) ``[B, *rest]`` for α_q ``[B, K, *rest]`` and one prior ``[K]``.

    Both must already be floored; ``alpha_p`` is broadcast over every item
    and position.  Differentiable in both (a learned prior gets gradients).
    """
    if alpha_p.dim() != 1 or alpha_p.shape[0] != alpha_q.shape[1]:
        raise ValueError(f"prior alpha must be a vector of {alpha_q.shape[1]} values, got shape {tuple(alpha_p.shape)}")
    return _ExactKLToSharedPrior.apply(alpha_q, alpha_p.to(alpha_q.dtype))
