"""The importance-sampled NLL against marginal likelihoods known in closed form."""

import math

import pytest
import torch
from torch import nn

from dirvae import DirichletVAE, GaussianLoss, MSELoss
from dirvae.evaluation import importance_sampled_nll, likelihood_info
from dirvae.losses.reconstruction import CallableLoss


# ------------------------------------------------- linear-Gaussian toy model
def linear_gaussian(k=3, d=5, sigma=0.5, *, loss=None, mean_shift=0.0, variance_scale=1.0, seed=0):
    """z ~ N(0, I), x | z ~ N(Wz + b, σ² I), with W's columns orthogonal so the exact posterior is diagonal.

    Returns the model (its encoder gives the exact posterior, or one shifted
    by ``mean_shift`` and widened by ``variance_scale``) and the closed-form p(x).
    """
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(d, k, generator=g))
    scales = torch.tensor([1.5, 0.8, 2.0])[:k]
    w = q * scales  # [D, K], WᵀW = diag(scales²)
    b = torch.randn(d, generator=g)
    posterior_variance = 1.0 / (1.0 + scales**2 / sigma**2)
    gain = posterior_variance[:, None] * w.t() / sigma**2  # [K, D]

    encoder = nn.Identity()
    encoder.out_channels = d
    decoder = nn.Linear(k, d)
    model = DirichletVAE(encoder, decoder, k, latent="gaussian", reconstruction=loss or GaussianLoss(sigma))
    with torch.no_grad():
        decoder.weight.copy_(w)
        decoder.bias.copy_(b)
        model.mean_head.weight.copy_(gain)
        model.mean_head.bias.copy_(-gain @ b + mean_shift)
        model.log_variance_head.weight.zero_()
        model.log_variance_head.bias.copy_((posterior_variance * variance_scale).log())
    marginal = torch.distributions.MultivariateNormal(b.double(), (w @ w.t() + sigma**2 * torch.eye(d)).double())
    return model.eval(), marginal


def _data(marginal, n=64, seed=1):
    torch.manual_seed(seed)
    return marginal.sample((n,)).float()


def test_exact_posterior_gives_the_exact_marginal_for_any_sample_count():
    model, marginal = linear_gaussian()
    x = _data(marginal)
    truth = -marginal.log_prob(x.double())
    for samples in (1, 7):
        estimate = importance_sampled_nll(model, x, samples, max_rows=3 * 64)  # 7 draws in chunks of 3, 3, 1
        torch.testing.assert_close(estimate.nll, truth, atol=2e-4, rtol=0)
    # With the exact posterior the ELBO is tight: −ELBO ≈ NLL (up to Monte Carlo noise in the reconstruction).
    estimate = importance_sampled_nll(model, x, 2000)
    assert abs(float((-estimate.elbo - truth).mean())) < 0.05
    torch.testing.assert_close(estimate.kl_model, estimate.kl_exact)


def test_wrong_posterior_converges_to_the_marginal_as_samples_grow():
    model, marginal = linear_gaussian(mean_shift=0.4, variance_scale=2.0)
    x = _data(marginal, n=64)
    truth = -marginal.log_prob(x.double())
    torch.manual_seed(0)
    errors = {s: float((importance_sampled_nll(model, x, s).nll - truth).mean()) for s in (1, 10, 1000)}
    # Jensen: the estimate is too high on average (~3 nats at S = 1), and the gap shrinks as S grows.
    assert errors[1] > 2.0
    assert errors[1] > 4 * errors[10] > 0
    assert abs(errors[1000]) < 0.03
    # The Monte Carlo log-weight average is the ELBO: it agrees with the analytic ELBO.
    estimate = importance_sampled_nll(model, x, 1000)
    assert abs(float((estimate.log_weight_mean - estimate.elbo).mean())) < 0.03
    assert 1 < float(estimate.effective_samples.mean()) < 1000


def test_mse_is_converted_to_a_true_gaussian_density():
    """Σ(x − y)² is the NLL of N(y, ½) minus D/2·log π; the estimator adds the constant back."""
    model, marginal = linear_gaussian(sigma=math.sqrt(0.5), loss=MSELoss())
    info = likelihood_info(model)
    assert info.name == "mse" and info.normalised
    x = _data(marginal)
    estimate = importance_sampled_nll(model, x, 3)
    torch.testing.assert_close(estimate.nll, -marginal.log_prob(x.double()), atol=2e-4, rtol=0)


# ------------------------------------------------ Dirichlet–multinomial model
class CountsToAlpha(nn.Module):
    """Encoder whose features make the model's alpha head (identity, softplus) output prior + counts + extra."""

    def __init__(self, prior, extra=0.0, floor=1e-5):
        super().__init__()
        self.prior, self.extra, self.floor = prior, extra, floor
        self.out_channels = prior.shape[0]

    def forward(self, counts):
        shape = (1, -1) + (1,) * (counts.dim() - 2)
        target = self.prior.view(shape) + counts + self.extra - self.floor
        return torch.log(torch.expm1(target))  # inverse softplus


def _categorical_nll(output, target):
    """x is a sequence of categorical draws summarised by counts: −log p(x|z) = −Σ n_k log z_k."""
    return -torch.xlogy(target, output).reshape(target.shape[0], -1).sum(dim=1)


def dirichlet_multinomial(prior, extra=0.0):
    k = prior.shape[0]
    decoder = nn.Identity()
    decoder.in_channels = k
    model = DirichletVAE(CountsToAlpha(prior, extra), decoder, k, prior_alpha=prior, reconstruction=CallableLoss(_categorical_nll), decoder_input="simplex")  # the decoder reads z as probabilities
    return model.eval()


def _log_beta(a):
    return torch.lgamma(a).sum(dim=1) - torch.lgamma(a.sum(dim=1))


def dirichlet_multinomial_nll(counts, prior):
    """−log p(x) = −[log B(α + n) − log B(α)], summed over latent positions."""
    shape = (1, -1) + (1,) * (counts.dim() - 2)
    alpha = prior.view(shape).double()
    value = _log_beta(alpha + counts.double()) - _log_beta(alpha.expand_as(counts))
    return -value.reshape(counts.shape[0], -1).sum(dim=1)


@pytest.mark.parametrize("positions", [(), (3,)])
def test_dirichlet_exact_posterior_gives_the_dirichlet_multinomial_marginal(positions):
    prior = torch.tensor([0.98, 0.5, 2.0, 1.3])
    counts = torch.randint(0, 4, (16, 4, *positions), generator=torch.Generator().manual_seed(0)).float()
    model = dirichlet_multinomial(prior)
    truth = dirichlet_multinomial_nll(counts, prior)
    for samples in (1, 5):
        torch.testing.assert_close(importance_sampled_nll(model, counts, samples).nll, truth, atol=2e-3, rtol=0)


def test_dirichlet_wrong_posterior_converges():
    prior = torch.full((4,), 0.98)
    counts = torch.randint(0, 4, (64, 4), generator=torch.Generator().manual_seed(1)).float()
    model = dirichlet_multinomial(prior, extra=-0.6)  # a wider proposal than the posterior
    truth = dirichlet_multinomial_nll(counts, prior)
    torch.manual_seed(0)
    errors = {s: float((importance_sampled_nll(model, counts, s).nll - truth).mean()) for s in (1, 10, 1000)}
    assert errors[1] > 0.3
    assert abs(errors[10]) < errors[1] / 3
    assert abs(errors[1000]) < 0.03
    estimate = importance_sampled_nll(model, counts, 1)
    assert bool((estimate.kl_model >= estimate.kl_exact - 1e-4).all())  # multi-Gamma KL ≥ Dirichlet KL


def test_decoder_ignoring_z_and_encoder_at_the_prior():
    """p(x) = p(x|·) when the decoder ignores z; with q = prior every weight is exactly p(x|·)."""
    prior = torch.full((3,), 0.98)

    class ZeroFeatures(nn.Module):
        out_channels = 3

        def forward(self, x):
            return torch.log(torch.expm1(prior - 1e-5)).expand(x.shape[0], 3)

    class Constant(nn.Module):
        in_channels = 3

        def __init__(self):
            super().__init__()
            self.logits = nn.Parameter(torch.tensor([0.3, -1.0, 2.0, 0.0, 0.5]))

        def forward(self, h):
            return self.logits.expand(h.shape[0], -1)

    decoder = Constant()
    model = DirichletVAE(ZeroFeatures(), decoder, 3, reconstruction="bernoulli").eval()
    x = (torch.rand(8, 5) > 0.5).float()
    truth = nn.functional.binary_cross_entropy_with_logits(decoder.logits.expand(8, -1), x, reduction="none").sum(1)
    torch.testing.assert_close(importance_sampled_nll(model, x, 4).nll, truth.double(), atol=1e-4, rtol=0)
