"""Writing what the use commands make: grids, strips, GIFs, MP4s, WAVs and latent tables.

Tensors are in data space, as :mod:`dirvae.media` takes them: pictures
``[N, C, H, W]`` in [0, 1] (C = 1 or 3), sounds ``[N, C, T]`` in [-1, 1].
The output's kind follows its name:

- ``.png .jpg .jpeg .bmp .tif .tiff .webp``: one picture (a grid or a strip);
- ``.gif``: an animated GIF, one frame per picture (Pillow);
- ``.mp4 .m4v .mov .mkv``: a video, H.264 when FFmpeg has it (PyAV);
- ``.wav .flac``: one sound, the clips back to back (soundfile);
- ``.csv .npy``: a latent table;
- no extension (or an existing folder): a folder of numbered PNGs or WAVs.

Every file is written atomically (a temporary file moved into place).
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from dirvae.atomic import atomic_write
from dirvae.audio_stitching import join_clips
from dirvae.errors import DirvaeError
from dirvae.media import make_grid, to_pil

IMAGE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".webp": "WEBP",
}
VIDEO_FORMATS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}
AUDIO_FORMATS = {".wav": "WAV", ".flac": "FLAC"}

KIND_NAMES = {
    "image": "a picture (.png, .jpg, ...)",
    "gif": "an animated .gif",
    "video": "a video (.mp4, .mov, .mkv)",
    "audio": "a sound (.wav, .flac)",
    "csv": "a .csv table",
    "npy": "a .npy array",
    "folder": "a folder (a path with no extension)",
}


# ---------------------------------------------------------------------- kinds
def output_kind(path: str | Path) -> str:
    """``image``, ``gif``, ``video``, ``audio``, ``csv``, ``npy``, ``folder`` or ``unknown``."""
    path = Path(path)
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    if suffix in IMAGE_FORMATS:
        return "image"
    if suffix == ".gif":
        return "gif"
    if suffix in VIDEO_FORMATS:
        return "video"
    if suffix in AUDIO_FORMATS:
        return "audio"
    if suffix in (".csv", ".npy"):
        return suffix[1:]
    if suffix == "":
        return "folder"
    return "unknown"


def check_output(path: str | Path, kinds: Sequence[str], what: str) -> str:
    """The kind of ``path`` if ``what`` can be written that way, else one clear error."""
    kind = output_kind(path)
    if kind not in kinds:
        choices = "; ".join(KIND_NAMES[k] for k in kinds)
        raise DirvaeError(f"--out {path}: {what} can be written as {choices}")
    if kind == "folder" and Path(path).is_file():
        raise DirvaeError(f"--out {path}: is a file, not a folder")
    return kind


def _numbered(folder: Path, stem: str, count: int, suffix: str) -> list[Path]:
    width = max(3, len(str(count - 1)))
    return [folder / f"{stem}_{index:0{width}d}{suffix}" for index in range(count)]


def safe_stem(name: str) -> str:
    """A file-name-safe stem for an item name (``/data/b.wav#window=2`` → ``b_window_2``)."""
    stem = Path(name.split("#", 1)[0]).stem
    tail = name.split("#", 1)[1] if "#" in name else ""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{stem}_{tail}" if tail else stem).strip("._")
    return cleaned or "item"


# ------------------------------------------------------------------- pictures
def to_uint8(images: Tensor, rgb: bool = False) -> np.ndarray:
    """``[N, C, H, W]`` in [0, 1] → ``[N, H, W, C]`` uint8 (C = 3 when ``rgb``)."""
    array = (images.detach().float().clamp(0, 1).cpu().numpy() * 255.0 + 0.5).astype(np.uint8)
    array = array.transpose(0, 2, 3, 1)
    if rgb and array.shape[-1] == 1:
        array = np.repeat(array, 3, axis=-1)
    return np.ascontiguousarray(array[..., :3])


def save_image(image: Tensor, path: str | Path) -> Path:
    """One ``[C, H, W]`` picture, in the format its extension names."""
    path = Path(path)
    fmt = IMAGE_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise DirvaeError(f"{path}: not a picture extension ({', '.join(sorted(IMAGE_FORMATS))})")
    picture = to_pil(image)
    return atomic_write(path, lambda tmp: picture.save(tmp, format=fmt))


def save_grid(images: Tensor, path: str | Path, columns: int | None = None, padding: int = 2) -> Path:
    """``[N, C, H, W]`` tiled ``columns`` wide (default about square) into one picture."""
    return save_image(make_grid(images.detach().float().cpu(), columns=columns, padding=padding), path)


def save_strip(images: Tensor, path: str | Path, padding: int = 2) -> Path:
    """``[N, C, H, W]`` side by side in one row."""
    return save_grid(images, path, columns=images.shape[0], padding=padding)


def save_frames(images: Tensor, folder: str | Path, stem: str = "frame") -> list[Path]:
    """One PNG per picture: ``folder/stem_000.png``, ``stem_001.png``, ..."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = _numbered(folder, stem, images.shape[0], ".png")
    for image, path in zip(images, paths):
        save_image(image, path)
    return paths


def save_gif(frames: Tensor, path: str | Path, fps: float = 8.0, loop: bool = True) -> Path:
    """An animated GIF, one frame per picture, ``fps`` frames a second.

    Pillow merges a frame identical to the one before into it (lengthening
    its duration), so the total duration is always ``N / fps`` but a GIF of
    repeated pictures holds fewer frames.
    """
    if frames.shape[0] < 1:
        raise ValueError("a GIF needs at least one frame")
    pictures = [to_pil(frame) for frame in frames.detach().float().cpu()]
    duration = max(10, int(round(1000.0 / float(fps))))
    options = {"format": "GIF", "save_all": True, "append_images": pictures[1:], "duration": duration}
    if loop:
        options["loop"] = 0
    return atomic_write(path, lambda tmp: pictures[0].save(tmp, **options))


def video_codec() -> str:
    """H.264 (libx264) when this FFmpeg build has it, else MPEG-4 Part 2."""
    import av

    for name in ("libx264", "mpeg4"):
        try:
            av.codec.Codec(name, "w")
            return name
        except Exception:
            continue
    raise DirvaeError("this FFmpeg build (PyAV) has no H.264 or MPEG-4 encoder; write a .gif instead")


def save_video(frames: Tensor, path: str | Path, fps: float = 8.0) -> Path:
    """An MP4 (or .mov/.mkv) of ``[N, C, H, W]`` frames through PyAV.

    YUV 4:2:0 needs even sides, so an odd height or width gets one repeated
    row or column.
    """
    import av

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
                stream.options = {"crf": "15"}
            for picture in array:
                for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)

    return atomic_write(path, write)


def save_pictures(
    images: Tensor,
    out: str | Path,
    kind: str,
    *,
    columns: int | None = None,
    fps: float = 8.0,
    stem: str = "image",
) -> str:
    """Write pictures the way ``kind`` says; returns what was written, for the user."""
    out = Path(out)
    n = images.shape[0]
    if kind == "image":
        save_grid(images, out, columns=columns)
        return f"{out}"
    if kind == "gif":
        save_gif(images, out, fps=fps)
        return f"{out} ({n} frames at {fps:g} fps)"
    if kind == "video":
        save_video(images, out, fps=fps)
        return f"{out} ({n} frames at {fps:g} fps)"
    if kind == "folder":
        paths = save_frames(images, out, stem)
        return f"{out}/ ({len(paths)} PNG files, {paths[0].name} ...)"
    raise DirvaeError(f"--out {out}: pictures cannot be written as {kind}")


# --------------------------------------------------------------------- sounds
def save_audio(audio: Tensor, path: str | Path, sample_rate: int) -> Path:
    """``[C, T]`` (or ``[T]``) in [-1, 1] to a 16-bit WAV or FLAC."""
    import soundfile

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
    paths = _numbered(folder, stem, clips.shape[0], ".wav")
    for clip, path in zip(clips, paths):
        save_audio(clip, path, sample_rate)
    return paths


def save_sounds(clips: Tensor, out: str | Path, kind: str, sample_rate: int, *, stem: str = "clip") -> str:
    """Clips ``[N, C, T]`` as one sound (back to back) or a folder of WAVs."""
    out = Path(out)
    n, _, length = clips.shape
    if kind == "audio":
        # Different sounds have nothing to overlap: each fades in and out so no join clicks.
        save_audio(join_clips(clips, sample_rate), out, sample_rate)
        return f"{out} ({n} × {length} samples at {sample_rate} Hz, back to back, each faded in and out)"
    if kind == "folder":
        paths = save_audio_files(clips, out, sample_rate, stem)
        return f"{out}/ ({len(paths)} WAV files of {length} samples at {sample_rate} Hz, {paths[0].name} ...)"
    raise DirvaeError(f"--out {out}: sounds cannot be written as {kind}")


# -------------------------------------------------------------------- latents
def split_name(name: str) -> tuple[str, str | None, int | None]:
    """``"a.wav#window=3"`` → ("a.wav", "window", 3); ``"a.png"`` → ("a.png", None, None)."""
    match = re.fullmatch(r"(?P<file>.*)#(?P<key>[A-Za-z_]+)=(?P<index>\d+)", name)
    if match is None:
        return name, None, None
    return match["file"], match["key"], int(match["index"])


class LatentTable:
    """Rows of posterior means and concentrations for ``dirvae encode``.

    ``field="average"`` gives one K-vector per row: the posterior means
    averaged over the latent's positions (still a point on the simplex, as
    an average of points on it) and the α averaged likewise.
    ``field="flatten"`` keeps every position: columns ``z_k@i`` for a 1-D
    field (audio: time step i) and ``z_k@i_j`` for a 2-D one (row i, column
    j), component-major.  A latent with a single position gives plain
    ``z_k`` either way.  Gaussian runs have ``std_k`` where Dirichlet runs
    have ``alpha_k``.

    ``index`` names an extra integer column (``window`` for audio, ``frame``
    for video) split off item names such as ``a.wav#window=3``.
    """

    def __init__(
        self,
        model_size: int,
        latent_shape: Sequence[int] = (),
        field: str = "average",
        kind: str = "dirichlet",
        index: str | None = None,
    ) -> None:
        if field not in ("average", "flatten"):
            raise ValueError(f"field must be 'average' or 'flatten', not {field!r}")
        self.k = int(model_size)
        self.rest = tuple(int(s) for s in latent_shape)
        self.positions = math.prod(self.rest) if self.rest else 1
        self.field = field
        self.second = "std" if kind == "gaussian" else "alpha"
        self.index = index
        self.keeps_positions = field == "flatten" and self.positions > 1
        self.value_shape: tuple[int, ...] = (self.k, *self.rest) if self.keeps_positions else (self.k,)

    def value_names(self, prefix: str) -> list[str]:
        if not self.keeps_positions:
            return [f"{prefix}_{k}" for k in range(self.k)]
        places = ["_".join(map(str, where)) for where in np.ndindex(*self.rest)]
        return [f"{prefix}_{k}@{place}" for k in range(self.k) for place in places]

    @property
    def header(self) -> list[str]:
        index = [self.index] if self.index else []
        return ["file", *index, *self.value_names("z"), *self.value_names(self.second)]

    def values(self, posterior) -> tuple[np.ndarray, np.ndarray]:
        """``[B, D]`` means and ``[B, D]`` α (or σ) from a posterior, D = len(value_names)."""
        mean = posterior.mean.detach().float()
        second = getattr(posterior, "concentration", None)
        if second is None:
            second = posterior.std
        second = second.detach().float()
        batch = mean.shape[0]
        if self.keeps_positions:
            return mean.reshape(batch, -1).cpu().numpy(), second.reshape(batch, -1).cpu().numpy()
        mean = mean.reshape(batch, self.k, -1).mean(dim=2)
        second = second.reshape(batch, self.k, -1).mean(dim=2)
        return mean.cpu().numpy(), second.cpu().numpy()

    def rows(self, names: Sequence[str], posterior) -> list[tuple[str, int | None, np.ndarray, np.ndarray]]:
        means, seconds = self.values(posterior)
        rows = []
        for name, mean, second in zip(names, means, seconds):
            file, key, number = split_name(name) if self.index else (name, None, None)
            if self.index and key != self.index:
                file, number = name, -1
            rows.append((file, number, mean, second))
        return rows

    # ------------------------------------------------------------- writers
    def write(self, path: str | Path, batches: Iterable[tuple[Sequence[str], object]]) -> int:
        """Write ``(names, posterior)`` batches as CSV or NPY (by extension); returns the row count."""
        path = Path(path)
        if path.suffix.lower() == ".csv":
            return self._write_csv(path, batches)
        if path.suffix.lower() == ".npy":
            return self._write_npy(path, batches)
        raise DirvaeError(f"--out {path}: latents are written as .csv or .npy")

    def _write_csv(self, path: Path, batches) -> int:
        count = 0

        def write(tmp: str) -> None:
            nonlocal count
            with open(tmp, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(self.header)
                for names, posterior in batches:
                    for file, number, mean, second in self.rows(names, posterior):
                        index = [number] if self.index else []
                        writer.writerow([file, *index, *(f"{v:.7g}" for v in mean), *(f"{v:.7g}" for v in second)])
                        count += 1

        atomic_write(path, write)
        return count

    def dtype(self, name_length: int) -> np.dtype:
        fields: list[tuple] = [("file", f"U{max(1, name_length)}")]
        if self.index:
            fields.append((self.index, "i8"))
        fields += [("z", "f4", self.value_shape), (self.second, "f4", self.value_shape)]
        return np.dtype(fields)

    def _write_npy(self, path: Path, batches) -> int:
        rows = [row for names, posterior in batches for row in self.rows(names, posterior)]
        table = np.zeros(len(rows), dtype=self.dtype(max((len(r[0]) for r in rows), default=1)))
        for i, (file, number, mean, second) in enumerate(rows):
            table["file"][i] = file
            if self.index:
                table[self.index][i] = number
            table["z"][i] = mean.reshape(self.value_shape)
            table[self.second][i] = second.reshape(self.value_shape)

        def write(tmp: str) -> None:
            # A file object, not a name: np.save would append ".npy" to the temporary name.
            with open(tmp, "wb") as handle:
                np.save(handle, table, allow_pickle=False)

        atomic_write(path, write)
        return len(rows)
