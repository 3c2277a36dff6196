"""Every file the tools and the live view write: pictures, GIFs, videos, sounds, latent tables.

One writer per format, one path to uint8 pixels, every file written
atomically.  :mod:`~dirvae.io.outputs` turns a ``--out`` name into the kind
of file it asks for.
"""

from dirvae.io.names import numbered, safe_stem, split_name
from dirvae.io.outputs import KIND_NAMES, check_output, output_kind, save_pictures, save_sounds
from dirvae.io.pictures import (
    IMAGE_FORMATS,
    make_grid,
    save_frames,
    save_gif,
    save_grid,
    save_image,
    save_strip,
    side_by_side,
    to_pil,
    to_uint8,
)
from dirvae.io.sounds import AUDIO_FORMATS, concat_audio, save_audio, save_audio_files
from dirvae.io.tables import LatentTable
from dirvae.io.video import VIDEO_FORMATS, save_video, video_codec

__all__ = [
    "AUDIO_FORMATS",
    "IMAGE_FORMATS",
    "KIND_NAMES",
    "VIDEO_FORMATS",
    "LatentTable",
    "check_output",
    "concat_audio",
    "make_grid",
    "numbered",
    "output_kind",
    "safe_stem",
    "save_audio",
    "save_audio_files",
    "save_frames",
    "save_gif",
    "save_grid",
    "save_image",
    "save_pictures",
    "save_sounds",
    "save_strip",
    "save_video",
    "side_by_side",
    "split_name",
    "to_pil",
    "to_uint8",
    "video_codec",
]
