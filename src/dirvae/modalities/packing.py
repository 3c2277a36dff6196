"""``dirvae pack``: a folder of one modality's files into tar or Parquet shards, with an index of their counts.

A shard holds each file's bytes unchanged (no decoding, no re-encoding), so
training on the shards sees exactly the items the folder gives.  Files go
into shards in the folder's sorted order, ``shard_size`` to a shard; class
folders become labels (a ``.cls`` member, or a ``label`` column).

Packing a million files takes a while, so it is safe to stop:

- each shard is written under a temporary name, flushed and renamed when
  whole (:func:`dirvae.io.atomic.atomic_write`), so a shard name on disk is
  always a complete shard;
- ``index.json`` is rewritten (atomically) after each shard, listing the
  finished shards and their item counts; training reads counts from it
  instead of listing items;
- running the same command again keeps the finished shards and writes the
  rest.  The index records the folder's listing (a hash of its names) and
  the options, so resuming over a folder that changed, or with other
  options, is refused rather than mixing two packings.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from webdataset import TarWriter

from dirvae.data.files import FileListing, detect_modality, list_files
from dirvae.data.formats import extension
from dirvae.data.shard_sources import INDEX_FORMAT, INDEX_NAME, read_index
from dirvae.errors import DataError
from dirvae.io.atomic import atomic_write, atomic_write_json, remove_orphans
from dirvae.modalities import MODALITIES

FORMATS = ("tar", "parquet")
SHARD_SIZE = 1000
"""Files per shard by default: 1000 64×64 JPEGs make a ~5 MB shard, 1M of them a thousand shards."""


@dataclass
class Packed:
    """What a packing did: items and shards in all, and how many shards this call wrote."""

    out: Path
    items: int
    shards: int
    written: int
    modality: str


def _keys(listing: FileListing) -> list[str]:
    """A WebDataset key per file: its path without the extension, dots made underscores, unique.

    WebDataset splits a member's name at the first dot of its base name, so
    ``a.b.jpg`` would otherwise be key ``a`` with member ``b.jpg``.
    """
    seen: set[str] = set()
    keys = []
    for number, name in enumerate(listing.paths):
        stem = os.path.splitext(name)[0]
        folder, base = os.path.split(stem)
        key = os.path.join(folder, base.replace(".", "_")) if folder else base.replace(".", "_")
        if key in seen:
            key = f"{key}_{number}"
        seen.add(key)
        keys.append(key)
    return keys


def fingerprint(listing: FileListing, fmt: str, shard_size: int) -> str:
    digest = hashlib.sha256(f"{fmt}\n{shard_size}\n".encode())
    for name in listing.paths:
        digest.update(os.fsencode(name) + b"\n")
    return digest.hexdigest()


def _write_tar(path: str, rows: list[tuple[str, str, bytes, int]]) -> None:
    with open(path, "wb") as handle, TarWriter(handle, encoder=False, mtime=0) as writer:
        for key, name, payload, label in rows:
            sample = {"__key__": key, extension(name).lstrip("."): payload}
            if label >= 0:
                sample["cls"] = str(label).encode("ascii")
            writer.write(sample)


def _write_parquet(path: str, rows: list[tuple[str, str, bytes, int]]) -> None:
    table = pa.table({
        "key": pa.array([row[0] for row in rows], pa.string()),
        "name": pa.array([row[1] for row in rows], pa.string()),
        "data": pa.array([row[2] for row in rows], pa.binary()),
        "label": pa.array([row[3] for row in rows], pa.int64()),
    })  # fmt: skip
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    with open(path, "wb") as handle:
        handle.write(buffer.getvalue())


def pack_folder(
    source: str | os.PathLike, out: str | os.PathLike, *, modality: str | None = None, fmt: str = "tar",
    shard_size: int = SHARD_SIZE, progress: Callable[[int, int], None] | None = None,
) -> Packed:  # fmt: skip
    """Pack ``source`` into shards in ``out``, resuming a packing that stopped; ``progress(done, total)`` hears each file."""
    if fmt not in FORMATS:
        raise DataError(f"--format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if shard_size < 1:
        raise DataError(f"--shard-size must be at least 1, not {shard_size}")
    source, out = Path(source), Path(out)
    if not source.is_dir():
        raise DataError(f"{source}: no such directory")
    modality = modality or detect_modality(source)
    if modality is None:
        raise DataError(f"{source}: no {', '.join(MODALITIES.names())} file found")
    listing = list_files(source, MODALITIES[modality].extensions)
    total = len(listing.paths)
    if not total:
        raise DataError(f"{source}: no {modality} file found")
    if out.resolve() == source.resolve() or source.resolve() in out.resolve().parents:
        raise DataError(f"{out}: the shards must go outside {source}")
    stamp = fingerprint(listing, fmt, shard_size)
    index = _resumable(out, stamp)
    done = {entry["name"]: entry for entry in index["shards"]} if index else {}
    if out.is_dir():
        remove_orphans(out)  # a shard a kill left half-written, under its temporary name
    keys = _keys(listing)
    count = -(-total // shard_size)
    suffix = ".tar" if fmt == "tar" else ".parquet"
    entries, written = [], 0
    for shard in range(count):
        name = f"shard-{shard:06d}{suffix}"
        first, last = shard * shard_size, min(total, (shard + 1) * shard_size)
        if name in done and (out / name).is_file():
            entries.append(done[name])
        else:
            rows = []
            for number in range(first, last):
                try:
                    payload = Path(listing.absolute(number)).read_bytes()
                except OSError as error:
                    raise DataError(f"{listing.absolute(number)}: cannot read ({error.strerror or error})") from None
                rows.append((keys[number], listing.paths[number], payload, listing.label(number)))
            atomic_write(out / name, lambda tmp: (_write_tar if fmt == "tar" else _write_parquet)(tmp, rows))
            entries.append({"name": name, "items": last - first, "bytes": (out / name).stat().st_size})
            written += 1
        _write_index(out, stamp, modality, source, fmt, shard_size, listing, entries, complete=shard == count - 1)
        if progress is not None:
            progress(last, total)
    return Packed(out, total, count, written, modality)


def _resumable(out: Path, stamp: str) -> dict | None:
    """The index of an earlier packing into ``out`` to continue, or None for a fresh folder; anything else is refused."""
    if not out.exists():
        return None
    if not out.is_dir():
        raise DataError(f"{out}: exists and is not a folder")
    index = read_index(out)
    if index is None:
        if any(not name.startswith(".") for name in os.listdir(out)):
            raise DataError(f"{out}: not empty and holds no {INDEX_NAME}; pack into a new or empty folder")
        return None
    if index.get("fingerprint") != stamp:
        raise DataError(f"{out}: holds shards of another folder or other options; pack into a new folder, or remove it")
    return index


def _write_index(
    out: Path, stamp: str, modality: str, source: Path, fmt: str, shard_size: int, listing: FileListing, entries: list[dict], *, complete: bool
) -> None:  # fmt: skip
    atomic_write_json(out / INDEX_NAME, {
        "format": INDEX_FORMAT, "modality": modality, "source": str(source), "kind": fmt, "shard_size": shard_size,
        "items": sum(entry["items"] for entry in entries), "classes": list(listing.classes), "fingerprint": stamp,
        "complete": complete, "shards": entries,
    })  # fmt: skip
