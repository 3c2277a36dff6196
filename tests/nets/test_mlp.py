import pytest
import torch
from torch import nn

from dirvae.nets.mlp import MLPDecoder, MLPEncoder, mlp_autoencoder


pytestmark = pytest.mark.usefixtures("one_thread")


def _linear_shapes(module: nn.Module) -> list[tuple[int, int]]:
    return [(m.in_features, m.out_features) for m in module.modules() if isinstance(m, nn.Linear)]


def test_paper_pair_has_the_benchmark_layer_widths():
    encoder, decoder = mlp_autoencoder((1, 28, 28), model_size=50)
    assert _linear_shapes(encoder) == [(784, 500), (500, 500)]
    assert _linear_shapes(decoder) == [(50, 500), (500, 500), (500, 784)]
    assert encoder.out_channels == 500
    assert decoder.in_channels == 50
    assert all(isinstance(m, nn.ReLU) for m in encoder.net[1::2])


def test_round_trip_shapes_including_batch_one():
    encoder, decoder = mlp_autoencoder((1, 28, 28), model_size=50)
    for batch in (1, 5):
        x = torch.rand(batch, 1, 28, 28)
        features = encoder(x)
        assert features.shape == (batch, 500)
        assert decoder(torch.rand(batch, 50)).shape == x.shape


def test_out_features_appends_a_linear_layer_without_activation():
    encoder = MLPEncoder(12, hidden=(16,), out_features=5)
    assert _linear_shapes(encoder) == [(12, 16), (16, 5)]
    assert encoder.out_channels == 5
    assert isinstance(encoder.net[-1], nn.Linear)
    # A linear last layer can emit negative features; a ReLU one could not.
    assert (encoder(torch.randn(64, 12)) < 0).any()


def test_flat_input_shape_and_decoder_hidden_widths_are_free():
    encoder = MLPEncoder(10, hidden=(7, 3))
    decoder = MLPDecoder(4, hidden=(), output_shape=(2, 5))
    assert encoder(torch.randn(2, 10)).shape == (2, 3)
    assert _linear_shapes(decoder) == [(4, 10)]
    assert decoder(torch.randn(2, 4)).shape == (2, 2, 5)


def test_wrong_shapes_are_refused_with_the_expected_shape():
    encoder, decoder = mlp_autoencoder((1, 28, 28), model_size=50, hidden=(8,))
    with pytest.raises(ValueError, match="1, 28, 28"):
        encoder(torch.rand(2, 784))
    with pytest.raises(ValueError, match="50"):
        decoder(torch.rand(2, 49))

