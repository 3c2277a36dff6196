"""Reparameterised Dirichlet samples, densities and KL terms along dim 1.

Shapes: ``alpha`` is ``[B, K, *rest]`` with the simplex on dim 1, so a latent
can be one simplex per sample (``[B, K]``) or a field of simplices (``[B, K, H,
W]`` for the seed's image model).  Results that reduce over the simplex have
shape ``[B, *rest]``.

Numerics: every function here casts to float32 and disables autocast, because
torch's Gamma gradient kernel supports float32/float64 only and lgamma/digamma
lose too much in bf16.  Samples are computed in log space and normalised with a
softmax, and ``alpha`` is floored explicitly at :data:`ALPHA_FLOOR` so that no
draw, density or gradient is infinite.  Nothing is silently replaced by zero:
a negative α (including -inf) is an error, and NaN passes through so that the
training loop counts it.

KL terms and log densities are sums of lgamma/digamma terms of size α·log α
that cancel to a few nats; in float32 that loses everything for α ≳ 1e4 (the
exact KL was 2.5% off at α=1e5 and negative at 1e8), so they are evaluated in
float64 and returned as float32 (the exact KL to a shared prior, the model's
case, inside one autograd node: :mod:`dirvae.latent.exact_kl`).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Literal

import torch
from torch import Tensor

from dirvae.latent.exact_kl import exact_kl_to_shared_prior, wide_dtype

ALPHA_FLOOR = 1e-5
"""Smallest concentration used by the math; below it Gamma draws underflow."""

UNIFORM_FLOOR = 1e-12
"""IGCA's uniform noise is kept at or above this, so ``log u`` is finite."""

Sampler = Literal["igca", "implicit"]
KLKind = Literal["gamma", "dirichlet"]


@contextmanager
def full_precision(reference: Tensor) -> Iterator[None]:
    """Disable autocast for the enclosed block on ``reference``'s device.

    Only where autocast is on: a disabled-autocast region made every op in it
    slower (the exact KL's forward took 80 µs more, a third of its time), and
    without autocast there is nothing to disable.
    """
    device_type = reference.device.type
    if not torch.is_autocast_enabled(device_type):
        yield
        return
    with torch.autocast(device_type=device_type, enabled=False):
        yield


def floor_alpha(alpha: Tensor, floor: float = ALPHA_FLOOR) -> Tensor:
    """Cast to float32 and clamp from below, the one place α is floored.

    Flooring is for α that underflowed towards 0 (softplus of a very negative
    pre-activation); a negative α is a bug upstream, and flooring it would
    hide that, so it is an error.  NaN is left alone for the caller to count.
    """
    return floor_alpha_with_max(alpha, floor)[0]


def floor_alpha_with_max(alpha: Tensor, floor: float = ALPHA_FLOOR) -> tuple[Tensor, float]:
    """:func:`floor_alpha`, also returning the largest α: one reduction and one host sync for both.

    The exact KL needs the maximum to pick its float32 path; taking it with
    the floor's minimum saves a reduction and a sync a step.
    """
    alpha = alpha.float()
    if not alpha.numel():
        return alpha, 0.0
    smallest, largest = (float(value) for value in torch.aminmax(alpha.detach()))
    if smallest < 0:
        raise ValueError(f"Dirichlet concentration must be >= 0, got a minimum of {smallest}")
    # Already floored (the model's heads add the floor): no clamp node to run backwards.
    return (alpha if smallest >= floor else alpha.clamp_min(floor)), max(largest, floor)


def _check_simplex_axis(alpha: Tensor) -> None:
    if alpha.dim() < 2:
        raise ValueError(f"alpha must be [B, K, *rest] with the simplex on dim 1, got shape {tuple(alpha.shape)}")


def log_gamma_igca(alpha: Tensor, uniform: Tensor) -> Tensor:
    """Log of Knowles' inverse Gamma CDF approximation, F⁻¹(u; α, 1).

    ``(u α Γ(α))^{1/α}`` in log space is ``(log u + lgamma(α + 1)) / α``,
    which stays finite for α from 1e-5 to 1e4 where the direct form overflows.
    """
    return (uniform.log() + torch.lgamma(alpha + 1.0)) / alpha


def implicit_draw_forward(alpha: Tensor) -> tuple[Tensor, tuple[Tensor, Tensor, Tensor]]:
    """``log z`` of an exact draw from floored float32 ``alpha``, and what its gradient needs."""
    shape = alpha + 1.0
    boosted = torch._standard_gamma(shape).clamp_min_(torch.finfo(alpha.dtype).tiny)
    log_uniform = torch.rand_like(alpha).clamp_min_(UNIFORM_FLOOR).log_()  # 3x faster than -exponential_()
    explicit = log_uniform.div_(alpha)  # log U / α, the boosting factor's log
    log_z = torch.log_softmax(boosted.log().add_(explicit), dim=1)
    return log_z, (shape, boosted, explicit)


def implicit_draw_backward(alpha: Tensor, log_z: Tensor, saved: tuple[Tensor, Tensor, Tensor], grad: Tensor) -> Tensor:
    """``∂ log v / ∂α = ∂g/∂α / g − log U / α²``, through the log-softmax."""
    shape, boosted, explicit = saved
    grad_log_v = torch.addcmul(grad, log_z.exp(), grad.sum(dim=1, keepdim=True), value=-1.0)
    d_log_v = torch._standard_gamma_grad(shape, boosted).div_(boosted).addcdiv_(explicit, alpha, value=-1.0)
    return grad_log_v.mul_(d_log_v)


class _ImplicitLogDirichlet(torch.autograd.Function):
    """``log z`` of an exact Dirichlet draw, as one autograd node.

    Small α makes Gamma draws underflow to 0 (pytorch#76030), so the draw uses
    the boosting identity ``Gamma(α) = Gamma(α + 1) · U^{1/α}``: the
    Gamma(α + 1) draw ``g`` carries torch's implicit-reparameterisation
    gradient and ``log U / α`` is an explicit one; the result is exactly
    Gamma(α)-distributed, in log space, then normalised by a log-softmax.

    One node instead of the ten autograd would build (same random numbers,
    same gradient; the test compares them): at a latent's size a CPU spends
    its time on per-node overhead, not arithmetic.
    """

    @staticmethod
    def forward(ctx, alpha: Tensor) -> Tensor:
        log_z, saved = implicit_draw_forward(alpha)
        ctx.save_for_backward(alpha, log_z, *saved)
        return log_z

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        alpha, log_z, *saved = ctx.saved_tensors
        return implicit_draw_backward(alpha, log_z, tuple(saved), grad)


def rsample_log_dirichlet(alpha: Tensor, method: Sampler = "igca", *, floor: float = ALPHA_FLOOR) -> Tensor:
    """Log of reparameterised Dirichlet samples, ``log z`` with ``z`` on dim 1.

    Returning ``log z`` lets densities be evaluated without ``log(0)`` when a
    component underflows in float32.
    """
    _check_simplex_axis(alpha)
    with full_precision(alpha):
        alpha = floor_alpha(alpha, floor)
        if method == "igca":
            uniform = torch.rand_like(alpha).clamp_min(UNIFORM_FLOOR)
            log_v = log_gamma_igca(alpha, uniform)
        elif method == "implicit":
            return _ImplicitLogDirichlet.apply(alpha)
        else:
            raise ValueError(f"unknown sampler {method!r}; choose 'igca' or 'implicit'")
        return torch.log_softmax(log_v, dim=1)


def rsample_dirichlet(alpha: Tensor, method: Sampler = "igca", *, floor: float = ALPHA_FLOOR) -> Tensor:
    """Reparameterised samples on the simplex along dim 1 of ``alpha`` ``[B, K, *rest]``.

    ``igca`` is the paper's inverse Gamma CDF approximation (fast, biased away
    from small α, see the background notes); ``implicit`` draws exact
    Dirichlet samples with implicit reparameterisation gradients.  Both
    normalise Gamma draws with a softmax in log space, which makes a shared
    Gamma rate irrelevant: this is why the model has no ``beta`` head.
    """
    return rsample_log_dirichlet(alpha, method, floor=floor).exp()


def kl_multigamma(alpha_q: Tensor, alpha_p: Tensor, *, floor: float = ALPHA_FLOOR) -> Tensor:
    """The paper's KL between MultiGamma(α_q, 1) and MultiGamma(α_p, 1), summed on dim 1."""
    with full_precision(alpha_q):
        alpha_q = floor_alpha(alpha_q, floor).to(wide_dtype(alpha_q))
        alpha_p = floor_alpha(_expand_prior(alpha_p, alpha_q), floor).to(wide_dtype(alpha_q))
        terms = torch.lgamma(alpha_p) - torch.lgamma(alpha_q) + (alpha_q - alpha_p) * torch.digamma(alpha_q)
        return terms.sum(dim=1).float()


def kl_exact_dirichlet(alpha_q: Tensor, alpha_p: Tensor, *, floor: float = ALPHA_FLOOR) -> Tensor:
    """Exact KL(Dir(α_q) ‖ Dir(α_p)) with the simplex on dim 1.

    A shared prior vector (the model's case) is one autograd node with a
    closed-form gradient (:mod:`dirvae.latent.exact_kl`); a prior given per
    item or position goes through autograd.  Both sum in float64.
    """
    with full_precision(alpha_q):
        alpha_q = floor_alpha(alpha_q, floor)
        if alpha_p.dim() == 1:
            alpha_p = floor_alpha(alpha_p.to(alpha_q.device), floor)
            if alpha_p.shape[0] not in (1, alpha_q.shape[1]):
                raise ValueError(f"prior alpha has {alpha_p.shape[0]} components, the posterior has {alpha_q.shape[1]}")
            return exact_kl_to_shared_prior(alpha_q, alpha_p.expand(alpha_q.shape[1]))
        wide = wide_dtype(alpha_q)
        alpha_p = floor_alpha(_expand_prior(alpha_p, alpha_q), floor).to(wide)
        alpha_q = alpha_q.to(wide)
        sum_q = alpha_q.sum(dim=1)
        digamma_gap = torch.digamma(alpha_q) - torch.digamma(sum_q).unsqueeze(1)
        prior_log_norm = torch.lgamma(alpha_p.sum(dim=1)) - torch.lgamma(alpha_p).sum(dim=1)
        kl = torch.lgamma(sum_q) - torch.lgamma(alpha_q).sum(dim=1) - prior_log_norm + ((alpha_q - alpha_p) * digamma_gap).sum(dim=1)
        return kl.float()


def kl_dirichlet(alpha_q: Tensor, alpha_p: Tensor, kind: KLKind = "gamma", *, floor: float = ALPHA_FLOOR) -> Tensor:
    """KL of the posterior α_q ``[B, K, *rest]`` from the prior α_p, shape ``[B, *rest]``.

    ``alpha_p`` broadcasts: a length-K prior vector is aligned with dim 1.
    ``gamma`` is the paper's multi-Gamma KL (what DirVAE trains with);
    ``dirichlet`` is the exact Dirichlet KL.
    """
    _check_simplex_axis(alpha_q)
    if kind == "gamma":
        return kl_multigamma(alpha_q, alpha_p, floor=floor)
    if kind == "dirichlet":
        return kl_exact_dirichlet(alpha_q, alpha_p, floor=floor)
    raise ValueError(f"unknown KL kind {kind!r}; choose 'gamma' or 'dirichlet'")


def dirichlet_log_prob(log_z: Tensor, alpha: Tensor, *, floor: float = ALPHA_FLOOR) -> Tensor:
    """Dirichlet log density from ``log z`` (not ``z``), summed over dim 1.

    Taking ``log z`` avoids the NaN gradient of ``log_prob`` near the simplex's
    faces (pytorch#28441) and the -inf of a component that underflowed.
    """
    with full_precision(log_z):
        alpha = floor_alpha(_expand_prior(alpha, log_z), floor).to(wide_dtype(log_z))
        log_norm = torch.lgamma(alpha.sum(dim=1)) - torch.lgamma(alpha).sum(dim=1)
        return (log_norm + ((alpha - 1.0) * log_z.to(alpha.dtype)).sum(dim=1)).float()


def _expand_prior(alpha_p: Tensor, like: Tensor) -> Tensor:
    """Align a length-K prior vector with dim 1 of ``like``; leave full tensors alone."""
    alpha_p = alpha_p.to(device=like.device)
    if alpha_p.dim() == 1:
        if alpha_p.shape[0] not in (1, like.shape[1]):
            raise ValueError(f"prior alpha has {alpha_p.shape[0]} components, the posterior has {like.shape[1]}")
        alpha_p = alpha_p.view(1, -1, *([1] * (like.dim() - 2)))
    return alpha_p.expand_as(like)
