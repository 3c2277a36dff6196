"""The exact Dirichlet KL to a shared prior: precise for any α, one autograd node.

    KL(Dir(a) ‖ Dir(p)) = lgamma(A) − Σ lgamma(a_k) − lgamma(P) + Σ lgamma(p_k)
                          + Σ (a_k − p_k)(ψ(a_k) − ψ(A)),        A = Σ a_k, P = Σ p_k.

Why float64 inside: the terms are of size a·log a and cancel to a few nats,
so in float32 the textbook form was 2.5% off at α=1e5 and negative at 1e8.
In float64 the same sum keeps about 1e-8 relative up to α=1e8 (the test
compares it with torch's float64 KL).  When every α is below 10 (the usual
posterior), the per-component terms are grouped as (a_k − p_k) ψ(a_k) −
lgamma(a_k), below about 25 in size there, so they are computed in float32
(float64 lgamma costs 2.5x float32 on a CPU) and only the sums and A's terms
are wide.  The grouping also needs the fewest operations: at the size of a
latent (a few thousand values) a CPU spends its time on per-op overhead,
not arithmetic.  The result is float32.

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


def exact_kl_forward(
    alpha_q: Tensor, alpha_p: Tensor, *, largest: float | None = None
) -> tuple[Tensor, tuple[Tensor, ...]]:
    """The KL ``[B, *rest]`` for floored float32 α_q and prior ``[K]``, and what its gradient needs.

    ``largest`` is α_q's maximum where the caller already has it (the fused
    draw takes it with the floor's minimum, one reduction and one host sync).
    """
    wide = wide_dtype(alpha_q)
    p = alpha_p.to(wide)
    prior_total = p.sum()
    prior_log_norm = torch.lgamma(prior_total) - torch.lgamma(p).sum()
    total_q = alpha_q.sum(dim=1, dtype=wide)
    excess = total_q - prior_total  # A − P
    digamma_total = torch.digamma(total_q)
    gap = alpha_q - _along_dim_1(alpha_p, alpha_q)  # a_k − p_k
    if largest is None:
        largest = float(alpha_q.detach().max())
    if wide != alpha_q.dtype and largest < SMALL_ALPHA:
        # Σ_k [(a_k − p_k) ψ(a_k) − lgamma(a_k)] − (A − P) ψ(A) + lgamma(A) − prior_log_norm: for
        # a < 10 each component's term is below about 25 in size (or is p_k ψ(a_k) for a tiny a_k,
        # as in any form), so float32 keeps it to a few 1e-6; the sum and A's terms are wide.
        digamma_q = torch.digamma(alpha_q)
        per_component = (gap * digamma_q - torch.lgamma(alpha_q)).sum(dim=1, dtype=wide)
        kl = per_component - excess * digamma_total + torch.lgamma(total_q) - prior_log_norm
    else:
        # Large α: ψ(a_k) and ψ(A) are close, so their difference is taken before the products.
        q = alpha_q.to(wide)
        digamma_q = torch.digamma(q)
        spread = ((q - _along_dim_1(p, q)) * (digamma_q - digamma_total.unsqueeze(1))).sum(dim=1)
        kl = torch.lgamma(total_q) - torch.lgamma(q).sum(dim=1) + spread - prior_log_norm
    return kl.to(alpha_q.dtype), (total_q, excess, gap, digamma_q, digamma_total)


def exact_kl_backward(
    alpha_q: Tensor,
    alpha_p: Tensor,
    saved: tuple[Tensor, ...],
    grad: Tensor,
    *,
    need_q: bool = True,
    need_p: bool = True,
) -> tuple[Tensor | None, Tensor | None]:
    """The closed-form gradients of :func:`exact_kl_forward` for the upstream ``grad`` ``[B, *rest]``."""
    total_q, excess, gap, digamma_q, digamma_total = saved
    grad = grad.unsqueeze(1)
    grad_q = grad_p = None
    if need_q:
        shared = (excess * torch.polygamma(1, total_q.to(alpha_q.dtype))).to(alpha_q.dtype).unsqueeze(1)
        grad_q = (gap * torch.polygamma(1, alpha_q) - shared).mul_(grad)
    if need_p:
        # ψ(a_k) − ψ(A) in the wide type where ψ(a_k) is wide: for large α the two are close.
        digamma_gap = (digamma_q - digamma_total.unsqueeze(1)).to(alpha_q.dtype)
        prior_gap = _along_dim_1(torch.digamma(alpha_p) - torch.digamma(alpha_p.sum()), alpha_q)
        per_item = (prior_gap - digamma_gap) * grad
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
