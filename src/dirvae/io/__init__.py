"""Every file the tools and the live view write: pictures, GIFs, videos, sounds, latent tables.

One writer per format, one path to uint8 pixels, every file written
atomically.  :mod:`~dirvae.io.outputs` turns a ``--out`` name into the kind
of file it asks for.

The writers load on first use (PEP 562), so modules that only need
:mod:`~dirvae.io.atomic` do not import PyAV and Pillow with it.
"""

from __future__ import annotations

from dirvae.registry import lazy_attributes

_HOMES: dict[str, str] = {
    "AUDIO_FORMATS": "dirvae.io.sounds",
    "IMAGE_FORMATS": "dirvae.io.pictures",
    "KIND_NAMES": "dirvae.io.outputs",
    "LatentTable": "dirvae.io.tables",
    "VIDEO_FORMATS": "dirvae.io.video",
    "check_output": "dirvae.io.outputs",
    "concat_audio": "dirvae.io.sounds",
    "make_grid": "dirvae.io.pictures",
    "numbered": "dirvae.io.names",
    "output_kind": "dirvae.io.outputs",
    "safe_stem": "dirvae.io.names",
    "save_audio": "dirvae.io.sounds",
    "save_audio_files": "dirvae.io.sounds",
    "save_frames": "dirvae.io.pictures",
    "save_gif": "dirvae.io.pictures",
    "save_grid": "dirvae.io.pictures",
    "save_image": "dirvae.io.pictures",
    "save_pictures": "dirvae.io.outputs",
    "save_sounds": "dirvae.io.outputs",
    "save_strip": "dirvae.io.pictures",
    "save_video": "dirvae.io.video",
    "side_by_side": "dirvae.io.pictures",
    "split_name": "dirvae.io.names",
    "to_pil": "dirvae.io.pictures",
    "to_uint8": "dirvae.io.pictures",
    "video_codec": "dirvae.io.video",
}

__all__ = sorted(_HOMES)

__getattr__ = lazy_attributes("dirvae.io", _HOMES)
