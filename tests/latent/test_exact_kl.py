import pytest
import torch

from dirvae.latent.exact_kl import exact_kl_to_shared_prior


def _reference(alpha_q, alpha_p):
    q = torch.distributions.Dirichlet(alpha_q.double().movedim(1, -1))
    return torch.distributions.kl_divergence(q, torch.distributions.Dirichlet(alpha_p.double()))


@pytest.mark.parametrize("scale", [1e-3, 0.1, 1.0, 9.0, 30.0, 1e3, 1e5, 1e8])
def test_float32_kl_matches_float64_to_a_relative_1e_5(scale):
    torch.manual_seed(0)
    alpha_q = (torch.rand(4, 20, 3) + 0.5) * scale
    alpha_p = torch.rand(20) + 0.2
    reference = _reference(alpha_q, alpha_p)
    kl = exact_kl_to_shared_prior(alpha_q, alpha_p)
    assert kl.dtype == torch.float32 and kl.shape == (4, 3)
    assert float(((kl.double() - reference).abs() / reference.abs().clamp_min(1.0)).max()) < 1e-5


def test_float32_kl_matches_float64_when_posterior_components_span_eight_decades():
    alpha_q = torch.logspace(-3, 8, 12).reshape(1, 12).repeat(2, 1)
    alpha_q[1] = alpha_q[1].flip(0)
    alpha_p = torch.full((12,), 0.7)
    reference = _reference(alpha_q, alpha_p)
    kl = exact_kl_to_shared_prior(alpha_q, alpha_p)
    assert float(((kl.double() - reference).abs() / reference.abs()).max()) < 1e-5


def test_closed_form_gradients_pass_gradcheck_for_posterior_and_learned_prior():
    torch.manual_seed(1)
    alpha_q = (torch.rand(3, 5, 2, dtype=torch.float64) * 20 + 0.05).requires_grad_()
    alpha_p = (torch.rand(5, dtype=torch.float64) + 0.3).requires_grad_()
    assert torch.autograd.gradcheck(exact_kl_to_shared_prior, (alpha_q, alpha_p))


def test_a_prior_of_the_wrong_shape_is_an_error():
    with pytest.raises(ValueError, match="vector of 4 values"):
        exact_kl_to_shared_prior(torch.ones(2, 4), torch.ones(3))


def test_posteriors_below_ten_take_the_float32_terms_and_stay_within_1e_5_of_float64():
    torch.manual_seed(2)
    for components in (2, 20, 64):
        alpha_q = torch.empty(32, components).uniform_(-7, 2.3).exp()  # 1e-3 to 9.97
        alpha_p = torch.empty(components).uniform_(-3, 2).exp()
        reference = _reference(alpha_q, alpha_p)
        kl = exact_kl_to_shared_prior(alpha_q, alpha_p)
        assert float(((kl.double() - reference).abs() / reference.abs().clamp_min(1.0)).max()) < 1e-5
