"""Finding the shards of a sharded data set, and how many samples each holds, without reading the samples.

``--data`` may name WebDataset tar shards (a file, a brace pattern such as
``train-{000000..000127}.tar``, a folder of ``.tar`` files, or ``pipe:``
commands), Parquet files (one, or a folder of them), or a Hugging Face
``datasets`` folder written by ``save_to_disk`` (Arrow stream files).

Splitting an epoch exactly across DDP ranks and DataLoader workers needs each
shard's sample count up front.  Reading a million samples to count them would
cost minutes, so counts come from metadata: the ``index.json`` that
``dirvae pack`` writes beside its shards, Parquet footers, Arrow record-batch
headers.  Tar shards without an index have their headers scanned once (the
member data is skipped by seeking, so a local shard costs one read per member
header); a note says so.
"""

from __future__ import annotations

import glob
import json
import os
import re
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
from webdataset.gopen import gopen
from webdataset.shardlists import expand_urls
from webdataset.tariterators import base_plus_ext

from dirvae.errors import DataError

INDEX_NAME = "index.json"
"""Beside the shards: ``{"format": INDEX_FORMAT, "shards": [{"name": ..., "items": N}, ...], ...}``."""
INDEX_FORMAT = "dirvae.shards/1"
TAR, PARQUET, ARROW = "tar", "parquet", "arrow"
HF_STATE = "state.json"
HF_SPLITS = "dataset_dict.json"
_BRACES = re.compile(r"\{[^{}]*(\.\.|,)[^{}]*\}")


@dataclass(frozen=True)
class Shard:
    """One shard: where it is read from (a path or a ``pipe:`` command), its name in messages, its sample count."""

    url: str
    name: str
    items: int


@dataclass(frozen=True)
class ShardSet:
    """The shards of one source, in their listed order, and how their samples are read.

    ``column`` and ``label_column`` apply to tables (Parquet, Arrow): the
    column holding each item's bytes (or text), and an optional integer label.
    ``name_column`` is a column of file names, whose extension says the
    payload's format (None: the decoder sniffs it).
    """

    source: str
    kind: str
    shards: tuple[Shard, ...]
    column: str | None = None
    label_column: str | None = None
    name_column: str | None = None
    key_column: str | None = None
    counted: bool = field(default=False, compare=False)
    """Whether counts were found by scanning tar headers (no index)."""

    @property
    def items(self) -> int:
        return sum(shard.items for shard in self.shards)

    def subset(self, positions: Iterable[int]) -> "ShardSet":
        shards = tuple(self.shards[i] for i in positions)
        return ShardSet(self.source, self.kind, shards, self.column, self.label_column, self.name_column, self.key_column, self.counted)


def is_shard_source(source: str | os.PathLike) -> bool:
    """Whether ``--data`` names shards rather than a folder of files (or an embedded set)."""
    text = str(source)
    if text.startswith("pipe:") or _BRACES.search(text):
        return True
    if any(ch in text for ch in "*?[") and text.lower().endswith((".tar", ".parquet")):
        return True
    path = Path(text)
    if path.is_file():
        return path.suffix.lower() in (".tar", ".parquet", ".arrow") or path.name == INDEX_NAME
    if not path.is_dir():
        return False
    if (path / HF_STATE).is_file() or (path / HF_SPLITS).is_file() or (path / INDEX_NAME).is_file():
        return True
    try:
        names = os.listdir(path)
    except OSError:
        return False
    return any(name.lower().endswith((".tar", ".parquet")) for name in names) and not any(
        (path / name).is_dir() for name in names if not name.startswith(".")
    )


def open_shard_set(
    source: str | os.PathLike, *, column: str | None = None, label_column: str | None = None, prefer: tuple[str, ...] = (), note=None
) -> ShardSet:
    """The shards ``source`` names, with their sample counts; one :class:`DataError` for anything unusable.

    ``note`` (a callable taking one line) hears about slow paths: tar shards
    counted without an index.
    """
    text = str(source)
    path = Path(text)
    if path.is_dir() and (path / HF_SPLITS).is_file() and not (path / HF_STATE).is_file():
        path = _hf_split(path)
    if path.is_dir() and (path / HF_STATE).is_file():
        return _arrow_set(text, _hf_files(path), column, label_column, prefer)
    if path.is_file() and path.suffix.lower() == ".arrow":
        return _arrow_set(text, [path], column, label_column, prefer)
    urls = _expand(text)
    kinds = {_kind_of(url) for url in urls}
    if len(kinds) > 1:
        raise DataError(f"{text}: mixes tar and Parquet shards; name one kind")
    kind = kinds.pop()
    if kind == PARQUET:
        return _parquet_set(text, urls, column, label_column, prefer)
    if column is not None or label_column is not None:
        raise DataError(f"{text}: --column and --label-column apply to Parquet or Arrow tables, not tar shards")
    return _tar_set(text, urls, note)


def _expand(text: str) -> list[str]:
    """Shard URLs, sorted where they come from a folder; a pattern that matches nothing is an error."""
    path = Path(text)
    if path.is_file() and path.name == INDEX_NAME:
        path = path.parent
    if path.is_dir():
        names = sorted(name for name in os.listdir(path) if name.lower().endswith((".tar", ".parquet")) and not name.startswith("."))
        if not names:
            raise DataError(f"{path}: no .tar or .parquet shard in this folder")
        return [str(path / name) for name in names]
    urls = expand_urls(text)
    if text.startswith("pipe:"):
        return urls
    if any(ch in text for ch in "*?["):
        urls = sorted(found for url in urls for found in glob.glob(url))
    missing = [url for url in urls if not Path(url).is_file()]
    if not urls or missing:
        shown = missing[0] if missing else text
        count = f" ({len(missing)} of {len(urls)} shards missing)" if len(urls) > 1 and missing else ""
        raise DataError(f"{text}: no such shard {shown}{count}" if missing else f"{text}: the pattern matches no shard")
    return urls


def _kind_of(url: str) -> str:
    name = url.split()[-1] if url.startswith("pipe:") else url
    return PARQUET if name.lower().rstrip("'\"").endswith(".parquet") else TAR


def _shard_name(url: str) -> str:
    return url if url.startswith("pipe:") else os.path.basename(url)


# ----------------------------------------------------------------------- tar
def read_index(folder: Path) -> dict | None:
    """``folder/index.json`` as written by ``dirvae pack`` (None when absent); a damaged one is a DataError."""
    index = folder / INDEX_NAME
    if not index.is_file():
        return None
    try:
        values = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DataError(f"{index}: not a readable shard index ({error})") from None
    if not isinstance(values, dict) or values.get("format") != INDEX_FORMAT or not isinstance(values.get("shards"), list):
        raise DataError(f"{index}: not a dirvae shard index (expected format {INDEX_FORMAT})")
    return values


def indexed_counts(urls: list[str]) -> dict[str, int]:
    """Sample counts of the shards an ``index.json`` beside them lists (by file name)."""
    counts: dict[str, int] = {}
    folders = {Path(url).parent for url in urls if not url.startswith("pipe:")}
    for folder in folders:
        values = read_index(folder)
        if values is None:
            continue
        for entry in values["shards"]:
            if isinstance(entry, dict) and isinstance(entry.get("items"), int):
                counts[str(folder / str(entry.get("name")))] = entry["items"]
    return counts


def count_tar_samples(url: str) -> int:
    """Samples (runs of members sharing a key) in one tar shard, from its headers.

    A local file is opened seekable, so member data is stepped over, not read;
    a ``pipe:`` stream must be read through.  A damaged tar is a DataError.
    """
    keys, last = 0, None
    try:
        if url.startswith("pipe:"):
            stream = gopen(url)
            archive = tarfile.open(fileobj=stream, mode="r|*")
        else:
            stream = None
            archive = tarfile.open(url, mode="r:")
        with archive:
            for member in archive:
                if not member.isreg():
                    continue
                key, _ = base_plus_ext(member.name)
                if key is not None and key != last and not os.path.basename(member.name).startswith("__"):
                    keys, last = keys + 1, key
        if stream is not None:
            stream.close()
    except (OSError, tarfile.TarError, EOFError, ValueError) as error:
        raise DataError(f"{_shard_name(url)}: not a readable tar shard ({type(error).__name__}: {error})") from None
    return keys


def _tar_set(source: str, urls: list[str], note) -> ShardSet:
    counts = indexed_counts(urls)
    unknown = [url for url in urls if url not in counts]
    if unknown and note is not None:
        note(f"{source}: no {INDEX_NAME} beside {len(unknown)} tar shard(s): counting their samples from the tar headers")
    for url in unknown:
        counts[url] = count_tar_samples(url)
    shards = tuple(Shard(url, _shard_name(url), counts[url]) for url in urls)
    if not any(shard.items for shard in shards):
        raise DataError(f"{source}: the tar shards hold no samples")
    return ShardSet(source, TAR, shards, counted=bool(unknown))


# -------------------------------------------------------------------- tables
def _columns(source: str, schema: pa.Schema, column: str | None, label_column: str | None, prefer: tuple[str, ...]) -> dict[str, str | None]:
    """Which columns hold the payload, the label, a file name and a key; a wrong name is one DataError.

    Without ``--column``, a payload column named ``data`` or one of ``prefer``
    (the modality's name: Hugging Face names its image column ``image``) is
    taken, or the only payload column there is.
    """
    names = list(schema.names)
    shown = ", ".join(names)
    payloads = [f.name for f in schema if _payload_type(f.type)]
    if column is None:
        preferred = [name for name in ("data", *prefer, "bytes") if name in payloads]
        if preferred or len(payloads) == 1:
            column = (preferred or payloads)[0]
        else:
            raise DataError(f"{source}: pass --column to say which column holds the items (columns: {shown})")
    if column not in names:
        raise DataError(f"{source}: no column {column!r} (columns: {shown})")
    if not _payload_type(schema.field(column).type):
        raise DataError(f"{source}: column {column!r} holds {schema.field(column).type}, not bytes, text or a {{bytes, path}} struct")
    if label_column is not None:
        if label_column not in names:
            raise DataError(f"{source}: no label column {label_column!r} (columns: {shown})")
        if not pa.types.is_integer(schema.field(label_column).type):
            raise DataError(f"{source}: label column {label_column!r} holds {schema.field(label_column).type}, not whole numbers")
    elif "label" in names and pa.types.is_integer(schema.field("label").type):
        label_column = "label"
    name_column = next((name for name in ("name", "path", "file") if name in names and pa.types.is_string(schema.field(name).type)), None)
    key_column = next((name for name in ("key", "__key__", "id") if name in names), None)
    return {"column": column, "label_column": label_column, "name_column": name_column, "key_column": key_column}


def _payload_type(kind: pa.DataType) -> bool:
    if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return True
    return pa.types.is_struct(kind) and kind.get_field_index("bytes") >= 0


def _parquet_set(source: str, urls: list[str], column: str | None, label_column: str | None, prefer: tuple[str, ...]) -> ShardSet:
    shards, chosen = [], None
    for url in urls:
        if url.startswith("pipe:"):
            raise DataError(f"{url}: Parquet is read from files, not pipe: commands")
        try:
            metadata = pq.read_metadata(url)
            schema = metadata.schema.to_arrow_schema()
        except (OSError, pa.ArrowException) as error:
            raise DataError(f"{_shard_name(url)}: not a readable Parquet file ({error})") from None
        columns = _columns(_shard_name(url), schema, column, label_column, prefer)
        if chosen is not None and columns != chosen:
            raise DataError(f"{_shard_name(url)}: its columns differ from the first Parquet file's ({chosen['column']!r})")
        chosen = columns
        shards.append(Shard(url, _shard_name(url), int(metadata.num_rows)))
    assert chosen is not None
    if not any(shard.items for shard in shards):
        raise DataError(f"{source}: the Parquet files hold no rows")
    return ShardSet(source, PARQUET, tuple(shards), **chosen)


def _hf_split(path: Path) -> Path:
    """A ``DatasetDict`` folder: its ``train`` split (or its only one)."""
    try:
        splits = json.loads((path / HF_SPLITS).read_text(encoding="utf-8")).get("splits", [])
    except (OSError, ValueError, AttributeError) as error:
        raise DataError(f"{path / HF_SPLITS}: not readable ({error})") from None
    if "train" in splits or len(splits) == 1:
        return path / ("train" if "train" in splits else splits[0])
    raise DataError(f"{path}: holds the splits {', '.join(splits)}; name one, e.g. --data {path / splits[0]}")


def _hf_files(path: Path) -> list[Path]:
    try:
        state = json.loads((path / HF_STATE).read_text(encoding="utf-8"))
        files = [path / entry["filename"] for entry in state["_data_files"]]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DataError(f"{path / HF_STATE}: not a datasets save_to_disk state ({type(error).__name__}: {error})") from None
    missing = [str(file) for file in files if not file.is_file()]
    if not files or missing:
        raise DataError(f"{path}: save_to_disk data file missing ({missing[0] if missing else 'none listed'})")
    return files


def arrow_batches(path: str) -> ipc.RecordBatchStreamReader | ipc.RecordBatchFileReader:
    """Record batches of an Arrow file, memory-mapped: a stream (``save_to_disk``) or the random-access format."""
    source = pa.memory_map(path, "r")
    try:
        return ipc.open_stream(source)
    except pa.ArrowInvalid:
        return ipc.open_file(source)


def _arrow_set(source: str, files: list[Path], column: str | None, label_column: str | None, prefer: tuple[str, ...]) -> ShardSet:
    shards, chosen = [], None
    for file in files:
        try:
            reader = arrow_batches(str(file))
            schema = reader.schema
            if isinstance(reader, ipc.RecordBatchFileReader):
                rows = sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
            else:
                rows = sum(batch.num_rows for batch in reader)
        except (OSError, pa.ArrowException) as error:
            raise DataError(f"{file}: not a readable Arrow file ({error})") from None
        columns = _columns(str(file), schema, column, label_column, prefer)
        chosen = chosen or columns
        shards.append(Shard(str(file), file.name, rows))
    assert chosen is not None
    if not any(shard.items for shard in shards):
        raise DataError(f"{source}: the Arrow files hold no rows")
    return ShardSet(source, ARROW, tuple(shards), **chosen)
