import pytest
import torch

from dirvae.latent.dirichlet import kl_dirichlet, rsample_log_dirichlet
from dirvae.latent.fused import rsample_log_dirichlet_with_exact_kl
from dirvae.latent.posterior import DirichletPosterior


def _separate(alpha, prior, weights, kl_weights, seed):
    torch.manual_seed(seed)
    log_z = rsample_log_dirichlet(alpha, "implicit")
    kl = kl_dirichlet(alpha, prior, "dirichlet")
    return log_z, kl, (log_z.exp() * weights).sum() + (kl * kl_weights).sum()


def _fused(alpha, prior, weights, kl_weights, seed):
    torch.manual_seed(seed)
    log_z, kl = rsample_log_dirichlet_with_exact_kl(alpha, prior)
    return log_z, kl, (log_z.exp() * weights).sum() + (kl * kl_weights).sum()


@pytest.mark.parametrize("shape", [(6, 5), (3, 4, 2, 3)])
@pytest.mark.parametrize("scale", [0.3, 30.0])  # below 10 (float32 terms) and above (float64 terms)
def test_fused_draw_and_kl_equal_the_separate_ones_in_values_and_gradients(shape, scale):
    torch.manual_seed(0)
    raw = (torch.rand(shape) * scale + 1e-3).requires_grad_()
    log_prior = torch.randn(shape[1]).mul(0.5).requires_grad_()
    weights = torch.randn(shape)
    kl_weights = torch.randn(shape[:1] + shape[2:])
    results = []
    for run in (_separate, _fused):
        log_z, kl, total = run(raw, log_prior.exp(), weights, kl_weights, seed=7)
        total.backward()
        results.append((log_z.detach(), kl.detach(), raw.grad.clone(), log_prior.grad.clone()))
        raw.grad = log_prior.grad = None
    for separate, fused in zip(*results):
        torch.testing.assert_close(fused, separate, rtol=1e-5, atol=1e-6)


def test_only_the_draw_or_only_the_kl_can_be_differentiated():
    alpha = (torch.rand(4, 3) + 0.5).requires_grad_()
    log_z, kl = rsample_log_dirichlet_with_exact_kl(alpha, torch.ones(3))
    log_z.exp()[:, 0].sum().backward()
    assert torch.isfinite(alpha.grad).all() and alpha.grad.abs().sum() > 0
    alpha.grad = None
    log_z, kl = rsample_log_dirichlet_with_exact_kl(alpha, torch.ones(3))
    kl.sum().backward()
    torch.testing.assert_close(alpha.grad, torch.autograd.grad(kl_dirichlet(alpha, torch.ones(3), "dirichlet").sum(), alpha)[0])


def test_a_negative_alpha_or_a_wrong_prior_is_an_error():
    with pytest.raises(ValueError, match=">= 0"):
        rsample_log_dirichlet_with_exact_kl(torch.tensor([[1.0, -0.5]]), torch.ones(2))
    with pytest.raises(ValueError, match="vector of 2 values"):
        rsample_log_dirichlet_with_exact_kl(torch.ones(3, 2), torch.ones(3))


@pytest.mark.parametrize("sampler,kind", [("implicit", "dirichlet"), ("igca", "gamma"), ("igca", "dirichlet"), ("implicit", "gamma")])
def test_posterior_rsample_with_kl_matches_rsample_then_kl_for_every_recipe(sampler, kind):
    alpha = torch.rand(5, 4, 3) + 0.2
    prior = torch.full((4,), 0.9)
    posterior = DirichletPosterior(alpha, sampler)
    torch.manual_seed(1)
    z, kl = posterior.rsample_with_kl(prior, kind)
    torch.manual_seed(1)
    torch.testing.assert_close(z, posterior.rsample())
    torch.testing.assert_close(kl, posterior.kl(prior, kind))
    assert z.shape == (5, 4, 3) and kl.shape == (5,)
