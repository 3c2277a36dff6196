import math

import pytest
import torch

from dirvae.losses.reconstruction import (
    LOSSES,
    SCALE_GAIN,
    BernoulliLoss,
    DiscretizedLogisticLoss,
    GaussianLoss,
    ReconstructionLoss,
    make_reconstruction_loss,
)

pytestmark = pytest.mark.usefixtures("one_thread")

LEVELS = torch.arange(256, dtype=torch.float64) / 255


def _logistic(log_scales, channels=None):
    loss = DiscretizedLogisticLoss(channels=channels)
    with torch.no_grad():
        loss.log_scale.copy_(torch.as_tensor(log_scales, dtype=torch.float32) / loss.gain)
    return loss


@pytest.mark.parametrize("location", [0.0, 0.3, 0.5, 1.0, -0.4, 1.6, 0.5 / 255])
def test_discretised_logistic_puts_probability_one_on_the_256_levels(location):
    loss = _logistic([-7.0, -3.0, 0.5], channels=3)  # a spike, a photo-like spread, nearly flat
    target = LEVELS.float().view(256, 1, 1).expand(256, 3, 1)
    log_p = loss.log_prob(torch.full((256, 3, 1), location), target)
    assert torch.isfinite(log_p).all()
    torch.testing.assert_close(log_p.double().exp().sum(dim=0).flatten(), torch.ones(3, dtype=torch.float64), atol=2e-5, rtol=0)  # float32 math


def test_discretised_logistic_edges_reach_infinity_and_the_nll_is_the_summed_log_probability():
    loss = _logistic(math.log(0.05))
    output = torch.tensor([[[[0.0, 1.0]]]])
    # The edge bins hold the tails: half the mass below 0.5/255 when the location is 0.
    p = loss.log_prob(output, torch.tensor([[[[0.0, 1.0]]]])).exp()
    expected = torch.sigmoid(torch.tensor(0.5 / 255 / 0.05))
    torch.testing.assert_close(p, torch.full_like(p, float(expected)))
    x = torch.rand(4, 3, 5, 6)
    mu = torch.rand(4, 3, 5, 6)
    nll = loss(mu, x)
    assert nll.shape == (4,)
    torch.testing.assert_close(nll, -loss.log_prob(mu, x).sum(dim=(1, 2, 3)))
    # A target between levels is scored as its nearest level (8-bit data).
    torch.testing.assert_close(loss(mu, x), loss(mu, (x * 255).round() / 255))


def test_discretised_logistic_is_finite_with_gradients_far_from_the_data():
    loss = _logistic([-9.0, 0.0, 3.0], channels=3)
    output = torch.tensor([-50.0, 0.5, 60.0]).view(1, 3, 1, 1).expand(2, 3, 1, 1).clone().requires_grad_()
    target = torch.tensor([1.0, 0.5, 0.0]).view(1, 3, 1, 1).expand(2, 3, 1, 1)
    nll = loss(output, target)
    nll.sum().backward()
    assert torch.isfinite(nll).all() and torch.isfinite(output.grad).all() and torch.isfinite(loss.log_scale.grad).all()


def test_discretised_logistic_mean_and_channels():
    loss = make_reconstruction_loss("logistic", channels=3)
    assert isinstance(loss, DiscretizedLogisticLoss) and loss.log_scale.shape == (3,)
    assert make_reconstruction_loss("logistic").log_scale.shape == ()
    assert torch.equal(loss.mean(torch.tensor([-0.5, 0.25, 1.5])), torch.tensor([0.0, 0.25, 1.0]))
    with pytest.raises(ValueError, match="3 channels"):
        loss(torch.zeros(2, 1, 4, 4), torch.zeros(2, 1, 4, 4))


def _gaussian_mass(loss, mean, channels):
    grid = torch.linspace(-3.0, 4.0, 70_001, dtype=torch.float64)  # fine grid, covers ±10σ of every scale below
    target = grid.view(-1, 1).expand(-1, channels).reshape(-1, channels, 1)
    density = (-loss(torch.full_like(target, mean).float(), target.float())).double().exp()
    return torch.trapezoid(density.view(-1, channels) if channels > 1 else density.view(-1, 1), grid, dim=0)


@pytest.mark.parametrize("mean", [0.0, 0.45, 1.0])
def test_gaussian_is_a_normalised_density(mean):
    # One value per item and channel, so each per-sample NLL is the log-density of one number.
    global_scale = GaussianLoss(initial_scale=0.1)
    assert global_scale.log_scale.shape == ()  # what "gaussian" has always saved
    per_channel = GaussianLoss(channels=2, gain=SCALE_GAIN)
    with torch.no_grad():
        per_channel.log_scale.copy_(torch.tensor([math.log(0.05), math.log(0.3)]) / SCALE_GAIN)
    mass = _gaussian_mass(global_scale, mean, 1)
    torch.testing.assert_close(mass, torch.ones_like(mass), atol=1e-4, rtol=0)
    for channel, scale in enumerate((0.05, 0.3)):
        one = GaussianLoss(initial_scale=scale)
        torch.testing.assert_close(_gaussian_mass(one, mean, 1), torch.ones(1, dtype=torch.float64), atol=1e-4, rtol=0)
    x = torch.rand(3, 2, 4, 4)
    mu = torch.rand(3, 2, 4, 4)
    by_channel = per_channel(mu, x)
    parts = [GaussianLoss(initial_scale=s)(mu[:, c : c + 1], x[:, c : c + 1]) for c, s in enumerate((0.05, 0.3))]
    torch.testing.assert_close(by_channel, parts[0] + parts[1])


def test_every_builtin_names_itself_for_run_configs():
    assert set(LOSSES.names()) >= {"mse", "bernoulli", "bce", "gaussian", "logistic", "stft"}
    for name in LOSSES.names():
        cls = LOSSES[name]
        assert LOSSES[cls.config_name] is cls, name
    assert BernoulliLoss.config_name == "bernoulli"
    assert make_reconstruction_loss("stft").config_name == "stft"


def test_a_user_loss_with_a_config_name_registers_itself_and_builds_by_name():
    class HuberLoss(ReconstructionLoss):
        config_name = "test-huber"

        def forward(self, output, target):
            return torch.nn.functional.huber_loss(output, target, reduction="none").flatten(1).sum(1)

    assert isinstance(make_reconstruction_loss("test-huber"), HuberLoss)
    with pytest.raises(ValueError, match="unknown reconstruction loss 'nope'"):
        make_reconstruction_loss("nope")


# ------------------------------------------------------------ per-pixel scale
def test_a_saved_scale_without_pixel_scale_is_one_scale_per_channel_as_before():
    old = GaussianLoss(channels=3, gain=SCALE_GAIN)  # the options a run saved before pixel_scale existed
    assert old.scale_net is None and "pixel_scale" not in old.config_options()
    assert not any(name.startswith("scale_net") for name in old.state_dict())
    output, target = torch.rand(2, 3, 5, 6), torch.rand(2, 3, 5, 6)
    sigma = old.scale_log().exp().view(1, 3, 1, 1)
    expected = (0.5 * ((target - output) / sigma) ** 2 + sigma.log() + 0.5 * math.log(2 * math.pi)).sum(dim=(1, 2, 3))
    torch.testing.assert_close(old(output, target), expected)


def test_pixel_scale_starts_as_the_per_channel_scale_and_is_recorded():
    torch.manual_seed(0)
    pixel = GaussianLoss(channels=3, gain=SCALE_GAIN, pixel_scale=8)
    plain = GaussianLoss(channels=3, gain=SCALE_GAIN)
    output, target = torch.rand(2, 3, 5, 6), torch.rand(2, 3, 5, 6)
    torch.testing.assert_close(pixel(output, target), plain(output, target))
    assert pixel.config_options()["pixel_scale"] == 8
    rebuilt = make_reconstruction_loss("gaussian", **pixel.config_options())
    assert rebuilt.state_dict().keys() == pixel.state_dict().keys()
    with pytest.raises(ValueError, match="images"):
        pixel(torch.rand(2, 3, 7), torch.rand(2, 3, 7))


def test_pixel_scale_learns_a_small_sigma_where_the_data_is_smooth_and_a_large_one_on_texture():
    """Left half dark and noisy (σ 0.2), right half bright and clean (σ 0.01): one σ per channel cannot fit both."""
    torch.manual_seed(0)
    mean = torch.cat([torch.full((8, 1, 8, 4), 0.2), torch.full((8, 1, 8, 4), 0.8)], dim=-1)
    noise = torch.cat([torch.full((1, 1, 8, 4), 0.2), torch.full((1, 1, 8, 4), 0.01)], dim=-1)
    pixel = GaussianLoss(channels=1, gain=SCALE_GAIN, pixel_scale=8)
    plain = GaussianLoss(channels=1, gain=SCALE_GAIN)
    for loss in (pixel, plain):
        optimiser = torch.optim.Adam(loss.parameters(), lr=1e-2)
        for _ in range(400):
            target = mean + noise * torch.randn_like(mean)
            optimiser.zero_grad()
            loss(mean, target).mean().backward()
            optimiser.step()
    with torch.no_grad():
        sigma = pixel.log_scale_for(mean, mean).exp()[0, 0]
        left, right = float(sigma[:, 1:3].mean()), float(sigma[:, 5:7].mean())  # away from the edge the 3×3 convs see
        assert 0.1 < left < 0.4 and right < 0.03
        target = mean + noise * torch.randn_like(mean)
        assert float(pixel(mean, target).mean()) < float(plain(mean, target).mean()) - 20


def test_with_pixel_scale_the_location_gets_the_per_channel_gradient_and_the_value_stays_the_nll():
    torch.manual_seed(0)
    pixel = GaussianLoss(channels=2, gain=SCALE_GAIN, pixel_scale=4)
    with torch.no_grad():
        pixel.scale_net[2].bias.copy_(torch.tensor([1.0, -1.0]))  # σ per pixel ≠ σ per channel
    output = torch.rand(3, 2, 5, 5, requires_grad=True)
    target = torch.rand(3, 2, 5, 5)
    value = pixel(output, target)
    log_sigma = pixel.log_scale_for(output, target)
    expected = (0.5 * ((target - output) / log_sigma.exp()) ** 2 + log_sigma + 0.5 * math.log(2 * math.pi)).sum(dim=(1, 2, 3))
    torch.testing.assert_close(value, expected)
    value.sum().backward()
    channel_variance = (2 * log_sigma).exp().mean(dim=(0, 2, 3), keepdim=True)
    torch.testing.assert_close(output.grad, ((output - target) / channel_variance).detach())


def test_dirvae_train_gives_a_gaussian_on_images_a_per_pixel_scale_and_audio_none():
    from dirvae.losses.reconstruction import PIXEL_SCALE, default_loss_options

    assert default_loss_options("gaussian", (3, 16, 16)) == {"channels": 3, "gain": SCALE_GAIN, "pixel_scale": PIXEL_SCALE}
    assert default_loss_options("gaussian", (1, 4096)) == {"channels": 1, "gain": SCALE_GAIN}
    assert "pixel_scale" not in default_loss_options("logistic", (3, 16, 16))
