import pytest
import torch
from torch import nn

from dirvae.nets.image import (
    ResNetDecoder,
    ResNetEncoder,
    group_norm,
    level_sizes,
    mean_pool,
    resnet_autoencoder,
)


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize(
    ("size", "channels"),
    [((64, 64), 3), ((100, 60), 1), ((100, 60), 3), ((33, 47), 3), ((33, 47), 1), ((28, 28), 1), ((1, 1), 3)],
)
def test_round_trip_is_exactly_the_input_shape(size, channels):
    encoder, decoder = resnet_autoencoder(size, channels, model_size=8, depth=5, width=4)
    x = torch.randn(1, channels, *size)
    features = encoder(x)
    assert features.shape == (1, 8, *encoder.output_size(size))
    assert decoder(features).shape == x.shape


def test_default_pair_is_the_seeds_five_levels():
    encoder, decoder = resnet_autoencoder((64, 64))
    widths = [block.conv.out_channels for block in encoder.blocks]
    assert widths == [8, 16, 32, 64, 64]
    assert [block.mix.out_channels for block in decoder.blocks] == [64, 32, 16, 8, 3]
    assert encoder.out_channels == decoder.in_channels == 64
    x = torch.randn(2, 3, 64, 64)
    assert encoder(x).shape == (2, 64, 2, 2)
    assert decoder(encoder(x)).shape == x.shape


def test_sizes_follow_a_ceil_chain():
    assert level_sizes((100, 60), 5) == [(100, 60), (50, 30), (25, 15), (13, 8), (7, 4), (4, 2)]
    assert ResNetEncoder(1, (4,), 4).output_size(33) == (9, 9)


def test_mean_pool_matches_strided_conv_size_and_averages():
    x = torch.arange(15.0).reshape(1, 1, 3, 5)
    pooled = mean_pool(x)
    assert pooled.shape == (1, 1, 2, 3)
    assert pooled[0, 0, 0, 0] == x[0, 0, :2, :2].mean()
    # The odd edge is replicated, not zero-padded: the last column stays at its own level.
    assert pooled[0, 0, 1, 2] == x[0, 0, 2, 4]


def test_decoder_rejects_a_latent_of_the_wrong_size():
    decoder = ResNetDecoder(8, (4,), 1, image_size=(33, 47))
    assert decoder.latent_size == (9, 12)
    decoder(torch.randn(1, 8, 9, 12))
    with pytest.raises(ValueError, match="33×47"):
        decoder(torch.randn(1, 8, 8, 12))
    with pytest.raises(ValueError):
        ResNetEncoder(3)(torch.randn(1, 1, 16, 16))


def test_samples_are_independent_of_the_batch():
    # GroupNorm, not BatchNorm: a sample's output must not depend on its batch mates.
    encoder, decoder = resnet_autoencoder((20, 12), 3, model_size=8, depth=3, width=4)
    x = torch.randn(3, 3, 20, 12)
    together = decoder(encoder(x))
    alone = decoder(encoder(x[1:2]))
    torch.testing.assert_close(together[1:2], alone, rtol=1e-4, atol=1e-5)


def test_gradients_reach_every_parameter():
    encoder, decoder = resnet_autoencoder((33, 47), 3, model_size=8, depth=4, width=4)
    x = torch.randn(2, 3, 33, 47)
    nn.functional.mse_loss(decoder(encoder(x)), x).backward()
    for name, parameter in [*encoder.named_parameters(), *decoder.named_parameters()]:
        assert parameter.grad is not None, name
        assert parameter.grad.abs().sum() > 0, name


def test_group_norm_keeps_several_channels_per_group():
    assert group_norm(64).num_groups == 8
    assert group_norm(8).num_groups == 2
    assert group_norm(3).num_groups == 1
    # A 1×1 map must not be normalised to zero (InstanceNorm would be).
    assert group_norm(8)(torch.randn(1, 8, 1, 1)).abs().sum() > 0


def test_tiny_autoencoder_learns_a_low_rank_image_family():
    torch.manual_seed(0)
    size, rank = (18, 14), 4
    patterns = nn.functional.interpolate(torch.randn(rank, 1, 5, 4), size=size, mode="bilinear")

    def batch(n: int) -> torch.Tensor:
        return torch.einsum("nr,rchw->nchw", torch.randn(n, rank), patterns)

    encoder, decoder = resnet_autoencoder(size, 1, model_size=8, depth=3, width=8)
    model = nn.Sequential(encoder, nn.Conv2d(8, 8, kernel_size=1), decoder)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    held_out = batch(64)
    with torch.no_grad():
        before = nn.functional.mse_loss(model(held_out), held_out).item()
    for _ in range(120):
        x = batch(32)
        loss = nn.functional.mse_loss(model(x), x)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        after = nn.functional.mse_loss(model(held_out), held_out).item()
    assert after < 0.25 * before
