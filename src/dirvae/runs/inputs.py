"""Inputs named like the datasets name items, read exactly as training read them.

``a.png``, ``tone.wav#window=3``, ``clip.mp4#frame=12`` (or ``clip.mp4#12``),
``FOLDER#5`` (``digits#5`` for the embedded digits): each picks one item;
a bare file or folder gives all of its items.  Every reader is a public
per-item reader of :mod:`dirvae.data`, so an input is preprocessed exactly
like a training item.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from dirvae.data.audio_files import open_audio
from dirvae.data.audio_windows import read_window, resampled_length
from dirvae.data.bad_files import describe_error
from dirvae.data.formats import EXTENSIONS, extension
from dirvae.data.pixels import load_image
from dirvae.data.video import frame_to_tensor
from dirvae.data.video_frames import FrameReader
from dirvae.errors import DataError
from dirvae.cli.arguments import article
from dirvae.runs.loading import data_options, dataset_for_run


# --------------------------------------------------------------------- inputs
_SELECTOR = re.compile(r"^(?P<path>.+)#(?:(?P<key>window|frame|item)=)?(?P<index>\d+)$")


def parse_input(text: str | Path) -> tuple[Path, int | None]:
    """``"clip.mp4#frame=3"`` → (clip.mp4, 3); a plain path → (path, None).

    A path that exists as typed is taken as it is, even with a ``#`` in it.
    The key must fit what the path holds: ``#window=`` an audio file,
    ``#frame=`` a video, ``#item=`` a folder or an image; ``clip.mp4#window=3``
    is a :class:`DataError`, not silently frame 3.
    """
    path = Path(text)
    if path.exists():
        return path, None
    match = _SELECTOR.match(str(text))
    if match is None:
        return path, None
    path, index = Path(match["path"]), int(match["index"])
    key = match["key"]
    if key is not None:
        if is_digits(path) or path.is_dir():
            what, expected = "a folder", "item"
        else:
            modality = file_modality(path) or "image"
            what = f"{article(modality)} {modality} file"
            expected = {"audio": "window", "video": "frame"}.get(modality, "item")
        if key != expected:
            raise DataError(
                f"{text}: {what} has no #{key}=; pick its items with {path}#{expected}={index} (or {path}#{index})"
            )
    return path, index


def is_digits(path: Path) -> bool:
    return str(path) == "digits" and not path.exists()


def file_modality(path: str | Path) -> str | None:
    """The modality a file's extension belongs to (None for an unknown one)."""
    ext = extension(str(path))
    for modality in ("video", "audio", "image"):
        if ext in EXTENSIONS[modality]:
            return modality
    return None


def _check_file(config: dict[str, Any], path: Path) -> str:
    modality = config.get("modality", "image")
    found = file_modality(path)
    if found is None:
        raise DataError(f"{path}: not {article(modality)} {modality} file (unknown extension {path.suffix or '(none)'!r})")
    if found != modality:
        raise DataError(f"{path}: is {article(found)} {found} file, but this run models {modality}")
    return modality


def _unreadable(path: Path, modality: str, error: BaseException) -> DataError:
    return DataError(f"{path}: unreadable or corrupt {modality} file ({describe_error(error)})")


def _image_items(config: dict[str, Any], path: Path, start: int, count: int | None) -> Iterator[Tensor]:
    if start != 0:
        raise DataError(f"{path}#{start}: an image file has a single item (#0)")
    options = data_options(config)
    try:
        tensor = load_image(path, options["image_size"], options.get("grayscale", False))
    except Exception as error:  # whatever Pillow raises, the file is the user's to fix
        raise _unreadable(path, "image", error) from None
    yield tensor


def _audio_items(config: dict[str, Any], path: Path, start: int, count: int | None) -> Iterator[Tensor]:
    """Consecutive windows of one file; a file shorter than a window gives one padded window."""
    options = data_options(config)
    size, rate, channels = options["sample_size"], options["sample_rate"], options["channels"]
    try:
        sound = open_audio(path)
    except Exception as error:
        raise _unreadable(path, "audio", error) from None
    with sound:
        if sound.frames <= 0 or sound.samplerate <= 0:
            raise DataError(f"{path}: unreadable or corrupt audio file (no audio frames)")
        windows = max(1, resampled_length(sound.frames, sound.samplerate, rate) // size)
        if start >= windows:
            raise DataError(f"{path}#window={start}: the file has {windows} window(s) of {size} samples at {rate} Hz")
        stop = windows if count is None else min(windows, start + count)
        for window in range(start, stop):
            try:
                block = read_window(sound, window * size, size, sound.samplerate, rate, channels)
            except Exception as error:
                raise _unreadable(path, "audio", error) from None
            yield torch.from_numpy(block)


def _video_items(config: dict[str, Any], path: Path, start: int, count: int | None) -> Iterator[Tensor]:
    """Consecutive frames of one file, each converted exactly as VideoFolder does."""
    options = data_options(config)
    size, grayscale = options["image_size"], options.get("grayscale", False)
    try:
        reader = FrameReader(path)
    except Exception as error:
        raise _unreadable(path, "video", error) from None
    try:
        frames = len(reader)
        if start >= frames:
            raise DataError(f"{path}#frame={start}: the file has {frames} frame(s)")
        stop = frames if count is None else min(frames, start + count)
        for number in range(start, stop):
            try:
                tensor = frame_to_tensor(reader.read(number), size, grayscale)
            except Exception as error:
                raise _unreadable(path, "video", error) from None
            yield tensor
    finally:
        reader.close()


_FILE_READERS: dict[str, Callable[..., Iterator[Tensor]]] = {
    "image": _image_items,
    "audio": _audio_items,
    "video": _video_items,
}


def file_items(
    config: dict[str, Any], path: str | Path, start: int = 0, count: int | None = None
) -> Iterator[tuple[Tensor, str]]:
    """Items of one file preprocessed like training, named like the datasets name them.

    An image gives one item; audio its consecutive windows (one zero-padded
    window when the file is shorter than a window); video its frames.  The
    wrong modality or an unreadable file is a :class:`DataError`.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    modality = _check_file(config, path)
    key = {"audio": "window", "video": "frame"}.get(modality)
    for offset, tensor in enumerate(_FILE_READERS[modality](config, path, start, count)):
        yield tensor, str(path) if key is None else f"{path}#{key}={start + offset}"


@contextlib.contextmanager
def forwarding_warnings(note: Callable[[str], None] | None) -> Iterator[None]:
    """Hand the data layer's warnings (skipped files) to ``note`` as single lines.

    When the block fails, its warnings are dropped: the error says it all,
    and a user-facing error must stay one line.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    if note is not None:
        seen = set()
        for warning in caught:
            line = (str(warning.message).strip().splitlines() or [""])[0]
            if line and line not in seen:
                seen.add(line)
                note(line)


def iter_inputs(
    config: dict[str, Any],
    paths: Sequence[str | Path],
    *,
    per_file: int | None = None,
    limit: int | None = None,
) -> Iterator[tuple[Tensor, str]]:
    """Items of files and folders preprocessed like training: ``(tensor, name)``.

    ``per_file`` caps the windows or frames taken from each single file
    (folders give all their items), ``limit`` the items in all.  ``PATH#N``
    picks item N alone (see the module docstring).  Unreadable items inside a
    folder are skipped with a warning, as in training.
    """
    taken = 0
    for text in paths:
        path, index = parse_input(text)
        if is_digits(path) or path.is_dir():
            dataset = dataset_for_run(config, path)
            if index is not None and not 0 <= index < len(dataset):
                raise DataError(f"{text}: {path} has {len(dataset)} item(s)")
            indices = range(len(dataset)) if index is None else [index]
            for position in indices:
                if limit is not None and taken >= limit:
                    return
                item = dataset[position]
                if item is None:
                    if index is not None:
                        raise DataError(f"{text}: unreadable item")
                    continue
                taken += 1
                yield item[0], dataset.describe(position)
            continue
        if not path.exists():
            raise DataError(f"{path}: no such file or directory")
        count = 1 if index is not None else per_file
        for item in file_items(config, path, index or 0, count):
            if limit is not None and taken >= limit:
                return
            taken += 1
            yield item


def most_energetic_item(config: dict[str, Any], text: str | Path) -> tuple[Tensor, str, bool]:
    """The loudest window (highest mean square) of an audio file; otherwise the first item.

    A recording's first window is often leading silence, which makes a poor
    end point for an interpolation.  Returns ``(tensor, name, chosen)``,
    ``chosen`` saying whether a window was picked by energy (so a tool can
    say so); ``FILE#N``, folders and other modalities give their first item.
    """
    path, index = parse_input(text)
    if config.get("modality") != "audio" or index is not None or not path.is_file():
        tensor, name = next(iter_inputs(config, [text], per_file=1, limit=1))
        return tensor, name, False
    best: tuple[float, Tensor, str] | None = None
    for tensor, name in file_items(config, path):
        energy = float(tensor.double().pow(2).mean())
        if best is None or energy > best[0]:
            best = (energy, tensor, name)
    assert best is not None  # file_items gives at least one (padded) window
    return best[1], best[2], True


def spread_inputs(
    config: dict[str, Any], paths: Sequence[str | Path], limit: int
) -> tuple[Tensor, list[str], bool]:
    """Up to ``limit`` items shared over the inputs, and whether any input had more.

    Each input gets an equal share of what is left, so ``a.wav b.wav --limit
    16`` takes 8 windows of each; an input with fewer items leaves its unused
    share to the inputs after it.
    """
    items: list[Tensor] = []
    names: list[str] = []
    truncated = False
    for number, text in enumerate(paths):
        remaining = limit - len(items)
        if remaining <= 0:
            truncated = True
            break
        share = -(-remaining // (len(paths) - number))
        got = list(iter_inputs(config, [text], limit=share + 1))
        truncated = truncated or len(got) > share
        for tensor, name in got[:share]:
            items.append(tensor)
            names.append(name)
    if not items:
        raise DataError("no readable input given")
    return torch.stack(items), names, truncated


def read_inputs(
    config: dict[str, Any],
    paths: Sequence[str | Path],
    *,
    per_file: int | None = None,
    limit: int | None = None,
) -> tuple[Tensor, list[str]]:
    """:func:`iter_inputs` as one batch ``[N, *item_shape]`` and the items' names."""
    items, names = [], []
    for tensor, name in iter_inputs(config, paths, per_file=per_file, limit=limit):
        items.append(tensor)
        names.append(name)
    if not items:
        raise DataError("no readable input given")
    return torch.stack(items), names


def load_inputs(config: dict[str, Any], paths: list[str | Path]) -> tuple[torch.Tensor, list[str]]:
    """Single files (or folders) as one batch preprocessed like training, with names.

    Audio and video files contribute their first window or frame (or the one
    picked by ``FILE#N``).  An unreadable file or one of the wrong modality is
    a :class:`DataError`.  Single files are named by their file name, items
    of folders as the folder's dataset names them.
    """
    items, names = [], []
    for text in paths:
        path, index = parse_input(text)
        if is_digits(path) or path.is_dir():
            batch, found = read_inputs(config, [text])
            items += list(batch)
            names += found
            continue
        for tensor, name in iter_inputs(config, [text], per_file=1):
            items.append(tensor)
            names.append(path.name if index is None else Path(name).name)
    if not items:
        raise DataError("no readable input given")
    return torch.stack(items), names
