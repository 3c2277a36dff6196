import pytest
import torch
from torch.distributions import Dirichlet, Independent, Normal, kl_divergence

from dirvae.latent.posterior import DirichletPosterior, GaussianPosterior


def test_dirichlet_posterior_is_a_torch_distribution_with_the_simplex_on_dim_1():
    alpha = torch.tensor([[2.0, 3.0, 5.0]])
    posterior = DirichletPosterior(alpha, "implicit")
    assert isinstance(posterior, torch.distributions.Distribution)
    assert posterior.batch_shape == (1,) and posterior.event_shape == (3,)
    torch.testing.assert_close(posterior.mean, torch.tensor([[0.2, 0.3, 0.5]]))
    torch.testing.assert_close(posterior.mode, torch.tensor([[1 / 7, 2 / 7, 4 / 7]]))
    reference = Dirichlet(alpha)
    torch.testing.assert_close(posterior.variance, reference.variance)
    torch.testing.assert_close(posterior.entropy(), reference.entropy())
    z = reference.sample((4,))
    torch.testing.assert_close(posterior.log_prob(z), reference.log_prob(z))
    assert posterior.sample((5,)).shape == (5, 1, 3)
    assert not posterior.sample().requires_grad


def test_a_field_is_one_event_per_item_and_matches_torch_after_moving_the_simplex_last():
    alpha = torch.rand(2, 4, 3, 5) * 3 + 0.2
    posterior = DirichletPosterior(alpha, "implicit")
    assert posterior.batch_shape == (2,) and posterior.event_shape == (4, 3, 5)
    reference = posterior.to_torch()
    assert isinstance(reference, Independent) and reference.batch_shape == (2,)
    z = posterior.sample((6,))
    assert z.shape == (6, 2, 4, 3, 5)
    torch.testing.assert_close(z.sum(dim=2), torch.ones(6, 2, 3, 5))
    torch.testing.assert_close(posterior.log_prob(z), reference.log_prob(z.movedim(2, -1)), rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(posterior.entropy(), reference.entropy(), rtol=1e-4, atol=1e-3)
    prior = Dirichlet(torch.full((4,), 0.9))
    expected = kl_divergence(reference, Independent(prior.expand((2, 3, 5)), 2))
    torch.testing.assert_close(kl_divergence(posterior, prior), expected, rtol=1e-4, atol=1e-3)


def test_rsample_carries_gradients_to_alpha_for_both_samplers():
    for sampler in ("implicit", "igca"):
        raw = torch.randn(3, 5, requires_grad=True)
        DirichletPosterior(torch.nn.functional.softplus(raw), sampler).rsample().square().sum().backward()
        assert raw.grad is not None and torch.isfinite(raw.grad).all() and raw.grad.abs().sum() > 0


def test_mode_on_a_face_and_at_a_vertex():
    posterior = DirichletPosterior(torch.tensor([[0.5, 3.0, 2.0], [0.5, 0.9, 0.3]]))
    torch.testing.assert_close(posterior.mode, torch.tensor([[0.0, 2 / 3, 1 / 3], [0.0, 1.0, 0.0]]))


def test_kl_divergence_dispatches_to_the_exact_kl_for_torch_and_own_priors():
    alpha = torch.rand(4, 6) * 5 + 0.1
    prior_alpha = torch.rand(6) + 0.5
    q = DirichletPosterior(alpha)
    expected = kl_divergence(Dirichlet(alpha), Dirichlet(prior_alpha))
    torch.testing.assert_close(kl_divergence(q, Dirichlet(prior_alpha)), expected)
    torch.testing.assert_close(kl_divergence(q, DirichletPosterior(prior_alpha.expand(4, 6))), expected)
    torch.testing.assert_close(q.kl(prior_alpha), expected)


def test_gaussian_posterior_kl_log_prob_entropy_match_torch():
    mean, log_var = torch.randn(4, 3), torch.randn(4, 3)
    posterior = GaussianPosterior(mean, log_var)
    normal = Normal(mean, (0.5 * log_var).exp())
    expected = kl_divergence(normal, Normal(0.0, 1.0)).sum(1)
    torch.testing.assert_close(posterior.kl(), expected)
    torch.testing.assert_close(kl_divergence(posterior, Independent(Normal(torch.zeros(3), torch.ones(3)), 1)), expected)
    z = posterior.sample()
    torch.testing.assert_close(posterior.log_prob(z), normal.log_prob(z).sum(1))
    torch.testing.assert_close(posterior.entropy(), normal.entropy().sum(1))
    assert posterior.rsample((2,)).shape == (2, 4, 3)


def test_a_posterior_without_the_simplex_axis_is_an_error():
    with pytest.raises(ValueError, match=r"\[B, K, \*rest\]"):
        DirichletPosterior(torch.ones(5))
