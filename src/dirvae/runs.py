"""Using a trained run: its model, and data read the way it was trained.

The tools (sample, reconstruct, interpolate, traverse, encode, evaluate) all
start here, so every one of them reads inputs with the same image size,
channels and audio window as training, and fails with the same clear errors.

Inputs are named the way the datasets name items: ``a.png``,
``tone.wav#window=3``, ``clip.mp4#frame=12``, ``digits#0007``.  Any of these
can also be *given* as an input, to pick one window, frame or item:
``clip.mp4#frame=12`` (or ``clip.mp4#12``) is frame 12 of that file, and
``FOLDER#5`` is item 5 of a folder (``digits#5`` for the embedded digits).
"""

from __future__ import annotations

import contextlib
import re
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
from torch import Tensor

from dirvae import printer
from dirvae.errors import DataError, DirvaeError, RunError
from dirvae.export import CONFIG_NAME, load_pretrained, read_config
from dirvae.model import DirichletVAE

MODALITIES = ("image", "audio", "video")


# --------------------------------------------------------------------- device
def pick_device(device: str | torch.device | None = None) -> torch.device:
    """``None``/``"auto"``: CUDA when present, else the CPU; otherwise that device.

    A device this machine does not have is a :class:`DirvaeError`, not a
    crash halfway through the first tensor copy.
    """
    if device is None or str(device) in ("", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError):
        raise DirvaeError(f"device {str(device)!r}: not a device (use auto, cpu, cuda, cuda:N or mps)") from None
    if chosen.type == "cuda":
        if not torch.cuda.is_available():
            raise DirvaeError(f"device {str(device)!r}: CUDA is not available on this machine (use --device cpu)")
        if chosen.index is not None and chosen.index >= torch.cuda.device_count():
            raise DirvaeError(f"device {str(device)!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    if chosen.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise DirvaeError(f"device {str(device)!r}: MPS is not available on this machine (use --device cpu)")
    return chosen


# ------------------------------------------------------------------------ run
def check_config(config: dict[str, Any], where: str | Path = CONFIG_NAME) -> None:
    """Refuse a configuration whose data section cannot describe the model's inputs."""

    def bad(detail: str) -> RunError:
        return RunError(f"{where}: mismatched configuration: {detail}")

    modality = config.get("modality", "image")
    if modality not in MODALITIES:
        raise bad(f"unknown modality {modality!r} (expected one of {', '.join(MODALITIES)})")
    data = config.get("data")
    if not isinstance(data, dict):
        raise bad("no 'data' section")
    shape = data.get("item_shape")
    if not isinstance(shape, list) or not shape or not all(isinstance(s, int) and s > 0 for s in shape):
        raise bad(f"data.item_shape must be a list of positive whole numbers, not {shape!r}")
    if modality == "audio":
        if len(shape) != 2:
            raise bad(f"audio items are [channels, samples], but data.item_shape is {shape}")
        if data.get("sample_size") != shape[1]:
            raise bad(f"data.sample_size is {data.get('sample_size')!r} but data.item_shape is {shape}")
        rate = data.get("sample_rate")
        if not isinstance(rate, int) or rate < 1:
            raise bad(f"data.sample_rate must be a positive whole number, not {rate!r}")
    else:
        if len(shape) != 3 or shape[0] not in (1, 3):
            raise bad(f"{modality} items are [1 or 3, size, size], but data.item_shape is {shape}")
        size = data.get("image_size")
        if size != shape[1] or size != shape[2]:
            raise bad(f"data.image_size is {size!r} but data.item_shape is {shape}")
        if data.get("grayscale") is not None and bool(data["grayscale"]) != (shape[0] == 1):
            raise bad(f"data.grayscale is {data['grayscale']!r} but data.item_shape is {shape}")


def check_model(model: DirichletVAE, config: dict[str, Any], where: str | Path = CONFIG_NAME) -> None:
    """The networks must take ``data.item_shape`` and give it back, through ``model.latent_shape``.

    Checked with one pass of a zero item through the loaded model: a few
    milliseconds for image models, and never more than one item of the work
    the command then does.  (A shapes-only pass on the ``meta`` device costs
    a second of imports per process, and not every network builds there.)
    """
    shape = tuple(config["data"]["item_shape"])
    try:
        with torch.no_grad():
            posterior = model.encode(torch.zeros(1, *shape, device=model.prior_alpha.device))
            output = model.decode(posterior.mean)
    except (RuntimeError, ValueError, IndexError, TypeError) as error:
        detail = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise RunError(
            f"{where}: mismatched configuration: the networks do not take data.item_shape {list(shape)} ({detail})"
        ) from None
    found = tuple(posterior.mean.shape[2:])
    if model.latent_shape is not None and found != tuple(model.latent_shape):
        raise RunError(
            f"{where}: mismatched configuration: model.latent_shape is {list(model.latent_shape)} "
            f"but the encoder gives {list(found)}"
        )
    if tuple(output.shape[1:]) != shape:
        raise RunError(
            f"{where}: mismatched configuration: the decoder gives {list(output.shape[1:])}, "
            f"not data.item_shape {list(shape)}"
        )


def load_run(run_dir: str | Path, device: str | None = None) -> tuple[DirichletVAE, dict[str, Any]]:
    """The trained model (eval mode, on ``device``) and its configuration.

    Everything a user can get wrong is a :class:`RunError` with one line: not
    a run, corrupt or truncated weights, weights that do not fit the
    configuration, or a configuration whose data section does not fit the
    networks (checked with one pass of a zero item).
    """
    config = read_config(run_dir)
    where = Path(run_dir) / CONFIG_NAME
    check_config(config, where)
    model = load_pretrained(run_dir, pick_device(device))
    check_model(model, config, where)
    return model, config


def data_options(config: dict[str, Any]) -> dict[str, Any]:
    """Dataset options that reproduce training's preprocessing for this run."""
    modality = config.get("modality", "image")
    data = config.get("data", {})
    if modality == "audio":
        channels = data.get("item_shape", [1])[0]
        # Runs from before --pad-last dropped files shorter than a window.
        pad_last = data.get("pad_last") or "none"
        return {"sample_size": data["sample_size"], "sample_rate": data["sample_rate"], "channels": channels, "pad_last": pad_last}
    grayscale = data.get("grayscale")
    if grayscale is None and data.get("item_shape"):
        grayscale = data["item_shape"][0] == 1
    return {"image_size": data["image_size"], "grayscale": bool(grayscale)}


def dataset_for_run(config: dict[str, Any], directory: str | Path):
    """A dataset over ``directory`` preprocessed like the run's training data.

    ``directory="digits"`` (when that folder does not exist) gives the
    embedded digits, so a model trained on them can be evaluated on them.
    """
    from dirvae.data import detect_modality, digits, open_folder

    modality = config.get("modality", "image")
    directory = Path(directory)
    if str(directory) == "digits" and not directory.exists():
        if modality != "image":
            raise DataError(f"the embedded digits are images; this run models {modality}")
        return digits(image_size=config["data"]["image_size"], grayscale=bool(config["data"].get("grayscale")))
    if directory.is_dir():
        found = detect_modality(directory)
        if found is not None and found != modality:
            raise DataError(f"{directory}: holds {found} files, but this run models {modality}")
    return open_folder(directory, modality, **data_options(config))


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
        if _is_digits(path) or path.is_dir():
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


def _is_digits(path: Path) -> bool:
    return str(path) == "digits" and not path.exists()


def file_modality(path: str | Path) -> str | None:
    """The modality a file's extension belongs to (None for an unknown one)."""
    from dirvae.data.formats import EXTENSIONS, extension

    ext = extension(str(path))
    for modality in ("video", "audio", "image"):
        if ext in EXTENSIONS[modality]:
            return modality
    return None


def article(word: str) -> str:
    """"an" before image and audio, "a" before video."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def _check_file(config: dict[str, Any], path: Path) -> str:
    modality = config.get("modality", "image")
    found = file_modality(path)
    if found is None:
        raise DataError(f"{path}: not {article(modality)} {modality} file (unknown extension {path.suffix or '(none)'!r})")
    if found != modality:
        raise DataError(f"{path}: is {article(found)} {found} file, but this run models {modality}")
    return modality


def _unreadable(path: Path, modality: str, error: BaseException) -> DataError:
    from dirvae.data.bad_files import describe_error

    return DataError(f"{path}: unreadable or corrupt {modality} file ({describe_error(error)})")


def _image_items(config: dict[str, Any], path: Path, start: int, count: int | None) -> Iterator[Tensor]:
    from dirvae.data.pixels import load_image

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
    from dirvae.data.audio_files import open_audio
    from dirvae.data.audio_windows import read_window, resampled_length

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
    from dirvae.data.video import VideoFolder
    from dirvae.data.video_frames import FrameReader

    options = data_options(config)
    # VideoFolder's frame conversion only reads these two attributes.
    converter = SimpleNamespace(image_size=options["image_size"], grayscale=options.get("grayscale", False))
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
                tensor = VideoFolder._to_tensor(converter, reader.read(number))  # type: ignore[arg-type]
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
        if _is_digits(path) or path.is_dir():
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
        if _is_digits(path) or path.is_dir():
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


# -------------------------------------------------------------------- batches
class _Indexed(torch.utils.data.Dataset):
    """A dataset whose label is the item's own index, so skipped items keep names aligned."""

    def __init__(self, dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int):
        item = self.dataset[index]
        return None if item is None else (item[0], index)


def iter_batches(
    config: dict[str, Any],
    path: str | Path,
    batch_size: int = 64,
    *,
    num_workers: int = 0,
) -> Iterator[tuple[Tensor, list[str]]]:
    """Every item of a folder (or a file) in order, in batches, with the items' names.

    Folders go through a DataLoader (``num_workers`` processes may decode);
    unreadable items are skipped with a warning.
    """
    from dirvae.data import make_loader

    target, index = parse_input(path)
    if index is None and (_is_digits(target) or target.is_dir()):
        dataset = dataset_for_run(config, target)
        loader = make_loader(_Indexed(dataset), batch_size, num_workers=num_workers)
        for batch in loader:
            if batch.data.shape[0]:
                yield batch.data, [dataset.describe(int(i)) for i in batch.labels]
        return
    items: list[Tensor] = []
    names: list[str] = []
    for tensor, name in iter_inputs(config, [path]):
        items.append(tensor)
        names.append(name)
        if len(items) == batch_size:
            yield torch.stack(items), names
            items, names = [], []
    if items:
        yield torch.stack(items), names


# ------------------------------------------------------------------- decoding
@torch.no_grad()
def decode_in_chunks(model: DirichletVAE, latents: Tensor, batch_size: int = 64) -> Tensor:
    """``model.decode`` over ``latents`` a chunk at a time, gathered on the CPU."""
    device = model.prior_alpha.device
    parts = [model.decode(chunk.to(device)).float().cpu() for chunk in latents.split(max(1, batch_size))]
    return torch.cat(parts)


@torch.no_grad()
def reconstruct_in_chunks(model: DirichletVAE, inputs: Tensor, batch_size: int = 64, stochastic: bool = False) -> Tensor:
    """Decode each input's posterior mean (or a draw, ``stochastic``), a chunk at a time, on the CPU."""
    device = model.prior_alpha.device
    parts = []
    for chunk in inputs.split(max(1, batch_size)):
        posterior = model.encode(chunk.to(device))
        latent = posterior.sample() if stochastic else posterior.mean
        parts.append(model.decode(latent).float().cpu())
    return torch.cat(parts)


# ------------------------------------------------------- command-line helpers
def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    import argparse

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number above 0."""
    import argparse
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text}")
    return value


def add_run_arguments(parser, *, seed: bool = False) -> None:
    """``RUN`` and ``--device`` (and ``--seed`` for commands that draw at random)."""
    parser.add_argument("run", metavar="RUN", help="a run directory written by 'dirvae train'")
    parser.add_argument(
        "--device", default="auto", help="where the model runs: auto (CUDA when present, else cpu), cpu, cuda, cuda:N, mps"
    )
    if seed:
        parser.add_argument("--seed", type=int, default=0, help="random seed, for repeatable draws (default 0)")


def say(command: str, text: str) -> None:
    """Tell the user what was written (:func:`dirvae.printer.result`)."""
    printer.result(command, text)


def warn(command: str) -> Callable[[str], None]:
    """A note function for :func:`forwarding_warnings`: one stderr line per warning."""
    return printer.warner(command)
