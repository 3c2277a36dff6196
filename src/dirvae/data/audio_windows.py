"""Reading one fixed-length window of an audio file, resampled, from disk.

A window is read on its own, never the whole file, so hour-long recordings
cost no more memory than a window.  Resampling a window alone would smear its
edges (the filter needs neighbours), so a margin of source frames is read on
each side and cut off afterwards; the start of the read is aligned to the
resampling grid so the result matches resampling the whole file.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from scipy.signal import firwin, resample_poly

if TYPE_CHECKING:
    from dirvae.data.audio_files import Sound

ChannelSpec = int | Sequence[int]


def resampling_ratio(rate: int, target: int) -> tuple[int, int]:
    """(up, down) with target / rate = up / down in lowest terms."""
    common = math.gcd(int(rate), int(target))
    return int(target) // common, int(rate) // common


def resampled_length(frames: int, rate: int, target: int) -> int:
    """Frames of a file once resampled, as resample_poly counts them."""
    up, down = resampling_ratio(rate, target)
    return -(-int(frames) * up // down)


@lru_cache(maxsize=16)
def _filter(up: int, down: int) -> np.ndarray:
    # resample_poly's own default filter, designed once per rate pair instead
    # of once per window.
    max_rate = max(up, down)
    half_len = 10 * max_rate
    return firwin(2 * half_len + 1, 1.0 / max_rate, window=("kaiser", 5.0)).astype(np.float32)


def select_channels(block: np.ndarray, channels: ChannelSpec) -> np.ndarray:
    """[frames, file_channels] to [frames, wanted], mixing down or selecting.

    An int asks for that many channels: 1 is the mean of all channels (a
    mono mix), a mono file is repeated, and a wider file keeps its first
    channels.  A sequence picks channels by index.
    """
    have = block.shape[1]
    if not isinstance(channels, int):
        return block[:, list(channels)]
    if channels == have:
        return block
    if channels == 1:
        # Column sums beat block.mean(axis=1): numpy reduces a short inner
        # axis of a [frames, 2] block element by element, ten times slower.
        mixed = block[:, 0].astype(np.float32, copy=True)
        for channel in range(1, have):
            mixed += block[:, channel]
        mixed *= np.float32(1.0 / have)
        return mixed[:, None]
    if have == 1 or have < channels:
        reps = np.arange(channels) % have
        return block[:, reps]
    return block[:, :channels]


def channel_count(channels: ChannelSpec) -> int:
    return channels if isinstance(channels, int) else len(list(channels))


def channels_fit(channels: ChannelSpec, file_channels: int) -> bool:
    """Whether a file has the channels asked for (indices must exist)."""
    if isinstance(channels, int):
        return channels >= 1
    return all(0 <= int(c) < file_channels for c in channels)


def read_window(
    sound: Sound,
    start: int,
    length: int,
    rate: int,
    target: int,
    channels: ChannelSpec,
) -> np.ndarray:
    """Frames [start, start + length) of a file at the target rate, as [C, length].

    ``start`` counts frames at the target rate.  Frames past the end of the
    file are zeros (the padded last window).  Values are float32 clipped to
    [-1, 1] (float WAVs may exceed it).
    """
    if rate == target:
        block = _read(sound, start, length)
        block = select_channels(block, channels)
    else:
        up, down = resampling_ratio(rate, target)
        taps = _filter(up, down)
        margin = len(taps) // 2 // up + 2  # filter half-length, in source frames
        # The first source frame read must sit on the resampling grid (a
        # multiple of `down`) so output frame j of this read is output frame
        # first + j of the whole file.
        first_source = max(0, ((start * down) // up - margin) // down * down)
        first_output = first_source * up // down
        stop_source = -(-(start + length) * down // up) + margin
        block = select_channels(_read(sound, first_source, stop_source - first_source), channels)
        resampled = resample_poly(block, up, down, axis=0, window=taps)
        offset = start - first_output
        block = resampled[offset : offset + length]
    out = np.ascontiguousarray(block.T, dtype=np.float32)
    if not np.isfinite(out).all():
        # A float WAV may hold NaN/inf; clip() would pass NaN through to the model.
        raise ValueError("non-finite samples (NaN or infinity)")
    np.clip(out, -1.0, 1.0, out=out)
    return out


def _read(sound: Sound, start: int, frames: int) -> np.ndarray:
    """Read frames from a position, zero-filled past the end of the file."""
    available = max(0, min(frames, sound.frames - start))
    if available and sound.tell() != start:
        sound.seek(start)
    if available:
        data = sound.read(available, dtype="float32", always_2d=True)
    else:
        data = np.zeros((0, sound.channels), dtype=np.float32)
    if data.shape[0] < frames:
        data = np.concatenate([data, np.zeros((frames - data.shape[0], sound.channels), np.float32)])
    return data
