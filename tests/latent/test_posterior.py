import torch

from dirvae.latent.posterior import DirichletPosterior, GaussianPosterior


def test_dirichlet_posterior_mean_mode_sample_kl():
    alpha = torch.tensor([[2.0, 3.0, 5.0]])
    posterior = DirichletPosterior(alpha, "implicit")
    torch.testing.assert_close(posterior.mean, torch.tensor([[0.2, 0.3, 0.5]]))
    torch.testing.assert_close(posterior.mode(), torch.tensor([[1 / 7, 2 / 7, 4 / 7]]))
    assert posterior.sample().shape == (1, 3)
    exact = torch.distributions.kl_divergence(
        torch.distributions.Dirichlet(alpha), torch.distributions.Dirichlet(torch.ones(1, 3))
    )
    torch.testing.assert_close(posterior.kl(torch.ones(3), "dirichlet"), exact)


def test_gaussian_posterior_kl_and_log_prob_match_torch():
    mean, log_var = torch.randn(4, 3), torch.randn(4, 3)
    posterior = GaussianPosterior(mean, log_var)
    normal = torch.distributions.Normal(mean, (0.5 * log_var).exp())
    expected = torch.distributions.kl_divergence(normal, torch.distributions.Normal(0.0, 1.0)).sum(1)
    torch.testing.assert_close(posterior.kl(), expected)
    z = posterior.sample()
    torch.testing.assert_close(posterior.log_prob(z), normal.log_prob(z).sum(1))
