"""Ready-made encoders and decoders for ``DirichletVAE``.

Every encoder maps data ``[B, C, ...]`` to features ``[B, F, *rest]`` and
exposes ``out_channels`` (F); every decoder maps ``[B, F', *rest]`` back to a
raw output of exactly the data's shape and exposes ``in_channels`` (F').  The
``*_autoencoder`` helpers build matched pairs.
"""

from dirvae.nets.audio import WaveDecoder, WaveEncoder, wave_autoencoder
from dirvae.nets.image import (
    ResBlockDecoder,
    ResBlockEncoder,
    ResNetDecoder,
    ResNetEncoder,
    resblock_autoencoder,
    resnet_autoencoder,
)
from dirvae.nets.melresnet import LogMelSpectrogram, MelResNetEncoder, mel_filterbank
from dirvae.nets.mlp import MLPDecoder, MLPEncoder, mlp_autoencoder
from dirvae.nets.spectral import ISTFTDecoder, STFTEncoder, stft_autoencoder

__all__ = [
    "ISTFTDecoder",
    "LogMelSpectrogram",
    "MLPDecoder",
    "MLPEncoder",
    "MelResNetEncoder",
    "ResBlockDecoder",
    "ResBlockEncoder",
    "ResNetDecoder",
    "ResNetEncoder",
    "STFTEncoder",
    "WaveDecoder",
    "WaveEncoder",
    "mel_filterbank",
    "mlp_autoencoder",
    "resblock_autoencoder",
    "resnet_autoencoder",
    "stft_autoencoder",
    "wave_autoencoder",
]
