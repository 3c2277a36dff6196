"""Audio: a folder of sound files (libsndfile's formats, and FFmpeg's through PyAV), cut into windows.

Each file is resampled to ``sample_rate``, mixed to mono and cut into
consecutive windows of ``sample_size`` samples; a window is an item.  The
windows of one recording are alike, so validation holds out whole files.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Iterator

import torch
from torch import Tensor
from torch.utils.data import Dataset

from dirvae.data.audio import AudioFolder
from dirvae.data.audio_files import open_audio
from dirvae.data.audio_windows import read_window, resampled_length
from dirvae.data.formats import AUDIO_EXTENSIONS
from dirvae.data.payloads import decode_sound
from dirvae.errors import DataError
from dirvae.modalities.sounds import SoundOutputs
from dirvae.modalities.spec import DataConfig, Modality
from dirvae.nets.melresnet import mel_filterbank

STFT_LOSS_OPTIONS = {"fft_sizes": [2048, 512, 128], "mel_weight": 4.0}
"""The STFT loss for the ``stft`` architecture: every other one of the class default's six resolutions,
as good or better per CPU-second on held-out speech (benchmarks/speech.py); runs of other nets keep all six.
Since 2026-11-26 also a log-mel term (weight 4; runs saved before have none): see :func:`stft_loss_options`."""


@dataclass(frozen=True)
class AudioData(DataConfig):
    """Windows of ``sample_size`` samples at ``sample_rate``; ``pad_last`` as :class:`~dirvae.data.AudioFolder` takes it."""

    modality: ClassVar[str] = "audio"

    sample_rate: int
    sample_size: int
    pad_last: str

    def problem(self) -> str | None:
        shape = list(self.item_shape)
        if len(shape) != 2:
            return f"audio items are [channels, samples], but data.item_shape is {shape}"
        if self.sample_size != shape[1]:
            return f"data.sample_size is {self.sample_size!r} but data.item_shape is {shape}"
        if not isinstance(self.sample_rate, int) or isinstance(self.sample_rate, bool) or self.sample_rate < 1:
            return f"data.sample_rate must be a positive whole number, not {self.sample_rate!r}"
        return super().problem()


def stft_loss_options(sample_rate: int) -> dict[str, Any]:
    """:data:`STFT_LOSS_OPTIONS` for audio at ``sample_rate``: the mel term's FFT spans 64 ms as 1024 points do at
    16 kHz (the next power of two), and it is left out where 80 mel bands would not each cover an FFT bin."""
    options: dict[str, Any] = dict(STFT_LOSS_OPTIONS)
    mel_fft = 2 ** math.ceil(math.log2(1024 * sample_rate / 16000))
    try:
        mel_filterbank(mel_fft, 80, sample_rate)
    except ValueError:
        options.pop("mel_weight")
        return options
    return {**options, "mel_fft": mel_fft, "mel_bands": 80, "sample_rate": sample_rate}


class AudioModality(SoundOutputs, Modality):
    name: ClassVar[str] = "audio"
    summary: ClassVar[str] = "sound files cut into windows of --audio-size samples"
    extensions: ClassVar[frozenset[str]] = AUDIO_EXTENSIONS
    reader: ClassVar[type[Dataset]] = AudioFolder
    data_config: ClassVar[type[DataConfig]] = AudioData
    architectures: ClassVar[tuple[str, ...]] = ("stft", "wave", "melresnet")
    """``stft`` since issue 10 (``wave`` before): 5-7x the training windows/s and a lower held-out log-mel L1
    at equal budgets, measured by benchmarks/speech.py."""
    item_key: ClassVar[str | None] = "window"
    holds_out_files: ClassVar[bool] = True
    mixes_files: ClassVar[bool] = True
    option_defaults: ClassVar[dict[str, Any]] = {"learning_rate": 3e-3}
    """The learning rate since 2026-11-26 (1e-3 before; saved runs record theirs): lower held-out log-mel L1 at 1 and 10 minutes
    on the speech benchmark (BENCHMARKS.md, Speech)."""

    def data_from_options(self, options: Any, source: str) -> AudioData:
        return AudioData(
            source, (1, options.audio_size), sample_rate=options.sample_rate, sample_size=options.audio_size, pad_last=options.pad_last
        )

    def open(self, data: DataConfig) -> Dataset:
        return AudioFolder(
            data.source, sample_size=data.sample_size, sample_rate=data.sample_rate, channels=data.item_shape[0], pad_last=data.pad_last
        )

    def read_file(self, data: DataConfig, path: Path, start: int, count: int | None) -> Iterator[Tensor]:
        """Consecutive windows of one file; a file shorter than a window gives one padded window."""
        size, rate, channels = data.sample_size, data.sample_rate, data.item_shape[0]
        with open_audio(path) as sound:
            if sound.frames <= 0 or sound.samplerate <= 0:
                raise DataError(f"{path}: unreadable or corrupt audio file (no audio frames)")
            windows = max(1, resampled_length(sound.frames, sound.samplerate, rate) // size)
            if start >= windows:
                raise DataError(f"{path}#window={start}: the file has {windows} window(s) of {size} samples at {rate} Hz")
            stop = windows if count is None else min(windows, start + count)
            for window in range(start, stop):
                yield torch.from_numpy(read_window(sound, window * size, size, sound.samplerate, rate, channels))

    def decode(self, data: DataConfig, payload: bytes, extension: str) -> list[Tensor]:
        return decode_sound(
            payload, extension, sample_size=data.sample_size, sample_rate=data.sample_rate, channels=data.item_shape[0], pad_last=data.pad_last
        )

    def default_reconstruction(self, data: DataConfig, architecture: str) -> tuple[str, dict[str, Any]]:
        return "stft", stft_loss_options(data.sample_rate) if architecture == "stft" else {}
