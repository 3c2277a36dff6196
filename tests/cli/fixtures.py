import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]


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
    import soundfile

    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    for index in range(n):
        soundfile.write(folder / f"tone{index}.wav", 0.5 * np.sin(2 * np.pi * (220 + 110 * index) * t), rate)
    return folder


def write_video(path: Path, frames: int = 12, size: int = 32) -> Path:
    import av

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
