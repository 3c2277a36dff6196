"""Data: folders of images, audio and video as datasets, loaders and iterators.

The datasets (ImageFolder, AudioFolder, VideoFolder, and the embedded
digits) are map-style torch Datasets returning ``(tensor, label)``, or None
for an unreadable file; :func:`make_loader` batches them into :class:`Batch`
es with :func:`collate_batch`.  The iterators keep the seed's simple API.
"""

from dirvae.data.audio import AudioFolder, ShortFileWarning
from dirvae.data.bad_files import UnreadableFileWarning
from dirvae.data.digits import DigitsDataset, digits
from dirvae.data.files import PathList, detect_modality
from dirvae.data.formats import (
    AUDIO_EXTENSIONS,
    IMAGE_EXTENSIONS,
    VIDEO_EXTENSIONS,
    accepted_formats,
)
from dirvae.data.images import ImageFolder
from dirvae.data.iterators import AudioIterator, BatchIterator, ImageIterator, VideoIterator
from dirvae.data.loader import Batch, collate_batch, make_loader
from dirvae.data.pixels import load_image
from dirvae.data.samplers import GroupedSampler
from dirvae.data.video import VideoFolder

__all__ = [
    "AUDIO_EXTENSIONS",
    "IMAGE_EXTENSIONS",
    "VIDEO_EXTENSIONS",
    "AudioFolder",
    "AudioIterator",
    "Batch",
    "BatchIterator",
    "DigitsDataset",
    "GroupedSampler",
    "ImageFolder",
    "ImageIterator",
    "PathList",
    "ShortFileWarning",
    "UnreadableFileWarning",
    "VideoFolder",
    "VideoIterator",
    "accepted_formats",
    "collate_batch",
    "detect_modality",
    "digits",
    "load_image",
    "make_loader",
]
