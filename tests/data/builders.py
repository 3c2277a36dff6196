"""Fixture builders for the data tests: every file is generated in a temp dir.

Plain functions rather than fixtures, so each test lays out exactly the
folder it needs (tiny files: the whole data suite runs in seconds).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import av
import numpy as np
import soundfile
from PIL import Image

# --- images -------------------------------------------------------------


def solid(colour, size=(24, 16), mode="RGB") -> Image.Image:
    return Image.new(mode, size, colour)


def write_format_images(folder: Path) -> dict[str, tuple[float, ...]]:
    """One image per format/mode, each a solid colour; returns name -> RGB in [0, 1]."""
    folder.mkdir(parents=True, exist_ok=True)
    expected: dict[str, tuple[float, ...]] = {}

    def save(name, image, colour, **kwargs):
        image.save(folder / name, **kwargs)
        expected[name] = tuple(c / 255 for c in colour)

    save("rgb.jpg", solid((200, 40, 40)), (200, 40, 40), quality=95)
    save("gray.jpg", solid(120, mode="L"), (120, 120, 120), quality=95)
    save("cmyk.jpg", solid((0, 0, 0, 0), mode="CMYK"), (255, 255, 255), quality=95)
    save("rgb.png", solid((10, 200, 30)), (10, 200, 30))
    palette = solid((30, 60, 220)).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    save("palette.png", palette, (30, 60, 220))
    save("rgba.png", solid((250, 250, 10, 255), mode="RGBA"), (250, 250, 10))
    save("half_alpha.png", solid((200, 100, 50, 128), mode="RGBA"), tuple(c * 128 / 255 for c in (200, 100, 50)))
    save("la.png", solid((90, 255), mode="LA"), (90, 90, 90))
    sixteen = Image.fromarray(np.full((16, 24), 40000, dtype=np.uint16))
    assert sixteen.mode.startswith("I;16")
    save("gray16.png", sixteen, (40000 / 65535 * 255,) * 3)
    rgb16 = np.zeros((16, 24, 3), dtype=">u2")
    rgb16[..., 0], rgb16[..., 1] = 65535, 32768
    (folder / "rgb16.png").write_bytes(png_bytes(rgb16, colour_type=2))
    expected["rgb16.png"] = (1.0, 32768 / 65535, 0.0)
    save("bitmap.bmp", solid((5, 6, 250)), (5, 6, 250))
    save("picture.tif", solid((123, 45, 67)), (123, 45, 67))
    save("picture.webp", solid((60, 180, 90)), (60, 180, 90), lossless=True)
    frames = [solid((255, 0, 0)).convert("P"), solid((0, 0, 255)).convert("P")]
    frames[0].save(folder / "animated.gif", save_all=True, append_images=frames[1:], duration=50)
    expected["animated.gif"] = (1.0, 0.0, 0.0)  # first frame only
    return expected


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(pixels: np.ndarray, colour_type: int) -> bytes:
    """A PNG written by hand, for bit depths Pillow cannot save (16-bit RGB)."""
    height, width = pixels.shape[:2]
    depth = pixels.dtype.itemsize * 8
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    raw = b"".join(b"\x00" + pixels[row].tobytes() for row in range(height))
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b"")


def png_bomb(path: Path, side: int = 100_000) -> None:
    """A tiny PNG whose header claims side x side pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * 64)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body) + _chunk(b"IEND", b""))


def write_broken_images(folder: Path) -> list[str]:
    """Zero-byte, truncated, mislabelled and bomb files; returns their names."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.jpg").write_bytes(b"")
    buffer = folder / "whole.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buffer)
    data = buffer.read_bytes()
    buffer.unlink()
    (folder / "truncated.jpg").write_bytes(data[: len(data) // 3])
    (folder / "notes.png").write_text("this is not an image\n" * 20)
    png_bomb(folder / "bomb.png")
    return ["bomb.png", "empty.jpg", "notes.png", "truncated.jpg"]


# --- audio --------------------------------------------------------------


def sine(frames: int, rate: int, frequency: float = 440.0, amplitude: float = 0.5, channels: int = 1) -> np.ndarray:
    t = np.arange(frames) / rate
    wave = (amplitude * np.sin(2 * np.pi * frequency * t)).astype(np.float32)
    return np.repeat(wave[:, None], channels, axis=1)


def write_audio(path: Path, data: np.ndarray, rate: int, **kwargs) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, data, rate, **kwargs)
    return path


# --- video --------------------------------------------------------------

VIDEO_SIDE = 64
CODE_BITS = 6  # frames 0..63 are told apart


def coded_frame(index: int) -> np.ndarray:
    """A frame showing its own index as white/black stripes (robust to compression).

    Stripes 0-5 are the bits of the index; stripe 6 is always white and 7
    always black, as references.
    """
    image = np.zeros((VIDEO_SIDE, VIDEO_SIDE, 3), dtype=np.uint8)
    width = VIDEO_SIDE // 8
    for bit in range(CODE_BITS):
        if (index >> bit) & 1:
            image[:, bit * width : (bit + 1) * width] = 255
    image[:, 6 * width : 7 * width] = 255
    return image


def read_code(frame) -> int:
    """The index shown by a [C, 64, 64] tensor made from coded_frame."""
    pixels = np.asarray(frame, dtype=np.float32).mean(axis=0)
    width = pixels.shape[1] // 8
    stripes = [pixels[:, b * width + width // 4 : (b + 1) * width - width // 4].mean() for b in range(8)]
    assert stripes[6] > 0.8 and stripes[7] < 0.2, stripes
    return sum(1 << bit for bit in range(CODE_BITS) if stripes[bit] > 0.5)


def write_video(path: Path, codec: str, frames: int, options: dict[str, str] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=25)
        stream.width = stream.height = VIDEO_SIDE
        stream.pix_fmt = "yuvj420p" if codec == "mjpeg" else "yuv420p"
        if options:
            stream.options = options
        for index in range(frames):
            frame = av.VideoFrame.from_ndarray(coded_frame(index), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


# Container/codec pairs the issue names; h264 with B-frames reorders
# packets, which is what a naive frame counter gets wrong.
VIDEO_KINDS = {
    "h264.mp4": ("libx264", {"g": "8", "bf": "2"}),
    "vp8.webm": ("libvpx", {"g": "8"}),
    "mpeg4.mkv": ("mpeg4", {"g": "8"}),
    "mjpeg.avi": ("mjpeg", None),
}


def write_ffmpeg_audio(path: Path, data: np.ndarray, rate: int, codec: str) -> Path:
    """Encode [frames, channels] float audio with PyAV (e.g. libmp3lame for .mp3, aac for .m4a)."""
    layout = "mono" if data.shape[1] == 1 else "stereo"
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        for start in range(0, data.shape[0], 1024):
            chunk = np.ascontiguousarray(data[start : start + 1024].T, dtype=np.float32)
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
            frame.sample_rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def ffmpeg_decode(path: Path) -> np.ndarray:
    """The whole file decoded by FFmpeg in one pass, [frames, channels] float32 (planar float codecs)."""
    with av.open(str(path)) as container:
        frames = [frame.to_ndarray() for frame in container.decode(audio=0)]
    assert all(frame.dtype == np.float32 for frame in frames)
    return np.concatenate(frames, axis=1).T
