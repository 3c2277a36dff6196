"""Modalities as plug-ins: each kind of data is one :class:`~dirvae.modalities.spec.Modality`, registered by name.

``--type`` takes its choices and help from :data:`MODALITIES`; training, the
tools and the live view ask the run's modality for everything that differs
between kinds of data (see :mod:`~dirvae.modalities.spec`).  The built-ins
register here, in the order a folder's kind is guessed (video containers
first: some audio and picture readers also claim ``.mpg``); a new modality
is a module with a ``Modality`` subclass and one :func:`register_modality`.
"""

from __future__ import annotations

import inspect
import os

from torch.utils.data import Dataset

from dirvae.data.files import detect_modality
from dirvae.data.formats import register_kind
from dirvae.errors import DataError
from dirvae.modalities.audio import AudioModality
from dirvae.modalities.image import ImageModality
from dirvae.modalities.spec import DataConfig, Modality
from dirvae.modalities.text import TextModality
from dirvae.modalities.video import VideoModality
from dirvae.registry import Registry

MODALITIES: Registry[Modality] = Registry("modality")


def register_modality(modality: Modality) -> Modality:
    """Make ``modality`` a ``--type`` choice, and its extensions part of guessing what a folder holds."""
    MODALITIES.register(modality.name, modality)
    register_kind(modality.name, modality.extensions)
    return modality


for _modality in (VideoModality(), AudioModality(), ImageModality(), TextModality()):
    register_modality(_modality)

DEFAULT_MODALITY = ImageModality.name
"""What ``--type`` is when not given (the seed's default)."""


def open_folder(directory: str | os.PathLike, modality: str | None, **options) -> Dataset:
    """The reader dataset for a folder of one modality (``None`` guesses it from the extensions).

    Every problem a user can fix (missing or empty folder, nothing readable,
    an option the modality's reader does not take) is a DataError naming the
    path, so the command line can print it as one line.
    """
    if modality is None:
        modality = detect_modality(directory)
        if modality is None:
            if not os.path.isdir(directory):
                raise DataError(f"{directory}: no such directory")
            raise DataError(f"{directory}: no {', '.join(MODALITIES.names())} file found")
    try:
        reader = MODALITIES[str(modality).lower()].reader
    except ValueError as error:
        raise DataError(str(error)) from None
    accepted = set(inspect.signature(reader.__init__).parameters) - {"self", "directory"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise DataError(
            f"option(s) {', '.join(unknown)} do not apply to {modality} folders (accepted: {', '.join(sorted(accepted))})"
        )
    return reader(directory, **options)


__all__ = ["DEFAULT_MODALITY", "DataConfig", "MODALITIES", "Modality", "detect_modality", "open_folder", "register_modality"]
