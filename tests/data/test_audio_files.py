"""FFmpeg-decoded audio (MP3, AAC/M4A) read in windows equals a full decode."""

import numpy as np
import pytest

from dirvae.data import AUDIO_EXTENSIONS, AudioFolder
from dirvae.data.audio_files import FFmpegSound, audio_info, open_audio

from .builders import ffmpeg_decode, sine, write_audio, write_ffmpeg_audio

RATE = 16000


def _chirp(frames: int, channels: int = 1) -> np.ndarray:
    t = np.arange(frames) / RATE
    wave = (0.4 * np.sin(2 * np.pi * (200 + 400 * t) * t)).astype(np.float32)
    return np.repeat(wave[:, None], channels, axis=1) * np.linspace(1.0, 0.5, channels, dtype=np.float32)


@pytest.mark.parametrize("name, codec", [("a.mp3", "libmp3lame"), ("a.m4a", "aac")])
def test_windows_in_any_order_equal_a_full_decode(tmp_path, name, codec):
    path = write_ffmpeg_audio(tmp_path / name, _chirp(3 * RATE, channels=2), RATE, codec)
    full = ffmpeg_decode(path)
    assert name.endswith(tuple(AUDIO_EXTENSIONS))
    size = 2048
    dataset = AudioFolder(tmp_path, sample_size=size, sample_rate=RATE, channels=2)
    assert len(dataset) == 3 * RATE // size
    # Shuffled order: every window is read after a seek (forwards and back).
    order = np.random.default_rng(0).permutation(len(dataset))
    for index in order:
        window = dataset[int(index)][0].numpy()
        expected = full[index * size : (index + 1) * size].T
        np.testing.assert_allclose(window, np.clip(expected, -1, 1), atol=1e-6)
    with FFmpegSound(path) as sound:  # reading on from the start, in uneven pieces
        pieces = [sound.read(n) for n in (1, 999, 4096, 7)]
        np.testing.assert_array_equal(np.concatenate(pieces), full[: 1 + 999 + 4096 + 7])
        sound.seek(30000)
        np.testing.assert_array_equal(sound.read(500), full[30000:30500])


def test_mp3_in_a_mixed_folder_and_alone(tmp_path):
    write_audio(tmp_path / "mixed" / "a.wav", sine(RATE, RATE), RATE)
    write_audio(tmp_path / "mixed" / "b.flac", sine(RATE, RATE), RATE)
    (tmp_path / "alone").mkdir()
    for folder in ("mixed", "alone"):
        write_ffmpeg_audio(tmp_path / folder / "c.mp3", _chirp(RATE), RATE, "libmp3lame")
    mixed = AudioFolder(tmp_path / "mixed", sample_size=4000, sample_rate=RATE)
    assert list(mixed.paths) == ["a.wav", "b.flac", "c.mp3"] and len(mixed) == 12
    alone = AudioFolder(tmp_path / "alone", sample_size=4000, sample_rate=RATE)
    assert len(alone) == 4 and alone.describe(3) == "c.mp3#window=3"


def test_info_and_fallback(tmp_path):
    path = write_ffmpeg_audio(tmp_path / "a.m4a", _chirp(RATE), RATE, "aac")
    info = audio_info(path)
    assert (info.frames, info.samplerate, info.channels) == (RATE, RATE, 1)
    # Files under a libsndfile name that libsndfile cannot read (AAC) or cannot
    # seek in (MP3) are decoded by FFmpeg.
    for source, codec in (("x.m4a", "aac"), ("x.mp3", "libmp3lame")):
        disguised = tmp_path / f"disguised-{codec}.wav"
        disguised.write_bytes(write_ffmpeg_audio(tmp_path / source, _chirp(RATE), RATE, codec).read_bytes())
        with open_audio(disguised) as sound:
            assert isinstance(sound, FFmpegSound) and sound.read(100).shape == (100, 1)
