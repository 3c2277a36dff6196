import pytest
import torch

from dirvae.latent.moments import OnlineAlphaEstimator, estimate_alpha


def test_estimate_recovers_known_alpha_within_five_percent():
    torch.manual_seed(0)
    alpha = torch.tensor([0.3, 0.98, 2.0, 5.0, 0.7])
    samples = torch.distributions.Dirichlet(alpha).sample((100_000,))
    estimate = estimate_alpha(samples)
    assert ((estimate - alpha).abs() / alpha).max() < 0.05, estimate


def test_estimate_accepts_a_latent_field():
    torch.manual_seed(0)
    alpha = torch.tensor([1.0, 3.0, 0.5])
    samples = torch.distributions.Dirichlet(alpha).sample((5000, 2, 2)).movedim(-1, 1)
    assert ((estimate_alpha(samples) - alpha).abs() / alpha).max() < 0.05


def test_online_estimate_equals_batch_estimate_and_counts_rejected_rows():
    torch.manual_seed(0)
    samples = torch.distributions.Dirichlet(torch.tensor([0.5, 2.0, 4.0])).sample((3000,))
    online = OnlineAlphaEstimator(3)
    for chunk in samples.split(256):
        online.update(chunk)
    bad = torch.full((2, 3), float("nan"))
    online.update(bad)
    torch.testing.assert_close(online.estimate(), estimate_alpha(samples), rtol=1e-5, atol=1e-6)
    assert int(online.rejected) == 2
    state = online.state_dict()
    restored = OnlineAlphaEstimator(3)
    restored.load_state_dict(state)
    torch.testing.assert_close(restored.estimate(), online.estimate())


def test_online_estimate_needs_samples():
    with pytest.raises(RuntimeError):
        OnlineAlphaEstimator(3).estimate()
