"""Videos: ``[N, C, H, W]`` frames in [0, 1] to MP4/MOV/MKV through PyAV (FFmpeg)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from torch import Tensor

from dirvae.io.atomic import atomic_write
from dirvae.errors import DirvaeError
from dirvae.io.pictures import to_uint8

VIDEO_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}


def video_codec() -> str:
    """H.264 (libx264) when this FFmpeg build has it, else MPEG-4 Part 2."""
    for name in ("libx264", "mpeg4"):
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:
            continue
    raise DirvaeError("this FFmpeg build (PyAV) has no H.264 or MPEG-4 encoder; write a .gif instead")


def save_video(frames: Tensor, path: str | Path, fps: float = 8.0, *, crf: int = 15) -> Path:
    """An MP4 (or .mov/.mkv) of ``[N, C, H, W]`` frames through PyAV.

    YUV 4:2:0 needs even sides, so an odd height or width gets one repeated
    row or column.  ``crf`` is x264's constant rate factor: 15 keeps a
    model's outputs close to lossless, 23 (x264's default) is what a user's
    camera or encoder typically gives; MPEG-4 Part 2 uses FFmpeg's default.
    """
    path = Path(path)
    container_format = VIDEO_FORMATS.get(path.suffix.lower())
    if container_format is None:
        raise DirvaeError(f"{path}: not a video extension ({', '.join(sorted(VIDEO_FORMATS))})")
    array = to_uint8(frames, rgb=True)
    _, height, width, _ = array.shape
    pad_h, pad_w = height % 2, width % 2
    if pad_h or pad_w:
        array = np.pad(array, ((0, 0), (0, pad_h), (0, pad_w), (0, 0)), mode="edge")
    codec = video_codec()
    rate = Fraction(fps).limit_denominator(1001)

    def write(tmp: str) -> None:
        with av.open(tmp, "w", format=container_format) as container:
            stream = container.add_stream(codec, rate=rate)
            stream.width, stream.height = width + pad_w, height + pad_h
            stream.pix_fmt = "yuv420p"
            if codec == "libx264":
                stream.options = {"crf": str(int(crf))}
            for picture in array:
                for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)

    return atomic_write(path, write)
