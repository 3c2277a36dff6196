"""Plain helpers the CLI tests share: running ``dirvae``, writing tiny data, reading what it wrote.

Fixtures live in ``conftest.py`` beside this; this module holds only functions
and constants, imported by name.  The sizes below are those of the tiny runs
that ``conftest.use_runs`` trains once per session.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import soundfile
from PIL import Image

from dirvae.cli.main import main

K = 4
IMAGE_SIZE = 14  # 14 → 7 → 4 → 2: the resblock nets' latent is a 2×2 field
VIDEO_SIZE = 16
AUDIO_SIZE = 2048
SAMPLE_RATE = 8000
AUDIO_WINDOWS = 3  # each 1 s tone at 8 kHz holds 3 whole windows of 2048
VIDEO_FRAMES = 12


def run_cli(*args, cwd, timeout=300, env_extra=None, check=None):
    env = dict(os.environ)
    env.update(env_extra or {})
    env.setdefault("PYTHONUNBUFFERED", "1")
    result = subprocess.run(
        [sys.executable, "-m", "dirvae", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
    if check is not None:
        assert result.returncode == check, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return result


def write_images(folder: Path, n: int = 12, size: int = 16, classes: tuple[str, ...] = ()) -> Path:
    rng = np.random.default_rng(0)
    targets = [folder / c for c in classes] or [folder]
    for index in range(n):
        target = targets[index % len(targets)]
        target.mkdir(parents=True, exist_ok=True)
        array = (rng.random((size, size, 3)) * 255).astype(np.uint8)
        array[:, : size // 2] = 255 if index % 2 else 0
        Image.fromarray(array).save(target / f"img{index:03d}.png")
    return folder


def write_audio(folder: Path, n: int = 3, seconds: float = 1.0, rate: int = 8000) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    for index in range(n):
        soundfile.write(folder / f"tone{index}.wav", 0.5 * np.sin(2 * np.pi * (220 + 110 * index) * t), rate)
    return folder


TOPIC_WORDS = {
    "space": "planet orbit rocket star galaxy moon launch telescope astronaut comet".split(),
    "food": "bread cheese recipe oven butter flour sugar dinner kitchen spice".split(),
    "music": "guitar song melody concert piano rhythm band drum singer chord".split(),
}


def write_documents(folder: Path, per_topic: int = 20, words: int = 40, seed: int = 0) -> Path:
    """Text files in one sub-folder (label) per topic: mostly that topic's words, some of another's."""
    rng = np.random.default_rng(seed)
    topics = list(TOPIC_WORDS.values())
    for label, vocabulary in TOPIC_WORDS.items():
        target = folder / label
        target.mkdir(parents=True, exist_ok=True)
        for index in range(per_topic):
            other = topics[rng.integers(len(topics))]
            text = " ".join(rng.choice(vocabulary, words)) + " " + " ".join(rng.choice(other, words // 5))
            (target / f"{label}{index:03d}.txt").write_text(text, encoding="utf-8")
    return folder


def write_video(path: Path, frames: int = 12, size: int = 32) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=12)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        for index in range(frames):
            array = np.full((size, size, 3), index * 20 % 255, dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@dataclass
class Result:
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stderr.strip().splitlines() if line.strip()]


def assert_one_line_error(result: Result, message: str, command: str | None = None) -> str:
    """Exit 2, exactly one stderr line holding ``message``, no traceback."""
    assert result.returncode == 2, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    assert len(result.lines) == 1, result.stderr
    line = result.lines[0]
    assert message in line, line
    if command:
        assert line.startswith(f"dirvae {command}: error: "), line
    return line


# ------------------------------------------------------------- in-process CLI
def use_cli(capsys, *args) -> Result:
    """``dirvae ARGS`` in this process (argparse errors included), output captured."""
    capsys.readouterr()
    try:
        code = main([str(a) for a in args])
    except SystemExit as exit:  # argparse's usage errors
        code = exit.code if isinstance(exit.code, int) else 1
    out, err = capsys.readouterr()
    return Result(code, out, err)


def ok(capsys, *args) -> Result:
    result = use_cli(capsys, *args)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


# -------------------------------------------------------------- file readers
def image_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as picture:
        return picture.size


def image_array(path: Path) -> np.ndarray:
    with Image.open(path) as picture:
        return np.asarray(picture)


def gif_info(path: Path) -> tuple[int, int, tuple[int, int]]:
    """(frames, total duration in ms, size) of an animated GIF."""
    with Image.open(path) as picture:
        assert picture.format == "GIF"
        total = 0
        for index in range(picture.n_frames):
            picture.seek(index)
            total += picture.info.get("duration", 0)
        return picture.n_frames, total, picture.size


def video_info(path: Path) -> tuple[int, tuple[int, int], str]:
    """(decoded frames, (width, height), codec) of a video file."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return frames, (stream.codec_context.width, stream.codec_context.height), stream.codec_context.name


def wav_info(path: Path) -> tuple[int, int, int]:
    """(frames, sample rate, channels) of a sound file."""
    info = soundfile.info(str(path))
    return info.frames, info.samplerate, info.channels


def grid_size(n: int, columns: int, height: int, width: int, padding: int = 2) -> tuple[int, int]:
    """(width, height) of a make_grid picture of n items."""
    rows = -(-n // columns)
    return columns * (width + padding) + padding, rows * (height + padding) + padding


def distinct_frames(frames: np.ndarray) -> int:
    """Frames a GIF keeps: Pillow merges each frame equal to the one before."""
    return 1 + sum(1 for a, b in zip(frames[:-1], frames[1:]) if not np.array_equal(a, b))
