"""Waveform encoder and decoder: strided 1-D convolutions with dilated residual blocks.

The seed's audio model was an empty stub.  This is the usual design of
waveform autoencoders (MelGAN, RAVE): each level runs a few dilated residual
units, which widen the receptive field without changing the length, then a
strided convolution trades time resolution for channels.  The latent is a
field of simplices over time, one every ``prod(strides)`` samples.

Lengths follow a ``ceil(T / stride)`` chain (the encoder pads the signal's end
with zeros up to a multiple of the stride), so any sample size works.  The
decoder is built for one ``sample_size``; every transposed convolution yields
``length · stride`` samples and is cropped at the end to what the remaining
levels need, which is exactly the encoder's length at that level, so the
output is ``[B, C, sample_size]`` with no resampling of the data.

The decoder's output is raw: the reconstruction loss maps it to data space
(``MultiResolutionSTFTLoss`` applies ``tanh`` for audio in [-1, 1]).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, Literal

import torch.nn.functional as F
from torch import Tensor, nn

from dirvae.nets.image import group_norm
from dirvae.nets.melresnet import MelResNetEncoder
from dirvae.nets.registry import register_architecture
from dirvae.nets.strides import downsampled_length, split_stride, stride_geometry

__all__ = ["WaveDecoder", "WaveEncoder", "downsampled_length", "split_stride", "stride_geometry", "wave_autoencoder"]


class ResidualUnit1d(nn.Module):
    """Pre-activation dilated residual unit: the identity path keeps deep stacks trainable."""

    def __init__(self, channels: int, dilation: int = 1, kernel_size: int = 3) -> None:
        super().__init__()
        self.norm_in = group_norm(channels)
        self.conv = nn.Conv1d(
            channels, channels, kernel_size, dilation=dilation, padding=dilation * (kernel_size - 1) // 2
        )
        self.norm_out = group_norm(channels)
        self.project = nn.Conv1d(channels, channels, kernel_size=1)
        self.activation = nn.SiLU()

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv(self.activation(self.norm_in(x)))
        return x + self.project(self.activation(self.norm_out(h)))


def _residual_stack(channels: int, dilations: Sequence[int]) -> nn.Sequential:
    return nn.Sequential(*(ResidualUnit1d(channels, int(d)) for d in dilations))


class Downsample1d(nn.Module):
    """Normalise, activate, then a strided conv to ``ceil(L / stride)`` steps."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        kernel, padding = stride_geometry(stride)
        self.stride = stride
        self.norm = group_norm(in_channels)
        self.activation = nn.SiLU()
        self.conv = nn.Conv1d(in_channels, out_channels, kernel, stride=stride, padding=padding)

    def forward(self, x: Tensor) -> Tensor:
        h = self.activation(self.norm(x))
        remainder = h.shape[-1] % self.stride
        if remainder:
            # Pad after the activation so the padding reads as silence to the conv.
            h = F.pad(h, (0, self.stride - remainder))
        return self.conv(h)


class Upsample1d(nn.Module):
    """Normalise, activate, then a transposed conv to ``stride · L`` steps, cropped to ``length``."""

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        kernel, padding = stride_geometry(stride)
        self.norm = group_norm(in_channels)
        self.activation = nn.SiLU()
        self.conv = nn.ConvTranspose1d(in_channels, out_channels, kernel, stride=stride, padding=padding)

    def forward(self, x: Tensor, length: int) -> Tensor:
        # The encoder padded at the end, so the surplus steps are the last ones.
        return self.conv(self.activation(self.norm(x)))[..., :length]


class WaveEncoder(nn.Module):
    """Waveforms ``[B, C, T]`` → features ``[B, out_channels, T']``, ``T' = output_length(T)``.

    A 7-tap stem to ``channels[0]``, then one level per stride: residual
    units at ``channels[i]`` and a strided conv to ``channels[i + 1]`` (the
    last level to ``out_channels``), then a final norm and activation so the
    alpha head sees normalised features.  ``len(strides) == len(channels)``.
    """

    def __init__(
        self,
        in_channels: int = 1,
        channels: Sequence[int] = (16, 32, 64, 128),
        strides: Sequence[int] = (4, 4, 4, 4),
        out_channels: int = 64,
        dilations: Sequence[int] = (1, 3, 9),
    ) -> None:
        super().__init__()
        channels = [int(c) for c in channels]
        self.strides = tuple(int(s) for s in strides)
        if len(channels) != len(self.strides) or not channels:
            raise ValueError(f"need one width per stride, got channels={channels} strides={self.strides}")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.stem = nn.Conv1d(self.in_channels, channels[0], kernel_size=7, padding=3)
        targets = [*channels[1:], self.out_channels]
        self.levels = nn.Sequential(
            *(
                nn.Sequential(_residual_stack(width, dilations), Downsample1d(width, target, stride))
                for width, target, stride in zip(channels, targets, self.strides)
            )
        )
        self.out_norm = group_norm(self.out_channels)
        self.activation = nn.SiLU()

    @property
    def hop_length(self) -> int:
        """Samples per latent step."""
        return math.prod(self.strides)

    def output_length(self, sample_size: int) -> int:
        """Latent steps for ``sample_size`` samples: ``ceil`` of ``T / stride`` level by level."""
        return downsampled_length(int(sample_size), self.strides)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 3 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected waveforms [B, {self.in_channels}, T], got {tuple(x.shape)}")
        return self.activation(self.out_norm(self.levels(self.stem(x))))


class WaveDecoder(nn.Module):
    """Latent features ``[B, in_channels, input_length]`` → raw waveforms ``[B, out_channels, sample_size]``.

    ``strides`` are in decoding order (the encoder's reversed).  The input
    length defaults to :class:`WaveEncoder`'s for ``sample_size``; give
    ``input_length`` to pair with another encoder (e.g.
    ``MelResNetEncoder.output_length``), as long as it covers the output:
    ``input_length · prod(strides) >= sample_size``.  Each level crops to
    ``ceil(sample_size / prod(remaining strides))``, so latent step ``j``
    drives samples ``j·prod(strides)`` onwards whatever the encoder.
    """

    def __init__(
        self,
        in_channels: int = 64,
        channels: Sequence[int] = (128, 64, 32, 16),
        strides: Sequence[int] = (4, 4, 4, 4),
        out_channels: int = 1,
        *,
        sample_size: int,
        input_length: int | None = None,
        dilations: Sequence[int] = (1, 3, 9),
    ) -> None:
        super().__init__()
        channels = [int(c) for c in channels]
        self.strides = tuple(int(s) for s in strides)
        if len(channels) != len(self.strides) or not channels:
            raise ValueError(f"need one width per stride, got channels={channels} strides={self.strides}")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.sample_size = int(sample_size)
        if self.sample_size < 1:
            raise ValueError(f"sample_size must be positive, got {sample_size}")
        needed = downsampled_length(self.sample_size, self.strides)
        self.input_length = needed if input_length is None else int(input_length)
        if self.input_length < needed:
            raise ValueError(
                f"{self.input_length} latent steps × {math.prod(self.strides)} samples cannot cover "
                f"{self.sample_size} samples; need at least {needed} steps"
            )
        self.lengths = [downsampled_length(self.sample_size, self.strides[i + 1 :]) for i in range(len(self.strides))]
        sources = [self.in_channels, *channels[:-1]]
        self.levels = nn.ModuleList(
            Upsample1d(source, width, stride) for source, width, stride in zip(sources, channels, self.strides)
        )
        self.residuals = nn.ModuleList(_residual_stack(width, dilations) for width in channels)
        self.out_norm = group_norm(channels[-1])
        self.activation = nn.SiLU()
        self.head = nn.Conv1d(channels[-1], self.out_channels, kernel_size=7, padding=3)

    def forward(self, h: Tensor) -> Tensor:
        if h.dim() != 3 or h.shape[1] != self.in_channels or h.shape[-1] != self.input_length:
            raise ValueError(
                f"expected latent features [B, {self.in_channels}, {self.input_length}] for "
                f"{self.sample_size} samples, got {tuple(h.shape)}"
            )
        for upsample, residual, length in zip(self.levels, self.residuals, self.lengths):
            h = residual(upsample(h, length))
        return self.head(self.activation(self.out_norm(h)))


def _mirrored_widths(widths: Sequence[int], levels: int) -> tuple[int, ...]:
    """Decoder widths, widest first, for ``levels`` levels: the encoder's reversed, the
    widest repeated when the decoder needs more levels than the encoder had widths."""
    widths = [int(w) for w in widths]
    return tuple(widths[min(levels - 1 - i, len(widths) - 1)] for i in range(levels))


def wave_autoencoder(
    sample_size: int,
    channels: int = 1,
    model_size: int = 64,
    *,
    encoder: Literal["wave", "melresnet"] | MelResNetEncoder = "wave",
    widths: Sequence[int] = (16, 32, 64, 128),
    strides: Sequence[int] = (4, 4, 4, 4),
    dilations: Sequence[int] = (1, 3, 9),
    sample_rate: int = 16000,
    melresnet: Mapping[str, Any] | None = None,
) -> tuple[nn.Module, WaveDecoder]:
    """An encoder/decoder pair for ``channels``-channel audio of ``sample_size`` samples.

    ``encoder="wave"`` mirrors a :class:`WaveEncoder` (``widths`` and
    ``strides`` in encoding order).  ``encoder="melresnet"`` builds a
    :class:`MelResNetEncoder` at ``sample_rate`` from the keyword arguments in
    ``melresnet`` (JSON-able, e.g. ``{"channels": [16, 32, 64], "n_mels": 32}``,
    so a run configuration can rebuild it).  It, or a ready
    ``MelResNetEncoder`` instance, is paired with a decoder whose strides
    multiply to the encoder's samples per latent step, so latent step ``j``
    decodes the audio it was computed from; ``strides`` is then unused.
    Either way the features have ``model_size`` channels, the decoder starts
    from ``model_size`` and returns exactly ``[B, channels, sample_size]``.
    """
    if isinstance(encoder, str) and encoder == "wave":
        wave = WaveEncoder(channels, widths, strides, model_size, dilations)
        decoder_strides = wave.strides[::-1]
        decoder = WaveDecoder(
            model_size,
            _mirrored_widths(widths, len(decoder_strides)),
            decoder_strides,
            channels,
            sample_size=sample_size,
            dilations=dilations,
        )
        return wave, decoder

    if isinstance(encoder, str):
        if encoder != "melresnet":
            raise ValueError(f"encoder must be 'wave', 'melresnet' or a MelResNetEncoder, got {encoder!r}")
        mel: MelResNetEncoder = MelResNetEncoder(
            sample_rate, **{**dict(melresnet or {}), "in_channels": channels, "out_channels": model_size}
        )
    elif isinstance(encoder, MelResNetEncoder):
        if melresnet:
            raise ValueError("melresnet options apply to encoder='melresnet', not to a ready MelResNetEncoder")
        mel = encoder
        if mel.in_channels != channels or mel.out_channels != model_size:
            raise ValueError(
                f"the MelResNetEncoder has {mel.in_channels} input and {mel.out_channels} output channels; "
                f"expected {channels} and {model_size}"
            )
    else:
        raise TypeError(f"encoder must be 'wave', 'melresnet' or a MelResNetEncoder, got {type(encoder).__name__}")
    latent_length = mel.output_length(sample_size)
    # A time-pooled encoder has no alignment to keep: cover the output with a power of two.
    total = (1 << (int(sample_size) - 1).bit_length()) if mel.pool_time else mel.hop_length
    decoder_strides = split_stride(total)
    decoder = WaveDecoder(
        model_size,
        _mirrored_widths(widths, len(decoder_strides)),
        decoder_strides,
        channels,
        sample_size=sample_size,
        input_length=latent_length,
        dilations=dilations,
    )
    return mel, decoder


register_architecture(
    "wave", partial(wave_autoencoder, encoder="wave"), model_size=64,
    options=lambda shape, k, data: {"sample_size": shape[-1], "channels": shape[0], "model_size": k},
)
register_architecture(
    "melresnet", partial(wave_autoencoder, encoder="melresnet"), model_size=64,
    options=lambda shape, k, data: {"sample_size": shape[-1], "channels": shape[0], "model_size": k, "sample_rate": data.sample_rate},
)
