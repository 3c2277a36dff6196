"""STFT-domain audio nets: a spectrogram encoder and an inverse-STFT decoder (issue 10).

Why: the waveform nets (:mod:`dirvae.nets.audio`) spend most of a training
step in their full-rate levels, where every sample of a 2^14-sample window
passes through residual units, norms and activations, on both sides.  Here
the strided step is the STFT itself: the encoder reads log magnitudes at
one frame per ``hop_length`` samples, and the decoder predicts a complex
spectrum per frame (log magnitude and phase, as in Vocos) that
``torch.istft`` turns into exactly ``sample_size`` samples by overlap-add.
No layer runs at the sample rate, which makes a step several times faster,
and harmonics are one output bin each rather than something the
transposed convolutions must learn to phase-align.

Both nets work on frames, then ``time_stride`` trades frames for latent
steps, so one latent step covers ``hop_length · time_stride`` samples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from dirvae.nets.audio import Downsample1d, Upsample1d, _residual_stack
from dirvae.nets.image import group_norm
from dirvae.nets.registry import ARCHITECTURES
from dirvae.nets.strides import downsampled_length

LOG_MAGNITUDE_CAP = 3.0
"""Upper clamp of the predicted log magnitude, relative to a full-scale sine's peak (e^3 ≈ 20×): keeps an
early large output from overflowing, and lies far above anything audio in [-1, 1] asks for, so it is no dead zone."""


def frame_count(sample_size: int, hop_length: int) -> int:
    """Frames of a centred STFT of ``sample_size`` samples."""
    return 1 + int(sample_size) // int(hop_length)


class STFTEncoder(nn.Module):
    """Waveforms ``[B, C, T]`` → features ``[B, out_channels, ceil(frames / time_stride)]``.

    Log STFT magnitudes (all channels' bins stacked as features), a 1×1
    projection to ``width``, residual units at the frame rate, a strided
    conv by ``time_stride``, residual units at the latent rate, and a final
    norm, activation and 1×1 conv to ``out_channels``.
    """

    def __init__(
        self,
        in_channels: int = 1,
        out_channels: int = 64,
        *,
        n_fft: int = 512,
        hop_length: int = 128,
        width: int = 128,
        time_stride: int = 2,
        dilations: Sequence[int] = (1, 3),
    ) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.n_fft = int(n_fft)
        self.hop_length = int(hop_length)
        self.time_stride = int(time_stride)
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)
        bins = self.n_fft // 2 + 1
        self.input = nn.Conv1d(self.in_channels * bins, width, kernel_size=3, padding=1)
        self.frame_rate = _residual_stack(width, dilations)
        self.down = Downsample1d(width, width, self.time_stride) if self.time_stride > 1 else nn.Identity()
        self.latent_rate = _residual_stack(width, dilations)
        self.out_norm = group_norm(width)
        self.activation = nn.SiLU()
        self.project = nn.Conv1d(width, self.out_channels, kernel_size=1)

    @property
    def samples_per_step(self) -> int:
        """Samples per latent step."""
        return self.hop_length * self.time_stride

    def output_length(self, sample_size: int) -> int:
        return downsampled_length(frame_count(sample_size, self.hop_length), (self.time_stride,))

    def features(self, x: Tensor) -> Tensor:
        """Log magnitudes ``[B, C · bins, frames]``, in float32 even under autocast."""
        batch, channels, length = x.shape
        with torch.autocast(device_type=x.device.type, enabled=False):
            spectrum = torch.stft(
                x.float().reshape(-1, length), self.n_fft, self.hop_length, window=self.window.float(),
                center=True, pad_mode="constant", return_complex=True,
            )
            power = spectrum.real**2 + spectrum.imag**2
            # Scaled so a full-scale sine peaks near log(1) at any n_fft; floored 100 dB lower.
            log_magnitude = 0.5 * torch.log(power / (self.n_fft / 4) ** 2 + 1e-10)
        return log_magnitude.reshape(batch, channels * log_magnitude.shape[1], log_magnitude.shape[-1])

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 3 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected waveforms [B, {self.in_channels}, T], got {tuple(x.shape)}")
        h = self.frame_rate(self.input(self.features(x)))
        h = self.latent_rate(self.down(h))
        return self.project(self.activation(self.out_norm(h)))


class ISTFTDecoder(nn.Module):
    """Latent features ``[B, in_channels, input_length]`` → raw waveforms ``[B, out_channels, sample_size]``.

    Residual units at the latent rate, a transposed conv by ``time_stride``
    to the frame rate (cropped to the STFT's frame count), residual units
    there, then a 1×1 head to a log magnitude and a phase per bin and channel;
    ``torch.istft`` overlap-adds the frames to exactly ``sample_size`` samples.
    """

    def __init__(
        self,
        in_channels: int = 64,
        out_channels: int = 1,
        *,
        sample_size: int,
        input_length: int | None = None,
        n_fft: int = 512,
        hop_length: int = 128,
        width: int = 128,
        time_stride: int = 2,
        dilations: Sequence[int] = (1, 3),
    ) -> None:
        super().__init__()
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.sample_size = int(sample_size)
        self.n_fft = int(n_fft)
        self.hop_length = int(hop_length)
        self.time_stride = int(time_stride)
        if self.sample_size < 1:
            raise ValueError(f"sample_size must be positive, got {sample_size}")
        self.frames = frame_count(self.sample_size, self.hop_length)
        needed = downsampled_length(self.frames, (self.time_stride,))
        self.input_length = needed if input_length is None else int(input_length)
        if self.input_length < needed:
            raise ValueError(f"{self.input_length} latent steps cannot cover {self.frames} STFT frames; need {needed}")
        self.register_buffer("window", torch.hann_window(self.n_fft), persistent=False)
        self.bins = self.n_fft // 2 + 1
        self.input = nn.Conv1d(self.in_channels, width, kernel_size=3, padding=1)
        self.latent_rate = _residual_stack(width, dilations)
        self.up = Upsample1d(width, width, self.time_stride) if self.time_stride > 1 else None
        self.frame_rate = _residual_stack(width, dilations)
        self.out_norm = group_norm(width)
        self.activation = nn.SiLU()
        self.head = nn.Conv1d(width, self.out_channels * 2 * self.bins, kernel_size=1)
        with torch.no_grad():
            # Start quiet (≈ -40 dB): a loud random spectrum saturates the tanh that scores audio.
            self.head.bias[: self.out_channels * self.bins].fill_(math.log(1e-2 * self.n_fft / 4))

    def forward(self, h: Tensor) -> Tensor:
        if h.dim() != 3 or h.shape[1] != self.in_channels or h.shape[-1] != self.input_length:
            raise ValueError(
                f"expected latent features [B, {self.in_channels}, {self.input_length}] for "
                f"{self.sample_size} samples, got {tuple(h.shape)}"
            )
        h = self.latent_rate(self.input(h))
        h = self.up(h, self.frames) if self.up is not None else h[..., : self.frames]
        h = self.head(self.activation(self.out_norm(self.frame_rate(h))))
        batch, frames = h.shape[0], h.shape[-1]
        log_magnitude, phase = h.float().reshape(batch * self.out_channels, 2, self.bins, frames).unbind(1)
        magnitude = torch.exp(log_magnitude.clamp(max=LOG_MAGNITUDE_CAP + math.log(self.n_fft / 4)))
        with torch.autocast(device_type=h.device.type, enabled=False):
            spectrum = torch.complex(magnitude * torch.cos(phase), magnitude * torch.sin(phase))
            waves = torch.istft(
                spectrum, self.n_fft, self.hop_length, window=self.window.float(), center=True, length=self.sample_size
            )
        return waves.reshape(batch, self.out_channels, self.sample_size)


def stft_autoencoder(
    sample_size: int,
    channels: int = 1,
    model_size: int = 64,
    *,
    n_fft: int = 512,
    hop_length: int = 128,
    width: int = 128,
    time_stride: int = 2,
    dilations: Sequence[int] = (1, 3),
) -> tuple[STFTEncoder, ISTFTDecoder]:
    """A matched :class:`STFTEncoder`/:class:`ISTFTDecoder` pair; features have ``model_size`` channels."""
    encoder = STFTEncoder(
        channels, model_size, n_fft=n_fft, hop_length=hop_length, width=width, time_stride=time_stride, dilations=dilations
    )
    decoder = ISTFTDecoder(
        model_size, channels, sample_size=sample_size, n_fft=n_fft, hop_length=hop_length, width=width,
        time_stride=time_stride, dilations=dilations,
    )
    return encoder, decoder


ARCHITECTURES.register("stft", stft_autoencoder)
