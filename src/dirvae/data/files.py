"""Listing a data folder: relative file names, class labels, and a guess of its modality.

A folder may hold a hundred thousand files (COCO train2017 has 118k), so the
listing keeps only the names, packed into one byte buffer instead of a Python
list of strings.  Besides being smaller, a buffer has no per-string reference
counts: DataLoader workers forked from the main process read it without
touching (and so copying) its memory pages, which a list of strings would do.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dirvae.data.formats import accepted_formats, extension, registered_kinds
from dirvae.errors import DataError


class PathList(Sequence[str]):
    """An immutable, sorted sequence of relative paths stored in one buffer."""

    def __init__(self, names: Sequence[str] = ()) -> None:
        encoded = [os.fsencode(name) for name in names]
        lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
        self._offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self._offsets[1:])
        self._blob = np.frombuffer(b"".join(encoded), dtype=np.uint8)

    def __len__(self) -> int:
        return len(self._offsets) - 1

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(f"path index {index} out of range for {len(self)} paths")
        start, stop = self._offsets[index], self._offsets[index + 1]
        return os.fsdecode(self._blob[start:stop].tobytes())

    @property
    def nbytes(self) -> int:
        """Memory held by the listing, reported by the benchmark."""
        return int(self._blob.nbytes + self._offsets.nbytes)

    def __repr__(self) -> str:
        return f"PathList({len(self)} paths, {self.nbytes} bytes)"


def walk_files(root: Path) -> Iterator[str]:
    """Yield the relative paths ('/'-separated) of the regular files under root.

    Hidden entries are skipped: ``.DS_Store`` and macOS ``._name.jpg`` resource
    forks carry data extensions but no data, and would each cost a warning.
    Symlinked folders are followed (datasets are often linked in from another
    disk) but each real folder is entered once, so a link loop cannot hang the
    walk.  Sockets and FIFOs are left out because opening a FIFO blocks.
    """
    visited: set[tuple[int, int]] = set()
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        directory, prefix = stack.pop()
        try:
            info = os.stat(directory)
        except OSError:
            continue
        key = (info.st_dev, info.st_ino)
        if key in visited:
            continue
        visited.add(key)
        try:
            entries = os.scandir(directory)
        except OSError:
            continue
        with entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir():
                        stack.append((entry.path, f"{prefix}{entry.name}/"))
                    elif entry.is_file():
                        yield prefix + entry.name
                except OSError:
                    continue


@dataclass
class FileListing:
    """The files of a folder that one modality accepts, with class labels."""

    root: Path
    paths: PathList
    labels: np.ndarray | None = None  # int32 class index per path, None when unlabelled
    classes: list[str] = field(default_factory=list)

    def label(self, index: int) -> int:
        return -1 if self.labels is None else int(self.labels[index])

    def absolute(self, index: int) -> str:
        return os.path.join(self.root, self.paths[index])


def list_files(
    root: str | os.PathLike, extensions: frozenset[str], labels: bool | None = None
) -> FileListing:
    """List the accepted files of a folder, sorted, with class folders as labels.

    A folder is labelled when every accepted file sits in a sub-folder and at
    least two sub-folders hold some: one sub-folder (``data/train/``) is a
    layout, not a class.  ``labels=False`` turns labels off, ``labels=True``
    insists on them.  Sorting makes the item order, and so seeded runs,
    identical on every machine whatever order the file system lists in.
    """
    root_path = Path(root)
    names = sorted(name for name in walk_files(root_path) if extension(name) in extensions)
    top_classes = sorted({name.split("/", 1)[0] for name in names if "/" in name})
    has_loose_files = any("/" not in name for name in names)
    labelled = (not has_loose_files) and len(top_classes) >= 2
    if labels is True and not labelled and names:
        raise DataError(
            f"{root_path}: labels were asked for, but the folder does not hold one sub-folder "
            f"per class (found {len(top_classes)} sub-folder(s) and "
            f"{'some' if has_loose_files else 'no'} files directly in it)"
        )
    if labels is False:
        labelled = False
    listing = FileListing(root=root_path, paths=PathList(names))
    if labelled:
        index = {name: i for i, name in enumerate(top_classes)}
        listing.classes = top_classes
        listing.labels = np.fromiter(
            (index[name.split("/", 1)[0]] for name in names), dtype=np.int32, count=len(names)
        )
    return listing


def detect_modality(directory: str | os.PathLike, max_files: int = 2000) -> str | None:
    """Guess what a folder holds from the extensions of (up to) its first files.

    The command line uses this to tell a user "this folder holds audio, not
    images" instead of "no image found".  Only extensions are looked at, and the
    walk stops after ``max_files`` recognised files, so it is quick on any
    folder.  Returns None for a missing folder or one with no known file.
    """
    root = Path(directory)
    if not root.is_dir():
        return None
    votes: Counter[str] = Counter()
    seen = 0
    for relative in walk_files(root):
        ext = extension(relative)
        for kind, extensions in registered_kinds().items():
            if ext in extensions:
                votes[kind] += 1
                seen += 1
                break
        if seen >= max_files:
            break
    if not votes:
        return None
    return votes.most_common(1)[0][0]


def open_listing(
    directory: str | os.PathLike, modality: str, extensions: frozenset[str], labels: bool | None = None
) -> FileListing:
    """List a folder for one modality, or raise the one clear error a user needs.

    The message names the path and the accepted formats, and says when the
    folder seems to hold another modality, because "no image found" on a
    folder of .wav files leaves the user guessing.
    """
    root = Path(directory)
    if not root.exists():
        raise DataError(f"{root}: no such directory (accepted {modality} formats: {accepted_formats(extensions)})")
    if not root.is_dir():
        raise DataError(f"{root}: not a directory (accepted {modality} formats: {accepted_formats(extensions)})")
    listing = list_files(root, extensions, labels)
    if len(listing.paths) == 0:
        other = detect_modality(root)
        hint = f"; it seems to hold {other} files" if other and other != modality else ""
        raise DataError(
            f"{root}: no {modality} file found{hint} (accepted {modality} formats: {accepted_formats(extensions)})"
        )
    return listing


def no_readable_error(listing: FileListing, modality: str, tried: int, example: str, extensions: frozenset[str]):
    """The error for a folder whose every candidate file failed to open."""
    return DataError(
        f"{listing.root}: no readable {modality} file ({tried} tried, e.g. {example}) "
        f"(accepted {modality} formats: {accepted_formats(extensions)})"
    )


class ListedFolder:
    """Mixin for folder datasets: the listing and what it exposes (root, paths, classes).

    A subclass names its kind of file (``modality``, for messages) and the ``extensions`` it lists.
    """

    modality: str
    extensions: frozenset[str]

    def _list(self, directory: str | os.PathLike, labels: bool | None) -> None:
        self.listing = open_listing(directory, self.modality, self.extensions, labels)
        self.root = self.listing.root
        self.paths = self.listing.paths
        self.classes = self.listing.classes


def checked_image_size(image_size: int | None) -> int | None:
    """A picture size option: a positive integer, or None for the files' own size."""
    if image_size is not None and int(image_size) < 1:
        raise DataError(f"image_size must be a positive integer or None, not {image_size!r}")
    return None if image_size is None else int(image_size)
