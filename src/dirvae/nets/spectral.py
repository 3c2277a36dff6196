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

The decoder's phase is either predicted per frame (``phase="absolute"``, as
in Vocos) or accumulated (``phase="accumulated"``): the head predicts each
bin's phase advance per hop as an offset from the advance of a sine at the
bin's centre frequency, and the phase is the running sum over frames.  A
steady partial then needs a constant per frame, not a phase that turns
by a different angle every hop, and comes out phase-coherent across frames
(the phase-vocoder relation), where absolute phases the net has not yet
aligned cancel in the overlap-add and smear low harmonics.
With ``phase="vector"`` the head predicts a 2-vector (a, b) per bin and
the phasor is (a, b)/|(a, b)|: the same absolute phase without the 2π wrap
of an angle, so a small step of the head is a small turn of the phasor
wherever it points (Vocos predicts an angle and takes its cos and sin).

``level_scale`` > 0 adds a per-frame level to every bin's log magnitude,
``level_scale`` nats per unit of its own 1×1 head (zero at the start).  Why:
the magnitude head reads normalised features, so moving a whole frame tens
of nats down (a pause in speech, digital silence in synthetic speech) needs
large weights in every one of its rows; one scaled level reaches it quickly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor, nn

from dirvae.nets.audio import Downsample1d, Upsample1d, _residual_stack
from dirvae.nets.image import group_norm
from dirvae.nets.registry import register_architecture
from dirvae.nets.strides import downsampled_length

PHASES = ("absolute", "accumulated", "vector")
PHASOR_FLOOR = 1e-4
"""Added to |(a, b)|² before ``phase="vector"`` normalises it: bounds the gradient where the vector is near zero (the bin then
goes quiet rather than taking a random direction)."""
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
        self.register_buffer("window", torch.hann_window(self.n_fft, device="cpu"), persistent=False)  # a constant, also when built on meta
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
        phase: Literal["absolute", "accumulated", "vector"] = "absolute",
        level_scale: float = 0.0,
    ) -> None:
        super().__init__()
        if level_scale < 0:
            raise ValueError(f"level_scale must be non-negative, got {level_scale}")
        self.level_scale = float(level_scale)
        if phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}, got {phase!r}")
        self.phase = phase
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
        self.register_buffer("window", torch.hann_window(self.n_fft, device="cpu"), persistent=False)  # a constant, also when built on meta
        self.bins = self.n_fft // 2 + 1
        self.input = nn.Conv1d(self.in_channels, width, kernel_size=3, padding=1)
        self.latent_rate = _residual_stack(width, dilations)
        self.up = Upsample1d(width, width, self.time_stride) if self.time_stride > 1 else None
        self.frame_rate = _residual_stack(width, dilations)
        self.out_norm = group_norm(width)
        self.activation = nn.SiLU()
        self.parts = 3 if self.phase == "vector" else 2
        self.head = nn.Conv1d(width, self.out_channels * self.parts * self.bins, kernel_size=1)
        # One level per frame and channel, added to every bin's log magnitude, level_scale nats a unit.
        self.level = nn.Conv1d(width, self.out_channels, kernel_size=1) if self.level_scale > 0 else None
        if self.level is not None:
            nn.init.zeros_(self.level.weight)
            nn.init.zeros_(self.level.bias)
        with torch.no_grad():
            # Start quiet (≈ -40 dB): a loud random spectrum saturates the tanh that scores audio.
            self.head.bias[self._head_rows(0)] = math.log(1e-2 * self.n_fft / 4)
            if self.phase == "accumulated":
                # Start with every bin's own sine, coherent across frames, rather than random phase walks.
                self.head.weight[self._head_rows(1)] = 0.0
                self.head.bias[self._head_rows(1)] = 0.0

    def forward(self, h: Tensor) -> Tensor:
        if h.dim() != 3 or h.shape[1] != self.in_channels or h.shape[-1] != self.input_length:
            raise ValueError(
                f"expected latent features [B, {self.in_channels}, {self.input_length}] for "
                f"{self.sample_size} samples, got {tuple(h.shape)}"
            )
        h = self.latent_rate(self.input(h))
        h = self.up(h, self.frames) if self.up is not None else h[..., : self.frames]
        features = self.activation(self.out_norm(self.frame_rate(h)))
        h = self.head(features)
        batch, frames = h.shape[0], h.shape[-1]
        log_magnitude, *phase = h.float().reshape(batch * self.out_channels, self.parts, self.bins, frames).unbind(1)
        if self.level is not None:
            log_magnitude = log_magnitude + self.level_scale * self.level(features).float().reshape(-1, 1, frames)
        magnitude = torch.exp(log_magnitude.clamp(max=LOG_MAGNITUDE_CAP + math.log(self.n_fft / 4)))
        if self.phase == "vector":
            real, imag = phase
            scale = magnitude * torch.rsqrt(real**2 + imag**2 + PHASOR_FLOOR)
            cosine, sine = real * scale, imag * scale
        else:
            phase = self._accumulate(phase[0]) if self.phase == "accumulated" else phase[0]
            cosine, sine = magnitude * torch.cos(phase), magnitude * torch.sin(phase)
        with torch.autocast(device_type=h.device.type, enabled=False):
            spectrum = torch.complex(cosine, sine)
            waves = torch.istft(
                spectrum, self.n_fft, self.hop_length, window=self.window.float(), center=True, length=self.sample_size
            )
        return waves.reshape(batch, self.out_channels, self.sample_size)

    def _head_rows(self, part: int) -> Tensor:
        """The head's output rows of log magnitudes (``part`` 0) or phases (1; 1 and 2 for ``vector``): per channel, all bins of each."""
        rows = torch.arange(self.out_channels * self.parts * self.bins, device="cpu").reshape(self.out_channels, self.parts, self.bins)
        return rows[:, part].reshape(-1)

    def _accumulate(self, offsets: Tensor) -> Tensor:
        """Per-hop phase advances ``[N, bins, frames]`` (offsets from each bin centre's) → phases.

        A bin centre's sine advances by ``2π · k · hop / n_fft`` per hop, taken modulo 2π so the
        running sum over a window's frames stays small enough for float32's resolution.
        """
        k = torch.arange(self.bins, device=offsets.device, dtype=offsets.dtype)
        centre = torch.remainder(2 * math.pi * k * self.hop_length / self.n_fft, 2 * math.pi)
        return torch.cumsum(offsets + centre[:, None], dim=-1)


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
    phase: Literal["absolute", "accumulated", "vector"] = "absolute",
    level_scale: float = 0.0,
) -> tuple[STFTEncoder, ISTFTDecoder]:
    """A matched :class:`STFTEncoder`/:class:`ISTFTDecoder` pair; features have ``model_size`` channels.

    ``phase`` and ``level_scale`` are the decoder's (see the module docstring); ``absolute`` and 0 are
    what runs saved before the options existed used.
    """
    encoder = STFTEncoder(
        channels, model_size, n_fft=n_fft, hop_length=hop_length, width=width, time_stride=time_stride, dilations=dilations
    )
    decoder = ISTFTDecoder(
        model_size, channels, sample_size=sample_size, n_fft=n_fft, hop_length=hop_length, width=width,
        time_stride=time_stride, dilations=dilations, phase=phase, level_scale=level_scale,
    )
    return encoder, decoder


STFT_NET_OPTIONS = {"level_scale": 10.0}
"""The ``stft`` decoder's per-frame level (2026-11-26; runs saved before have none and rebuild without it):
with the mel term it took held-out log-mel L1 from 0.90 to 0.78 at 3 CPU-minutes, mostly in pauses."""

register_architecture(
    "stft", stft_autoencoder, model_size=64,
    options=lambda shape, k, data: {"sample_size": shape[-1], "channels": shape[0], "model_size": k, **STFT_NET_OPTIONS},
)
