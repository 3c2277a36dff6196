"""Opening an audio file for windowed reading, through libsndfile or FFmpeg.

libsndfile (soundfile) reads WAV, FLAC, Ogg and friends sample-exactly from
any position, so those go through it.  MP3, AAC/M4A, WMA and the other
formats FFmpeg decodes go through PyAV: libsndfile 1.2.2 returns wrong
samples for an MP3 read from a seek position, and reads no AAC at all.

FFmpeg seeks to a packet, not a sample, and a lossy decoder needs a few
packets of history (MP3's bit reservoir, the MDCT overlap) before its output
is right.  So :class:`FFmpegSound` seeks a margin before the wanted sample,
decodes forward and places every decoded frame by its timestamp, counted from
the first frame of the file: a window equals the same samples of a full
decode of the file.
"""

from __future__ import annotations

import os
from typing import BinaryIO, NamedTuple, Protocol

import av
import numpy as np
import soundfile

# Extensions FFmpeg demuxes as audio, with the demuxer that must be present.
# .mp4/.webm/.mkv and the like are video containers (see formats.py).
FFMPEG_AUDIO = {
    ".mp3": "mp3", ".mp2": "mp3", ".m4a": "mov", ".m4b": "mov", ".aac": "aac", ".wma": "asf",
    ".ac3": "ac3", ".eac3": "eac3", ".mka": "matroska", ".weba": "webm", ".ape": "ape", ".wv": "wv",
    ".amr": "amr", ".tta": "tta", ".dts": "dts", ".mpc": "mpc", ".shn": "shn", ".dsf": "dsf",
}

# Source samples decoded (and dropped) before a seek target: MP3 needs two
# or three 1152-sample frames of history, AAC one 1024-sample frame, Opus
# 80 ms of pre-roll (measured: 0.2 s after an Ogg seek was not always enough).
SEEK_MARGIN = 8 * 1152
SEEK_MARGIN_SECONDS = 0.5


class AudioInfo(NamedTuple):
    frames: int
    samplerate: int
    channels: int


class Sound(Protocol):
    """What windowed reading needs of an open file (soundfile.SoundFile's subset)."""

    frames: int
    samplerate: int
    channels: int

    def tell(self) -> int: ...

    def seek(self, frame: int) -> int: ...

    def read(self, frames: int, dtype: str = ..., always_2d: bool = ...) -> np.ndarray: ...

    def close(self) -> None: ...


def ffmpeg_extensions() -> frozenset[str]:
    """The FFmpeg-only audio extensions whose demuxer this PyAV build has."""
    available = av.formats_available
    return frozenset(ext for ext, demuxer in FFMPEG_AUDIO.items() if demuxer in available)


def uses_ffmpeg(path: str | os.PathLike) -> bool:
    return os.path.splitext(str(path))[1].lower() in FFMPEG_AUDIO


def open_audio(path: str | os.PathLike) -> Sound:
    """An open file positioned at frame 0: soundfile's where it is exact, else FFmpeg's.

    A file libsndfile refuses (a WAV holding a codec it lacks, an Ogg Opus
    on an older libsndfile) is handed to FFmpeg before giving up.
    """
    if uses_ffmpeg(path):
        return FFmpegSound(path)
    try:
        sound = soundfile.SoundFile(str(path))
        if sound.format != "MP3":
            return sound
        sound.close()  # an MP3 stream under another name: libsndfile's seeks are wrong
        return FFmpegSound(path)
    except soundfile.LibsndfileError:
        try:
            return FFmpegSound(path)
        except Exception:
            pass
        raise


def audio_info(path: str | os.PathLike) -> AudioInfo:
    """Frame count, rate and channels from the header (FFmpeg: from the duration)."""
    if not uses_ffmpeg(path):
        try:
            info = soundfile.info(str(path))
            return AudioInfo(int(info.frames), int(info.samplerate), int(info.channels))
        except soundfile.LibsndfileError as error:
            refusal = error
    try:
        with FFmpegSound(path) as sound:
            return AudioInfo(sound.frames, sound.samplerate, sound.channels)
    except Exception:
        if uses_ffmpeg(path):
            raise
    raise refusal


_SCALE = {"u8": 128.0, "s16": 32768.0, "s32": 2147483648.0, "s64": 9223372036854775808.0}


def frame_samples(frame) -> np.ndarray:
    """One decoded frame as float32 [samples, channels], whatever its sample format."""
    array = frame.to_ndarray()
    name = frame.format.name
    channels = len(frame.layout.channels)
    if frame.format.is_planar:
        block = array.T
    else:
        block = array.reshape(-1, channels)
    base = name.rstrip("p")
    if base == "u8":
        return ((block.astype(np.float32) - 128.0) / 128.0).astype(np.float32)
    if base in _SCALE:
        return (block.astype(np.float32) / np.float32(_SCALE[base])).astype(np.float32)
    return block.astype(np.float32, copy=False)


class FFmpegSound:
    """An audio file decoded by FFmpeg, read like a soundfile.SoundFile.

    ``frames`` comes from the container's duration, so it can be off by a
    frame's worth at the end (MP3 without a Xing header estimates it from the
    bit rate); reading past the decoded end gives fewer samples, which the
    window reader pads with zeros.
    """

    def __init__(self, path: str | os.PathLike | BinaryIO) -> None:
        # A file-like (a shard's member in memory) is rewound and reopened where a path would be.
        self._source = path if hasattr(path, "read") else str(path)
        self.name = str(getattr(path, "name", path))
        self._open()

    def _open(self) -> None:
        """Open the file and decode its first frame, positioned at sample 0."""
        if hasattr(self._source, "seek"):
            self._source.seek(0)
        self._container = av.open(self._source)
        try:
            if not self._container.streams.audio:
                raise ValueError("no audio stream")
            self._stream = self._container.streams.audio[0]
            context = self._stream.codec_context
            self.samplerate = int(context.sample_rate or self._stream.rate or 0)
            self.channels = int(context.channels or len(context.layout.channels))
            if self.samplerate <= 0 or self.channels <= 0:
                raise ValueError("no sample rate or channel count in the header")
            self._rate_per_tick = float(self._stream.time_base) * self.samplerate
            if self._stream.duration is not None:
                seconds = float(self._stream.duration * self._stream.time_base)
            elif self._container.duration is not None:
                seconds = self._container.duration / 1_000_000
            else:
                seconds = 0.0
            self.frames = int(round(seconds * self.samplerate))
            self._frames = self._decoder()
            first = next(self._frames, None)
            if first is None:
                raise ValueError("no audio frames")
            # Timestamps count from the first decoded sample, as a full decode does.
            self._origin = self._ticks(first)
            self._pending: np.ndarray | None = frame_samples(first)
            self._pending_at = 0
            self._position = 0
        except Exception:
            self._container.close()
            raise

    def _decoder(self):
        # demux() ends with an empty packet, whose decode() drains the decoder.
        for packet in self._container.demux(self._stream):
            yield from packet.decode()

    def _ticks(self, frame) -> int:
        return int(round(frame.pts * self._rate_per_tick)) if frame.pts is not None else 0

    def __enter__(self) -> "FFmpegSound":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def tell(self) -> int:
        return self._position

    def seek(self, frame: int) -> int:
        frame = max(0, int(frame))
        if frame == self._position:
            return frame
        margin = max(SEEK_MARGIN, int(SEEK_MARGIN_SECONDS * self.samplerate))
        if frame <= margin:
            # Near the start, decode from the very start: a seek lands a packet
            # late there, and only a fresh decoder trims the encoder delay
            # exactly as a full decode does.
            self._container.close()
            self._open()
        else:
            ticks = int((frame - margin + self._origin) / self._rate_per_tick)
            self._stream.codec_context.flush_buffers()
            self._container.seek(ticks, stream=self._stream, backward=True, any_frame=False)
            self._frames = self._decoder()
            self._pending = None
        self._position = frame
        return frame

    def _next_block(self) -> tuple[int, np.ndarray] | None:
        """The next decoded frame: (its first sample's position, samples)."""
        if self._pending is not None:
            block, at = self._pending, self._pending_at
            self._pending = None
            return at, block
        frame = next(self._frames, None)
        if frame is None:
            return None
        return self._ticks(frame) - self._origin, frame_samples(frame)

    def read(self, frames: int, dtype: str = "float32", always_2d: bool = True) -> np.ndarray:
        """Up to ``frames`` samples from the current position (fewer at the end)."""
        wanted = int(frames)
        parts: list[np.ndarray] = []
        got = 0
        while got < wanted:
            found = self._next_block()
            if found is None:
                break
            at, block = found
            skip = self._position + got - at
            if skip >= block.shape[0]:
                continue  # decoded before the position: the seek margin
            if skip < 0:
                # A gap in the timestamps: silence, as FFmpeg's own tools fill it.
                gap = min(-skip, wanted - got)
                parts.append(np.zeros((gap, block.shape[1]), np.float32))
                got += gap
                if got >= wanted:
                    self._pending, self._pending_at = block, at
                    break
                skip = 0
            take = block[skip : skip + wanted - got]
            parts.append(take)
            got += take.shape[0]
            if skip + take.shape[0] < block.shape[0]:
                self._pending, self._pending_at = block, at
        self._position += got
        if not parts:
            return np.zeros((0, self.channels), np.float32)
        data = np.concatenate(parts).astype(np.float32, copy=False)
        if data.shape[1] != self.channels:  # a stream whose layout changed midway
            data = data[:, : self.channels] if data.shape[1] > self.channels else np.repeat(data, self.channels, axis=1)[:, : self.channels]
        return data

    def close(self) -> None:
        self._container.close()
