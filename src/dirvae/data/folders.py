"""One entry point from a folder and a modality to a dataset, for the CLI."""

from __future__ import annotations

import inspect
import os

from torch.utils.data import Dataset

from dirvae.data.audio import AudioFolder
from dirvae.data.files import detect_modality
from dirvae.data.formats import MODALITIES, check_modality
from dirvae.data.images import ImageFolder
from dirvae.data.video import VideoFolder
from dirvae.errors import DataError

DATASETS: dict[str, type[Dataset]] = {"image": ImageFolder, "audio": AudioFolder, "video": VideoFolder}


def open_folder(directory: str | os.PathLike, modality: str | None, **options) -> Dataset:
    """The dataset for a folder: ImageFolder, AudioFolder or VideoFolder.

    ``modality=None`` guesses it from the file extensions.  Every problem a
    user can fix (missing or empty folder, nothing readable, an option the
    modality does not take) is a DataError naming the path, so the command
    line can print it as one line.
    """
    if modality is None:
        modality = detect_modality(directory)
        if modality is None:
            if not os.path.isdir(directory):
                raise DataError(f"{directory}: no such directory")
            raise DataError(f"{directory}: no {', '.join(MODALITIES)} file found")
    cls = DATASETS[check_modality(modality)]
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "directory"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise DataError(
            f"option(s) {', '.join(unknown)} do not apply to {modality} folders "
            f"(accepted: {', '.join(sorted(accepted))})"
        )
    return cls(directory, **options)
