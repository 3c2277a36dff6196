"""Inputs named like the datasets name items, read exactly as training read them.

``a.png``, ``tone.wav#window=3``, ``clip.mp4#frame=12`` (or ``clip.mp4#12``),
``FOLDER#5`` (``digits#5`` for the embedded digits), ``shard.tar#KEY`` (a
sample of shards, :mod:`~dirvae.runs.shard_inputs`): each picks one item;
a bare file, folder or shard gives all of its items.  Every reader is a public
per-item reader of :mod:`dirvae.data`, so an input is preprocessed exactly
like a training item.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import torch
from torch import Tensor

from dirvae.data.bad_files import describe_error, warning_line
from dirvae.data.formats import KINDS, extension
from dirvae.errors import DataError
from dirvae.modalities import MODALITIES
from dirvae.modalities.opening import open_dataset
from dirvae.printer import article
from dirvae.runs.record import RunConfig
from dirvae.runs.shard_inputs import shard_items, shard_selector

_SELECTOR = re.compile(r"^(?P<path>.+)#(?:(?P<key>\w+)=)?(?P<index>\d+)$")
FOLDER_KEY = "item"


def parse_input(text: str | Path, run: RunConfig | None = None) -> tuple[Path, int | None]:
    """``"clip.mp4#frame=3"`` → (clip.mp4, 3); a plain path → (path, None).

    A path that exists as typed is taken as it is, even with a ``#`` in it.
    The key must fit what the path holds: the file's modality's key
    (``#window=`` an audio file, ``#frame=`` a video), ``#item=`` a folder or
    a one-item file; ``clip.mp4#window=3`` is a :class:`DataError`, not
    silently frame 3.
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
        if is_named_set(path, run) or path.is_dir():
            what, expected = "a folder", FOLDER_KEY
        else:
            from_extension = file_modality(path)
            what = f"{article(from_extension)} {from_extension} file" if from_extension else "a file"
            expected = (MODALITIES[from_extension].item_key if from_extension else None) or FOLDER_KEY
        if key != expected:
            raise DataError(
                f"{text}: {what} has no #{key}=; pick its items with {path}#{expected}={index} (or {path}#{index})"
            )
    return path, index


def is_named_set(path: Path, run: RunConfig | None = None) -> bool:
    """Whether ``path`` names an embedded data set of the run's modality (``digits``) rather than a file."""
    return run is not None and not path.exists() and str(path) in run.spec.named_sets


def file_modality(path: str | Path) -> str | None:
    """The modality a file's extension belongs to (None for an unknown one)."""
    ext = extension(str(path))
    return next((name for name, extensions in KINDS.items() if ext in extensions), None)


def _check_file(run: RunConfig, path: Path) -> None:
    found = file_modality(path)
    if found is None:
        raise DataError(f"{path}: not {article(run.modality)} {run.modality} file (unknown extension {path.suffix or '(none)'!r})")
    if found != run.modality:
        raise DataError(f"{path}: is {article(found)} {found} file, but this run models {run.modality}")


def file_items(run: RunConfig, path: str | Path, start: int = 0, count: int | None = None) -> Iterator[tuple[Tensor, str]]:
    """Items of one file preprocessed like training, named like the datasets name them.

    The run's modality reads them (:meth:`~dirvae.modalities.Modality.read_file`):
    an image gives one item, audio its consecutive windows, video its frames.
    The wrong modality or an unreadable file is a :class:`DataError`.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    _check_file(run, path)
    spec = run.spec
    items = spec.read_file(run.data, path, start, count)
    offset = 0
    while True:
        try:
            tensor = next(items)
        except StopIteration:
            return
        except DataError:
            raise
        except Exception as error:  # whatever a decoder raises, the file is the user's to fix
            raise DataError(f"{path}: unreadable or corrupt {run.modality} file ({describe_error(error)})") from None
        yield tensor, spec.item_name(path, start + offset)
        offset += 1


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
            line = warning_line(warning.message)
            if line and line not in seen:
                seen.add(line)
                note(line)


def iter_inputs(
    run: RunConfig, paths: Sequence[str | Path], *, per_file: int | None = None, limit: int | None = None
) -> Iterator[tuple[Tensor, str]]:
    """Items of files and folders preprocessed like training: ``(tensor, name)``.

    ``per_file`` caps the windows or frames taken from each single file
    (folders give all their items), ``limit`` the items in all.  ``PATH#N``
    picks item N alone (see the package docstring).  Unreadable items inside a
    folder are skipped with a warning, as in training.
    """
    taken = 0
    for text in paths:
        if shard_selector(text) is not None:  # shards, or SHARD#KEY
            for item in shard_items(run, text):
                if limit is not None and taken >= limit:
                    return
                taken += 1
                yield item
            continue
        path, index = parse_input(text, run)
        if is_named_set(path, run) or path.is_dir():
            dataset = open_dataset(run.data.at(path))
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
        for item in file_items(run, path, index or 0, count):
            if limit is not None and taken >= limit:
                return
            taken += 1
            yield item


def representative_item(run: RunConfig, text: str | Path) -> tuple[Tensor, str, bool]:
    """The item that stands for one input (interpolate's ends), as the run's modality chooses it.

    A bare file of several items is handed to :meth:`~dirvae.modalities.Modality.choose_item`
    (audio picks its loudest window: a first window is often silence);
    ``FILE#N``, folders and one-item files give their first item.  Returns
    ``(tensor, name, chosen)``, ``chosen`` saying whether the modality picked it by a rule worth naming.
    """
    path, index = parse_input(text, run)
    if index is not None or not path.is_file():
        tensor, name = next(iter_inputs(run, [text], per_file=1, limit=1))
        return tensor, name, False
    return run.spec.choose_item(file_items(run, path))


def spread_inputs(
    run: RunConfig, paths: Sequence[str | Path], limit: int
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
        got = list(iter_inputs(run, [text], limit=share + 1))
        truncated = truncated or len(got) > share
        for tensor, name in got[:share]:
            items.append(tensor)
            names.append(name)
    if not items:
        raise DataError("no readable input given")
    return torch.stack(items), names, truncated


def read_inputs(
    run: RunConfig,
    paths: Sequence[str | Path],
    *,
    per_file: int | None = None,
    limit: int | None = None,
) -> tuple[Tensor, list[str]]:
    """:func:`iter_inputs` as one batch ``[N, *item_shape]`` and the items' names."""
    items, names = [], []
    for tensor, name in iter_inputs(run, paths, per_file=per_file, limit=limit):
        items.append(tensor)
        names.append(name)
    if not items:
        raise DataError("no readable input given")
    return torch.stack(items), names


def load_inputs(run: RunConfig, paths: list[str | Path]) -> tuple[torch.Tensor, list[str]]:
    """Single files (or folders) as one batch preprocessed like training, with names.

    Audio and video files contribute their first window or frame (or the one
    picked by ``FILE#N``).  An unreadable file or one of the wrong modality is
    a :class:`DataError`.  Single files are named by their file name, items
    of folders as the folder's dataset names them.
    """
    items, names = [], []
    for text in paths:
        path, index = parse_input(text, run)
        if is_named_set(path, run) or path.is_dir():
            batch, found = read_inputs(run, [text])
            items += list(batch)
            names += found
            continue
        for tensor, name in iter_inputs(run, [text], per_file=1):
            items.append(tensor)
            names.append(path.name if index is None else Path(name).name)
    if not items:
        raise DataError("no readable input given")
    return torch.stack(items), names
