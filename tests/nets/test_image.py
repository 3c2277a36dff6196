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


def test_group_norm_keeps_several_channels_per_group():
    assert group_norm(64).num_groups == 8
    assert group_norm(8).num_groups == 2
    assert group_norm(3).num_groups == 1
    # A 1×1 map must not be normalised to zero (InstanceNorm would be).
    assert group_norm(8)(torch.randn(1, 8, 1, 1)).abs().sum() > 0


# ------------------------------------------------------------ residual-block nets
from dirvae.nets.image import ResBlockDecoder, ResBlockEncoder, resblock_autoencoder  # noqa: E402


@pytest.mark.parametrize(
    ("size", "channels"),
    [((64, 64), 3), ((50, 70), 3), ((33, 47), 1), ((28, 28), 1), ((7, 5), 3), ((1, 1), 3)],
)
@pytest.mark.parametrize("upsample", ["nearest", "bilinear"])
def test_resblock_round_trip_is_exactly_the_input_shape(size, channels, upsample):
    encoder, decoder = resblock_autoencoder(size, channels, model_size=8, widths=(8, 16, 16), upsample=upsample)
    x = torch.rand(2, channels, *size)
    features = encoder(x)
    assert features.shape == (2, 8, *encoder.output_size(size))
    assert decoder(features).shape == x.shape


def test_bilinear_upsampling_blends_neighbours_where_nearest_repeats_them():
    from dirvae.nets.image import upsample

    ramp = torch.arange(4.0).reshape(1, 1, 1, 4).expand(1, 1, 3, 4)
    nearest = upsample(ramp, (5, 7), "nearest")
    bilinear = upsample(ramp, (5, 7), "bilinear")
    assert nearest.shape == bilinear.shape == (1, 1, 5, 7)
    assert torch.equal(nearest[0, 0, 0], torch.tensor([0.0, 0, 1, 1, 2, 2, 3]))
    # Bilinear ×2 (align_corners=False): output pixels sit a quarter of a step from each input.
    torch.testing.assert_close(bilinear[0, 0, 0], torch.tensor([0.0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75]))
    with pytest.raises(ValueError, match="upsample"):
        resblock_autoencoder(16, 3, model_size=4, widths=(8,), upsample="cubic")


def test_resblock_default_is_an_8x8_field_at_64():
    encoder, decoder = resblock_autoencoder(64, 3, model_size=16)
    assert encoder.output_size(64) == (8, 8) == decoder.latent_size
    assert encoder(torch.rand(1, 3, 64, 64)).shape == (1, 16, 8, 8)
    with pytest.raises(ValueError, match="64×64"):
        decoder(torch.rand(1, 16, 4, 4))
    with pytest.raises(ValueError):
        ResBlockEncoder(3, (8,))(torch.rand(1, 1, 8, 8))
    with pytest.raises(ValueError):
        ResBlockDecoder(4, (0,), image_size=8)


def test_resblock_output_is_raw_and_independent_of_the_batch():
    encoder, decoder = resblock_autoencoder((20, 12), 3, model_size=8, widths=(8, 16))
    with torch.no_grad():
        decoder.head.bias.fill_(3.0)  # no clamp or squashing on the training path
    x = torch.rand(3, 3, 20, 12)
    together = decoder(encoder(x))
    assert together.max() > 1.5
    torch.testing.assert_close(together[1:2], decoder(encoder(x[1:2])), rtol=1e-4, atol=1e-5)


def test_old_resnet_runs_keep_their_meaning_and_resblock_is_registered():
    from dirvae.nets.registry import ARCHITECTURES, build_networks

    encoder, _ = build_networks("resnet", {"image_size": [64, 64], "in_channels": 3, "model_size": 64})
    assert isinstance(encoder, ResNetEncoder) and [b.conv.out_channels for b in encoder.blocks] == [8, 16, 32, 64, 64]
    assert "resblock" in ARCHITECTURES
    encoder, decoder = build_networks("resblock", {"image_size": [50, 70], "in_channels": 3, "model_size": 8, "widths": [8, 16]})
    assert isinstance(encoder, ResBlockEncoder) and isinstance(decoder, ResBlockDecoder)
    assert decoder(encoder(torch.rand(1, 3, 50, 70))).shape == (1, 3, 50, 70)


def _shapes(n: int, size: int, seed: int) -> torch.Tensor:
    """``n`` RGB images: one to three coloured rectangles or ellipses on a coloured background."""
    import numpy as np
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    colour = lambda: tuple(int(c) for c in rng.integers(0, 256, 3))  # noqa: E731
    images = []
    for _ in range(n):
        image = Image.new("RGB", (size, size), colour())
        draw = ImageDraw.Draw(image)
        for _ in range(rng.integers(1, 4)):
            left, top = (int(v) for v in rng.integers(0, size - 8, 2))
            width, height = (int(v) for v in rng.integers(size // 5, size // 2, 2))
            shape = draw.rectangle if rng.random() < 0.5 else draw.ellipse
            shape([left, top, left + width, top + height], fill=colour())
        images.append(torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1))
    return torch.stack(images).float() / 255


def test_resblock_dirvae_learns_coloured_shapes_beyond_their_mean_colour():
    # Issue 10: on photos the seed's nets stayed below painting each image its
    # mean colour.  A short run here must clear that baseline, colours and all.
    import math

    from dirvae import DirichletVAE, GradientSanitizer, make_optimizer
    from dirvae.losses.reconstruction import SCALE_GAIN, make_reconstruction_loss

    x = _shapes(64, 32, seed=0)
    psnr = lambda estimate: 10 * math.log10(1 / float(((estimate - x) ** 2).mean()))  # noqa: E731
    baseline = psnr(x.mean(dim=(2, 3), keepdim=True))
    torch.manual_seed(0)
    encoder, decoder = resblock_autoencoder(32, 3, model_size=8, widths=(16, 32))
    likelihood = make_reconstruction_loss("gaussian", channels=3, gain=SCALE_GAIN)  # what dirvae train uses
    model = DirichletVAE(encoder, decoder, 8, reconstruction=likelihood)
    optimizer, sanitizer = make_optimizer(model.parameters(), 1e-3), GradientSanitizer(1.0)
    generator = torch.Generator().manual_seed(0)
    for _ in range(200):
        batch = x[torch.randperm(64, generator=generator)[:16]]
        terms = model.loss(batch)
        optimizer.zero_grad()
        terms.total.backward()
        sanitizer(model.parameters())
        optimizer.step()
    model.eval()
    with torch.no_grad():
        reconstruction = model.decode(model.encode(x).mean)
    assert psnr(reconstruction.clamp(0, 1)) > baseline + 1.5
