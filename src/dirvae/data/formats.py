"""Which file extensions each kind of data file has.

Listing (and guessing a folder's modality, in :mod:`dirvae.data.files`) goes by extension only: opening every file to sniff its content would
make a 100k-image folder take minutes to start.  Content is checked when an
item is read, so a mislabelled file is still caught (and skipped) there.
"""

from __future__ import annotations

import os

import soundfile
from PIL import Image

from dirvae.data.audio_files import ffmpeg_extensions

# Pillow registers some extensions it can only identify, not decode (stub
# plugins, EPS needing Ghostscript, MPEG headers); accepting them would only
# produce a skipped file per item.  .mpg/.mpeg belong to video.
_PILLOW_UNUSABLE = {
    ".bufr", ".grib", ".h5", ".hdf", ".wmf", ".emf", ".eps", ".ps", ".mpeg", ".mpg", ".iim",
}


def _image_extensions() -> frozenset[str]:
    Image.init()
    readable = {ext for ext, fmt in Image.EXTENSION.items() if fmt in Image.OPEN}
    return frozenset(readable - _PILLOW_UNUSABLE)


def _audio_extensions() -> frozenset[str]:
    """libsndfile's formats (read exactly from any position) and FFmpeg's other audio formats.

    MP3 always goes through FFmpeg (see audio_files): libsndfile 1.2.2 reads
    it right as a whole but wrong from a seek position.
    """
    formats = set(soundfile.available_formats())
    by_format = {
        "WAV": (".wav", ".wave"),
        "WAVEX": (".wav",),
        "FLAC": (".flac",),
        "OGG": (".ogg", ".oga", ".opus"),
        "AIFF": (".aif", ".aiff", ".aifc"),
        "AU": (".au", ".snd"),
        "CAF": (".caf",),
        "W64": (".w64",),
        "RF64": (".rf64",),
    }
    libsndfile = {ext for fmt, exts in by_format.items() if fmt in formats for ext in exts}
    return frozenset(libsndfile | ffmpeg_extensions())


IMAGE_EXTENSIONS: frozenset[str] = _image_extensions()
AUDIO_EXTENSIONS: frozenset[str] = _audio_extensions()
# Containers FFmpeg (through PyAV) demuxes; the codec inside is checked when read.
VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts",
     ".m2ts", ".flv", ".wmv", ".ogv", ".3gp", ".vob", ".asf", ".mxf", ".y4m", ".nut"}
)

KINDS: dict[str, frozenset[str]] = {}
"""Kinds of data file by name, in the order a folder's kind is guessed; the modalities register theirs
(:mod:`dirvae.modalities`), so this layer names none."""


def register_kind(name: str, extensions: frozenset[str]) -> None:
    KINDS[name] = frozenset(extensions)


def registered_kinds() -> dict[str, frozenset[str]]:
    """:data:`KINDS`, the built-in modalities registered first: what a folder holds must not depend on
    whether something else imported :mod:`dirvae.modalities` before (``from dirvae.data import ImageFolder`` alone)."""
    if not KINDS:
        import dirvae.modalities  # noqa: F401  (registers the built-ins, which import this module)
    return KINDS


def accepted_formats(extensions: frozenset[str]) -> str:
    """Extensions as one line, for error messages."""
    return " ".join(sorted(ext.lstrip(".") for ext in extensions))


def extension(name: str) -> str:
    return os.path.splitext(name)[1].lower()
