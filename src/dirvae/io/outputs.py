"""``--out`` for the tools: which kind of file a name asks for, and writing pictures or sounds that way.

- ``.png .jpg .jpeg .bmp .tif .tiff .webp``: one picture (a grid or a strip);
- ``.gif``: an animated GIF, one frame per picture (Pillow);
- ``.mp4 .m4v .mov .mkv``: a video, H.264 when FFmpeg has it (PyAV);
- ``.wav .flac``: one sound, the clips back to back (soundfile);
- ``.csv .npy``: a latent table (:mod:`dirvae.io.tables`);
- no extension (or an existing folder): a folder of numbered PNGs or WAVs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from torch import Tensor

from dirvae.io.stitching import join_clips
from dirvae.errors import DirvaeError
from dirvae.io.pictures import IMAGE_FORMATS, save_frames, save_gif, save_grid
from dirvae.io.sounds import AUDIO_FORMATS, save_audio, save_audio_files
from dirvae.io.video import VIDEO_FORMATS, save_video

TEXT_SUFFIXES = {".txt": "plain", ".md": "markdown", ".json": "json"}

KIND_NAMES = {
    "picture": "a picture (.png, .jpg, ...)",
    "gif": "an animated .gif",
    "movie": "a video (.mp4, .mov, .mkv)",
    "sound": "a sound (.wav, .flac)",
    "plain": "plain text (.txt)",
    "markdown": "Markdown (.md)",
    "json": "JSON (.json)",
    "csv": "a .csv table",
    "npy": "a .npy array",
    "folder": "a folder (a path with no extension)",
}


def output_kind(path: str | Path) -> str:
    """``picture``, ``gif``, ``movie``, ``sound``, ``plain``, ``markdown``, ``json``, ``csv``, ``npy``, ``folder`` or ``unknown``."""
    path = Path(path)
    if path.is_dir():
        return "folder"
    suffix = path.suffix.lower()
    if suffix in IMAGE_FORMATS:
        return "picture"
    if suffix == ".gif":
        return "gif"
    if suffix in VIDEO_FORMATS:
        return "movie"
    if suffix in AUDIO_FORMATS:
        return "sound"
    if suffix in (".csv", ".npy"):
        return suffix[1:]
    if suffix in TEXT_SUFFIXES:
        return TEXT_SUFFIXES[suffix]
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


def save_pictures(
    images: Tensor,
    out: str | Path,
    kind: str,
    *,
    columns: int | None = None,
    fps: float = 8.0,
    stem: str = "picture",
) -> str:
    """Write pictures the way ``kind`` says; returns what was written, for the user."""
    out = Path(out)
    n = images.shape[0]
    if kind == "picture":
        save_grid(images, out, columns=columns)
        return f"{out}"
    if kind == "gif":
        save_gif(images, out, fps=fps)
        return f"{out} ({n} frames at {fps:g} fps)"
    if kind == "movie":
        save_video(images, out, fps=fps)
        return f"{out} ({n} frames at {fps:g} fps)"
    if kind == "folder":
        paths = save_frames(images, out, stem)
        return f"{out}/ ({len(paths)} PNG files, {paths[0].name} ...)"
    raise DirvaeError(f"--out {out}: pictures cannot be written as {kind}")


def save_sounds(clips: Tensor, out: str | Path, kind: str, sample_rate: int, *, stem: str = "clip") -> str:
    """Clips ``[N, C, T]`` as one sound (back to back) or a folder of WAVs."""
    out = Path(out)
    n, _, length = clips.shape
    if kind == "sound":
        # Different sounds have nothing to overlap: each fades in and out so no join clicks.
        save_audio(join_clips(clips, sample_rate), out, sample_rate)
        return f"{out} ({n} × {length} samples at {sample_rate} Hz, back to back, each faded in and out)"
    if kind == "folder":
        paths = save_audio_files(clips, out, sample_rate, stem)
        return f"{out}/ ({len(paths)} WAV files of {length} samples at {sample_rate} Hz, {paths[0].name} ...)"
    raise DirvaeError(f"--out {out}: sounds cannot be written as {kind}")
