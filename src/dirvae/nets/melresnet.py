"""MelResNet: a log-mel spectrogram front end and a 2-D bottleneck ResNet, as an audio encoder.

The seed implemented this (mel front end, 7×7 conv stem, bottleneck residual
blocks growing 64→1024 channels) but never used it.  Here it encodes
waveforms for :class:`~dirvae.nets.audio.WaveDecoder`: the spectrogram is
treated as an image (mel × frames), every stage after the first halves the mel
axis and divides time by ``time_stride``, and the mel axis is averaged away at
the end, so the latent stays a field of simplices over time
(``[B, F, frames']``) or, with ``pool_time``, one simplex per clip
(``[B, F, 1]``).  :meth:`MelResNetEncoder.output_length` gives ``frames'``
so a decoder can be built for it.

The mel filterbank is computed here (HTK mel scale, triangular filters) so
the library needs no torchaudio.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from dirvae.nets.strides import downsampled_length
from dirvae.nets.image import group_norm

# Power floor of the log-mel, relative to a full-scale sine's ~0.25: an 85 dB range.
LOG_FLOOR = 1e-9


def hz_to_mel(hz: Tensor) -> Tensor:
    """HTK mel scale: linear below ~1 kHz, logarithmic above, like pitch perception."""
    return 2595.0 * torch.log10(1.0 + hz / 700.0)


def mel_to_hz(mel: Tensor) -> Tensor:
    """Inverse of :func:`hz_to_mel`."""
    return 700.0 * (10.0 ** (mel / 2595.0) - 1.0)


def mel_filterbank(
    n_fft: int,
    n_mels: int,
    sample_rate: int,
    f_min: float = 0.0,
    f_max: float | None = None,
) -> Tensor:
    """Triangular filters ``[n_mels, n_fft // 2 + 1]`` evenly spaced on the mel scale.

    Filter ``k`` rises from 0 at edge ``k`` to 1 at edge ``k + 1`` and falls
    back to 0 at edge ``k + 2``; neighbouring triangles overlap by half, so
    together they cover ``(f_min, f_max)`` with no gap.  Peak-normalised
    (not area-normalised), since the log that follows makes a per-filter gain
    a constant offset.  Raises if a filter falls between FFT bins and would
    be all zero: that configuration (too many mels for the FFT size) silently
    wastes features otherwise.
    """
    nyquist = sample_rate / 2.0
    f_max = nyquist if f_max is None else float(f_max)
    if not 0.0 <= f_min < f_max <= nyquist:
        raise ValueError(f"need 0 <= f_min < f_max <= sample_rate / 2, got f_min={f_min}, f_max={f_max}")
    if n_mels < 1 or n_fft < 2:
        raise ValueError(f"need n_mels >= 1 and n_fft >= 2, got n_mels={n_mels}, n_fft={n_fft}")
    cpu = torch.device("cpu")  # a constant: computed on the CPU even while a model is built on the meta device
    freqs = torch.linspace(0.0, nyquist, n_fft // 2 + 1, dtype=torch.float64, device=cpu)
    mel_edges = torch.linspace(
        float(hz_to_mel(torch.tensor(f_min, dtype=torch.float64, device=cpu))),
        float(hz_to_mel(torch.tensor(f_max, dtype=torch.float64, device=cpu))),
        n_mels + 2,
        dtype=torch.float64,
        device=cpu,
    )
    edges = mel_to_hz(mel_edges)
    edges[0], edges[-1] = f_min, f_max  # exact ends: no round-off sliver beyond the range
    lower, center, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs - lower) / (center - lower)
    falling = (upper - freqs) / (upper - center)
    filters = torch.minimum(rising, falling).clamp_min(0.0)
    empty = (filters.amax(dim=1) == 0).nonzero().flatten().tolist()
    if empty:
        raise ValueError(
            f"mel filters {empty} fall between FFT bins (n_fft={n_fft}, n_mels={n_mels}, "
            f"sample_rate={sample_rate}); use a larger n_fft or fewer mels"
        )
    return filters.float()


class LogMelSpectrogram(nn.Module):
    """Waveforms ``[B, C, T]`` → log-mel power ``[B, C, n_mels, 1 + T // hop_length]``.

    Frames are centred (zero padding, so clips shorter than ``n_fft`` work),
    and power is divided by the squared window sum so levels do not depend on
    ``n_fft``.  Computed in float32 even under autocast: half-precision FFT
    power and logs lose the quiet parts.  Window and filters are
    non-persistent buffers: they follow from the arguments, so checkpoints
    hold only learned weights.
    """

    def __init__(
        self,
        sample_rate: int,
        n_fft: int = 1024,
        hop_length: int = 256,
        n_mels: int = 64,
        f_min: float = 0.0,
        f_max: float | None = None,
    ) -> None:
        super().__init__()
        self.sample_rate = int(sample_rate)
        self.n_fft = int(n_fft)
        self.hop_length = int(hop_length)
        self.n_mels = int(n_mels)
        self.register_buffer("window", torch.hann_window(self.n_fft, device="cpu"), persistent=False)  # a constant, also when built on meta
        self.register_buffer(
            "filters", mel_filterbank(self.n_fft, self.n_mels, self.sample_rate, f_min, f_max), persistent=False
        )

    def frames(self, sample_size: int) -> int:
        """Frames for ``sample_size`` samples (centred STFT)."""
        return 1 + int(sample_size) // self.hop_length

    def forward(self, x: Tensor) -> Tensor:
        leading, length = x.shape[:-1], x.shape[-1]
        with torch.autocast(device_type=x.device.type, enabled=False):
            window = self.window.float()
            spectrum = torch.stft(
                x.float().reshape(-1, length),
                self.n_fft,
                self.hop_length,
                window=window,
                center=True,
                pad_mode="constant",
                return_complex=True,
            )
            power = (spectrum.real**2 + spectrum.imag**2) / window.sum() ** 2
            mel = torch.matmul(self.filters.float(), power)
            log_mel = torch.log(mel + LOG_FLOOR)
        return log_mel.reshape(*leading, self.n_mels, log_mel.shape[-1])


class Bottleneck(nn.Module):
    """ResNet bottleneck: 1×1 reduce, 3×3 (strided), 1×1 expand, plus a (projected) shortcut.

    The 4× narrower middle is what lets the stages grow to 1024 channels at a
    fraction of the cost of plain 3×3 blocks.
    """

    expansion = 4

    def __init__(self, in_channels: int, out_channels: int, stride: tuple[int, int] = (1, 1)) -> None:
        super().__init__()
        middle = max(1, out_channels // self.expansion)
        self.reduce = nn.Conv2d(in_channels, middle, kernel_size=1, bias=False)
        self.reduce_norm = group_norm(middle)
        self.conv = nn.Conv2d(middle, middle, kernel_size=3, stride=stride, padding=1, bias=False)
        self.conv_norm = group_norm(middle)
        self.expand = nn.Conv2d(middle, out_channels, kernel_size=1, bias=False)
        self.expand_norm = group_norm(out_channels)
        self.shortcut: nn.Module = nn.Identity()
        if in_channels != out_channels or tuple(stride) != (1, 1):
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel_size=1, stride=stride, bias=False),
                group_norm(out_channels),
            )
        self.activation = nn.SiLU()

    def forward(self, x: Tensor) -> Tensor:
        h = self.activation(self.reduce_norm(self.reduce(x)))
        h = self.activation(self.conv_norm(self.conv(h)))
        h = self.expand_norm(self.expand(h))
        return self.activation(h + self.shortcut(x))


class MelResNetEncoder(nn.Module):
    """Waveforms ``[B, in_channels, T]`` → features ``[B, out_channels, output_length(T)]``.

    Log-mel front end (audio channels become image channels), a 7×7 stem that
    halves the mel axis, then one stage per entry of ``channels`` with
    ``blocks`` bottlenecks each; every stage after the first halves the mel
    axis and divides time by ``time_stride``.  The mel axis is averaged out and
    a 1×1 conv maps to ``out_channels``.  One latent step covers
    :attr:`hop_length` samples; with ``pool_time`` the time axis is averaged
    too and the output is ``[B, out_channels, 1]``.

    The defaults are the seed's (64→1024 channels, about 2 M parameters); a
    CPU-sized version is e.g. ``channels=(16, 32, 64)``.
    """

    def __init__(
        self,
        sample_rate: int,
        n_fft: int = 1024,
        hop_length: int = 256,
        n_mels: int = 64,
        channels: Sequence[int] = (64, 128, 256, 512, 1024),
        out_channels: int = 64,
        *,
        in_channels: int = 1,
        blocks: int = 1,
        time_stride: int = 2,
        pool_time: bool = False,
        f_min: float = 0.0,
        f_max: float | None = None,
    ) -> None:
        super().__init__()
        channels = [int(c) for c in channels]
        if not channels or blocks < 1 or time_stride < 1:
            raise ValueError(f"need channels, blocks >= 1 and time_stride >= 1; got {channels}, {blocks}, {time_stride}")
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.time_stride = int(time_stride)
        self.pool_time = bool(pool_time)
        self.time_strides = (self.time_stride,) * (len(channels) - 1)
        self.spectrogram = LogMelSpectrogram(sample_rate, n_fft, hop_length, n_mels, f_min, f_max)
        self.stem = nn.Sequential(
            nn.Conv2d(self.in_channels, channels[0], kernel_size=7, stride=(2, 1), padding=3, bias=False),
            group_norm(channels[0]),
            nn.SiLU(),
        )
        stages: list[nn.Module] = []
        previous = channels[0]
        for index, width in enumerate(channels):
            stride = (1, 1) if index == 0 else (2, self.time_stride)
            layers = [Bottleneck(previous, width, stride)]
            layers += [Bottleneck(width, width) for _ in range(blocks - 1)]
            stages.append(nn.Sequential(*layers))
            previous = width
        self.stages = nn.Sequential(*stages)
        self.project = nn.Conv1d(previous, self.out_channels, kernel_size=1)
        self.out_norm = group_norm(self.out_channels)
        self.activation = nn.SiLU()

    @property
    def hop_length(self) -> int:
        """Samples per latent step: the STFT hop times the stages' time strides."""
        return self.spectrogram.hop_length * math.prod(self.time_strides)

    def output_length(self, sample_size: int) -> int:
        """Latent steps for ``sample_size`` samples: ``1 + T // hop`` frames, then
        ``ceil(· / time_stride)`` per strided stage (or 1 with ``pool_time``)."""
        if self.pool_time:
            return 1
        return downsampled_length(self.spectrogram.frames(sample_size), self.time_strides)

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 3 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected waveforms [B, {self.in_channels}, T], got {tuple(x.shape)}")
        h = self.stages(self.stem(self.spectrogram(x)))
        h = self.activation(self.out_norm(self.project(h.mean(dim=2))))
        return h.mean(dim=-1, keepdim=True) if self.pool_time else h
