"""Fully connected encoder and decoder: the Dirichlet VAE paper's architecture.

The paper (and the mnist10k benchmark) uses an encoder 784-500-500 whose last
hidden layer feeds the posterior heads, a 50-component simplex, and a decoder
50-500-500-784 ending in Bernoulli logits.  Mapped onto ``DirichletVAE``:

* :class:`MLPEncoder` returns the last hidden layer (``out_channels = 500``);
  the model's alpha head is the 500→50 layer.
* :class:`MLPDecoder` is built with ``in_features = K`` so its first layer is
  the paper's 50→500.  The model then gets ``decoder_size = K`` and its
  decode head is a K→K map initialised to the identity, so the network
  starts exactly as the paper's rather than with an extra 50→500 layer.

Hidden layers use ReLU as in the paper; no normalisation, so the benchmark
numbers compare like for like with the peers' identical networks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import Tensor, nn

from dirvae.nets.registry import register_architecture


def _shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    return (int(shape),) if isinstance(shape, int) else tuple(int(s) for s in shape)


def _relu_stack(width: int, hidden: Sequence[int]) -> tuple[list[nn.Module], int]:
    layers: list[nn.Module] = []
    for size in hidden:
        layers += [nn.Linear(width, int(size)), nn.ReLU()]
        width = int(size)
    return layers, width


class MLPEncoder(nn.Module):
    """Data ``[B, *input_shape]`` → features ``[B, out_channels]`` (flattened, ReLU hidden layers).

    With ``out_features=None`` (the default) the features are the last
    hidden layer, the paper's design: the model's alpha head is the layer to
    K.  Giving ``out_features`` appends a linear layer (no activation: the
    alpha head's softplus follows), the seed's design where the encoder
    already emits K values and the alpha head is an identity-initialised K→K.
    """

    def __init__(
        self,
        input_shape: int | Sequence[int],
        hidden: Sequence[int] = (500, 500),
        out_features: int | None = None,
    ) -> None:
        super().__init__()
        self.input_shape = _shape(input_shape)
        layers, width = _relu_stack(math.prod(self.input_shape), hidden)
        if out_features is not None:
            layers.append(nn.Linear(width, int(out_features)))
            width = int(out_features)
        self.net = nn.Sequential(*layers)
        self.out_channels = width

    def forward(self, x: Tensor) -> Tensor:
        if tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"expected inputs [B, {', '.join(map(str, self.input_shape))}], got {tuple(x.shape)}")
        return self.net(x.flatten(1))


class MLPDecoder(nn.Module):
    """Latent codes ``[B, in_features]`` → raw outputs ``[B, *output_shape]``.

    The last layer is linear: its outputs are logits for a Bernoulli loss or
    values for MSE.  Use ``in_features = K`` (with ``decoder_size = K`` on the
    model) to get the paper's K-500-500-D decoder with no extra layer in front.
    ``output_shape`` is keyword-only and required: it is what makes the
    reconstruction the data's shape.
    """

    def __init__(
        self,
        in_features: int = 50,
        hidden: Sequence[int] = (500, 500),
        *,
        output_shape: int | Sequence[int],
    ) -> None:
        super().__init__()
        self.in_channels = int(in_features)
        self.output_shape = _shape(output_shape)
        layers, width = _relu_stack(self.in_channels, hidden)
        layers.append(nn.Linear(width, math.prod(self.output_shape)))
        self.net = nn.Sequential(*layers)

    def forward(self, h: Tensor) -> Tensor:
        if h.dim() != 2 or h.shape[1] != self.in_channels:
            raise ValueError(f"expected codes [B, {self.in_channels}], got {tuple(h.shape)}")
        return self.net(h).reshape(h.shape[0], *self.output_shape)


def mlp_autoencoder(
    input_shape: int | Sequence[int],
    model_size: int = 50,
    hidden: Sequence[int] = (500, 500),
) -> tuple[MLPEncoder, MLPDecoder]:
    """The paper's pair: encoder D-500-500 (``out_channels = 500``), decoder K-500-500-D.

    ``decoder.in_channels == model_size``, so ``DirichletVAE`` gets
    ``decoder_size = K`` and an identity-initialised decode head; the alpha
    head supplies the 500→K layer.  The decoder's hidden widths mirror the
    encoder's.
    """
    encoder = MLPEncoder(input_shape, hidden)
    decoder = MLPDecoder(model_size, tuple(hidden)[::-1], output_shape=input_shape)
    return encoder, decoder


register_architecture(
    "mlp", mlp_autoencoder, model_size=20,  # the mnist10k K sweep (BENCHMARKS.md): precision costs a Dirichlet every one of its K−1 directions
    options=lambda shape, k, data: {"input_shape": list(shape), "model_size": k, "hidden": [500, 500]},
)
