"""Decoding a file held in memory (a shard's member, a table cell) into training items, exactly as the folders do.

A shard holds the same bytes a folder's file does; these functions read them
from memory with the folder readers' own preprocessing (:func:`load_image`,
:func:`read_window`, :func:`frame_to_tensor`), so an item from a shard equals
the item from the file it was packed from.
"""

from __future__ import annotations

import io

import av
import soundfile
import torch
from torch import Tensor

from dirvae.data.audio import padding_mode
from dirvae.data.audio_files import FFMPEG_AUDIO, FFmpegSound, Sound
from dirvae.data.audio_windows import ChannelSpec, read_window, resampled_length
from dirvae.data.pixels import load_image, picture_format
from dirvae.data.video import frame_to_tensor
from dirvae.data.video_frames import single_threaded


def decode_picture(payload: bytes, extension: str, image_size: int | None, grayscale: bool) -> list[Tensor]:
    """One picture: ``[C, S, S]`` in [0, 1]; the extension's format is tried first."""
    return [load_image(io.BytesIO(payload), image_size, grayscale, picture_format(extension))]


def open_sound(payload: bytes, extension: str) -> Sound:
    """Sound bytes opened for windowed reading: libsndfile where it reads them exactly, else FFmpeg.

    With no extension (a table column of bare bytes) libsndfile sniffs the
    format first, as a folder's file refused by it is handed to FFmpeg.
    """
    if extension.lower() in FFMPEG_AUDIO:
        return FFmpegSound(io.BytesIO(payload))
    try:
        sound = soundfile.SoundFile(io.BytesIO(payload))
    except soundfile.LibsndfileError:
        return FFmpegSound(io.BytesIO(payload))
    if sound.format == "MP3":  # libsndfile's MP3 seeks are wrong (see audio_files)
        sound.close()
        return FFmpegSound(io.BytesIO(payload))
    return sound


def sound_windows(frames: int, rate: int, target: int, size: int, pad_last: str) -> int:
    """Windows of one sound, by the folder reader's rule for ``pad_last``."""
    whole, rest = divmod(resampled_length(frames, rate, target), size)
    padded = pad_last == "all" or (pad_last == "short" and whole == 0)
    return whole + (1 if rest and padded else 0)


def decode_sound(
    payload: bytes, extension: str, *, sample_size: int, sample_rate: int, channels: ChannelSpec, pad_last: str
) -> list[Tensor]:
    """Consecutive windows ``[C, sample_size]`` at ``sample_rate``, as :class:`~dirvae.data.AudioFolder` cuts a file."""
    sound = open_sound(payload, extension)
    try:
        if sound.frames <= 0 or sound.samplerate <= 0:
            raise ValueError("no audio frames")
        count = sound_windows(sound.frames, sound.samplerate, sample_rate, sample_size, padding_mode(pad_last))
        return [
            torch.from_numpy(read_window(sound, window * sample_size, sample_size, sound.samplerate, sample_rate, channels))
            for window in range(count)
        ]
    finally:
        sound.close()


def decode_clip(payload: bytes, image_size: int | None, grayscale: bool) -> list[Tensor]:
    """Every frame of a clip in presentation order, as :class:`~dirvae.data.VideoFolder` makes them."""
    with av.open(io.BytesIO(payload)) as container:
        if not container.streams.video:
            raise ValueError("no video stream")
        stream = container.streams.video[0]
        single_threaded(stream)
        frames = [frame_to_tensor(frame, image_size, grayscale) for frame in container.decode(stream)]
    if not frames:
        raise ValueError("no decodable frame")
    return frames
