import math

import pytest
import torch
from scipy import stats

from dirvae.latent.dirichlet import (
    dirichlet_log_prob,
    kl_dirichlet,
    log_gamma_igca,
    rsample_dirichlet,
    rsample_log_dirichlet,
)


def _alpha_vector(value: float, k: int = 5) -> torch.Tensor:
    alpha = torch.full((k,), value)
    alpha[0] = value * 2
    return alpha


@pytest.mark.parametrize("value", [0.05, 0.5, 0.98, 3.0, 20.0])
def test_implicit_marginals_pass_ks_against_beta(value):
    torch.manual_seed(0)
    alpha = _alpha_vector(value)
    samples = rsample_dirichlet(alpha.expand(20000, -1).contiguous(), "implicit").double()
    total = float(alpha.sum())
    for k in (0, 3):
        a = float(alpha[k])
        result = stats.kstest(samples[:, k].numpy(), stats.beta(a, total - a).cdf)
        assert result.pvalue > 1e-3, (value, k, result)


def test_igca_is_detectably_biased_so_the_ks_test_has_power():
    # The background notes measure KS ≈ 0.19 for IGCA at α = 2; the same test must reject it.
    torch.manual_seed(0)
    alpha = torch.full((20000, 50), 2.0)
    samples = rsample_dirichlet(alpha, "igca").double()
    result = stats.kstest(samples[:, 0].numpy(), stats.beta(2.0, 98.0).cdf)
    assert result.statistic > 0.1


@pytest.mark.parametrize("value", [0.1, 0.98, 5.0])
def test_igca_gamma_draws_match_their_closed_form_cdf(value):
    # v = (u α Γ(α))^{1/α}  ⇒  P(v ≤ t) = min(1, t^α / Γ(α + 1)).
    torch.manual_seed(1)
    alpha = torch.full((20000,), value, dtype=torch.float64)
    log_v = log_gamma_igca(alpha, torch.rand_like(alpha)).numpy()
    log_norm = math.lgamma(value + 1.0)

    def cdf(t):
        import numpy as np

        t = np.maximum(t, 1e-300)
        return np.minimum(1.0, np.exp(value * np.log(t) - log_norm))

    result = stats.kstest(__import__("numpy").exp(log_v), cdf)
    assert result.pvalue > 1e-3, result


def test_igca_samples_are_the_softmax_of_igca_gamma_draws():
    alpha = torch.rand(4, 6, 3) * 3 + 0.1
    torch.manual_seed(7)
    got = rsample_log_dirichlet(alpha, "igca")
    torch.manual_seed(7)
    uniform = torch.rand_like(alpha).clamp_min(1e-12)
    expected = torch.log_softmax(log_gamma_igca(alpha, uniform), dim=1)
    torch.testing.assert_close(got, expected)


@pytest.mark.parametrize("method", ["igca", "implicit"])
def test_samples_lie_on_the_simplex_along_dim_1_of_a_field(method):
    alpha = torch.rand(3, 7, 4, 5) * 2 + 0.1
    z = rsample_dirichlet(alpha, method)
    assert z.shape == alpha.shape
    assert (z >= 0).all()
    torch.testing.assert_close(z.sum(dim=1), torch.ones(3, 4, 5))


def test_field_samples_have_the_right_mean_per_position():
    torch.manual_seed(0)
    alpha = torch.tensor([1.0, 2.0, 5.0]).view(1, 3, 1).expand(4000, 3, 2).contiguous()
    z = rsample_dirichlet(alpha, "implicit")
    torch.testing.assert_close(z.mean(dim=0), (alpha[0] / alpha[0].sum(0)), atol=0.01, rtol=0)


def test_gamma_kl_equals_sum_of_torch_gamma_kls():
    alpha_q = torch.rand(6, 5) * 4 + 0.05
    alpha_p = torch.rand(5) * 2 + 0.1
    expected = torch.distributions.kl_divergence(
        torch.distributions.Gamma(alpha_q, torch.ones_like(alpha_q)),
        torch.distributions.Gamma(alpha_p.expand_as(alpha_q), torch.ones_like(alpha_q)),
    ).sum(dim=1)
    torch.testing.assert_close(kl_dirichlet(alpha_q, alpha_p, "gamma"), expected)


def test_dirichlet_kl_equals_torch_dirichlet_kl_on_a_field():
    alpha_q = torch.rand(2, 4, 3, 3) * 4 + 0.05
    alpha_p = torch.rand(4) * 2 + 0.1
    q = torch.distributions.Dirichlet(alpha_q.movedim(1, -1))
    p = torch.distributions.Dirichlet(alpha_p.expand(2, 3, 3, 4))
    expected = torch.distributions.kl_divergence(q, p)
    got = kl_dirichlet(alpha_q, alpha_p, "dirichlet")
    assert got.shape == (2, 3, 3)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)


def test_log_prob_from_log_matches_torch():
    alpha = torch.rand(5, 4) * 3 + 0.2
    z = torch.distributions.Dirichlet(alpha).sample()
    torch.testing.assert_close(dirichlet_log_prob(z.log(), alpha), torch.distributions.Dirichlet(alpha).log_prob(z))


def test_kl_rejects_a_prior_of_the_wrong_length():
    with pytest.raises(ValueError, match="components"):
        kl_dirichlet(torch.ones(2, 4), torch.ones(3))


def test_unknown_sampler_and_kind_are_errors():
    with pytest.raises(ValueError, match="sampler"):
        rsample_dirichlet(torch.ones(2, 3), "magic")
    with pytest.raises(ValueError, match="KL kind"):
        kl_dirichlet(torch.ones(2, 3), torch.ones(3), "magic")


@pytest.mark.parametrize("value", [1e-4, 1e4])
@pytest.mark.parametrize("method", ["igca", "implicit"])
@pytest.mark.parametrize("kind", ["gamma", "dirichlet"])
def test_extreme_alpha_gives_finite_samples_kl_and_gradients(value, method, kind):
    torch.manual_seed(0)
    raw = torch.full((64, 50), value, requires_grad=True)
    z = rsample_dirichlet(raw, method)
    kl = kl_dirichlet(raw, torch.full((50,), 0.98), kind)
    assert torch.isfinite(z).all() and torch.isfinite(kl).all()
    torch.testing.assert_close(z.sum(dim=1), torch.ones(64))
    (z.pow(2).sum() + kl.sum()).backward()
    assert torch.isfinite(raw.grad).all()


def test_math_stays_float32_under_bf16_autocast():
    alpha = torch.rand(4, 5).add(0.5).bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        z = rsample_dirichlet(alpha, "implicit")
        kl = kl_dirichlet(alpha, torch.ones(5), "gamma")
    assert z.dtype == torch.float32 and kl.dtype == torch.float32


@pytest.mark.parametrize("scale", [1e3, 1e5, 1e8])
@pytest.mark.parametrize("components", [2, 20])
def test_exact_kl_keeps_its_precision_for_huge_alpha(scale, components):
    alpha_q = torch.full((1, components), scale)
    alpha_q[0, 0] *= 1.5
    prior = torch.full((components,), 0.98)
    reference = torch.distributions.kl_divergence(
        torch.distributions.Dirichlet(alpha_q.double()), torch.distributions.Dirichlet(prior.double())
    )
    torch.testing.assert_close(kl_dirichlet(alpha_q, prior, "dirichlet").double(), reference, rtol=1e-5, atol=1e-3)
    multigamma = kl_dirichlet(alpha_q, prior, "gamma").double()
    reference_gamma = (torch.lgamma(prior.double()) - torch.lgamma(alpha_q.double()) + (alpha_q.double() - prior.double()) * torch.digamma(alpha_q.double())).sum(1)
    torch.testing.assert_close(multigamma, reference_gamma, rtol=1e-6, atol=1e-3)


@pytest.mark.parametrize("bad", [-float("inf"), -1.0])
def test_negative_alpha_is_an_error_not_silently_floored(bad):
    alpha = torch.tensor([[1.0, bad, 2.0]])
    with pytest.raises(ValueError, match="concentration must be >= 0"):
        kl_dirichlet(alpha, torch.ones(3), "dirichlet")
    with pytest.raises(ValueError, match="concentration must be >= 0"):
        rsample_dirichlet(alpha, "implicit")


def test_nan_alpha_is_passed_on_for_the_caller_to_count():
    alpha = torch.tensor([[1.0, float("nan"), 2.0]])
    assert torch.isnan(kl_dirichlet(alpha, torch.ones(3), "dirichlet")).all()


def _log_gamma_exact(alpha):
    """The reference: boosted Gamma draws in log space, differentiated by autograd."""
    boosted = torch._standard_gamma(alpha + 1.0)
    uniform = torch.rand_like(alpha).clamp_min(1e-12)
    return boosted.clamp_min(torch.finfo(boosted.dtype).tiny).log() + uniform.log() / alpha


def test_fused_implicit_sampler_matches_autograd_through_the_reference_draw():
    alpha = (torch.rand(5, 7, 3) * 4 + 0.01).requires_grad_()
    weights = torch.randn(5, 7, 3)
    torch.manual_seed(3)
    (rsample_log_dirichlet(alpha, "implicit").exp() * weights).sum().backward()
    fused_grad, alpha.grad = alpha.grad.clone(), None
    torch.manual_seed(3)
    reference = torch.log_softmax(_log_gamma_exact(alpha), dim=1)
    (reference.exp() * weights).sum().backward()
    torch.manual_seed(3)
    torch.testing.assert_close(rsample_log_dirichlet(alpha.detach(), "implicit"), reference.detach())
    torch.testing.assert_close(fused_grad, alpha.grad, rtol=1e-4, atol=1e-5)
