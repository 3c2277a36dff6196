"""Sounds: ``[C, T]`` (or ``[N, C, T]`` clips) in [-1, 1] to 16-bit WAV or FLAC through soundfile."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import soundfile
import torch
from torch import Tensor

from dirvae.io.atomic import atomic_write
from dirvae.errors import DirvaeError
from dirvae.io.names import numbered

AUDIO_FORMATS = {".wav": "WAV", ".flac": "FLAC"}


def save_audio(audio: Tensor, path: str | Path, sample_rate: int) -> Path:
    """``[C, T]`` (or ``[T]``) in [-1, 1] to a 16-bit WAV or FLAC."""
    path = Path(path)
    fmt = AUDIO_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DirvaeError(f"{path}: not a sound extension ({', '.join(sorted(AUDIO_FORMATS))})")
    array = audio.detach().float().clamp(-1, 1).cpu().numpy()
    array = array[None] if array.ndim == 1 else array
    return atomic_write(
        path, lambda tmp: soundfile.write(tmp, array.T, int(sample_rate), subtype="PCM_16", format=fmt)
    )


def concat_audio(clips: Tensor | Sequence[Tensor]) -> Tensor:
    """``[N, C, T]`` (or a list of ``[C, T_i]``) back to back: ``[C, ΣT]``."""
    return torch.cat([clip.detach().float().cpu() for clip in clips], dim=-1)


def save_audio_files(clips: Tensor, folder: str | Path, sample_rate: int, stem: str = "clip") -> list[Path]:
    """One WAV per clip: ``folder/stem_000.wav``, ..."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = numbered(folder, stem, clips.shape[0], ".wav")
    for clip, path in zip(clips, paths):
        save_audio(clip, path, sample_rate)
    return paths
