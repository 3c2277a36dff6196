"""Reading the samples of one shard, undecoded: a key, the bytes of the member to decode, its extension, a label.

Tar shards are read with webdataset's own tar iterator and key grouping
(members ``cats/001.jpg`` and ``cats/001.cls`` are one sample keyed
``cats/001``); the member to decode is the one whose extension the modality
reads.  Tables (Parquet, Arrow) give one sample a row: the payload column
holds bytes, text, or Hugging Face's ``{bytes, path}`` struct.

Nothing is decoded here, so skipping to a position inside a shard (a reader
whose share of the epoch starts mid-shard) costs reading, not decoding.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
from webdataset.gopen import gopen
from webdataset.tariterators import group_by_keys, tar_file_expander

from dirvae.data.shard_sources import ARROW, PARQUET, TAR, Shard, ShardSet, arrow_batches

LABEL_MEMBERS = ("cls", "label", "cls.txt", "label.txt")
"""Tar members holding a sample's class as a whole number (WebDataset's convention is ``.cls``)."""
TABLE_BATCH = 256


@dataclass(frozen=True)
class Sample:
    """One sample of a shard, not yet decoded; ``payload`` is None when no member has a readable extension."""

    key: str
    payload: bytes | None
    extension: str
    label: int = -1
    problem: str | None = None


def member_extension(suffix: str) -> str:
    """``seg.png`` → ``.png``: the last part of a WebDataset suffix, as file extensions are compared."""
    return "." + suffix.rsplit(".", 1)[-1].lower()


def read_samples(shards: ShardSet, shard: Shard, extensions: frozenset[str], start: int = 0) -> Iterator[Sample]:
    """The samples of ``shard`` from position ``start`` on; a damaged shard raises where the damage is."""
    if shards.kind == TAR:
        yield from _tar_samples(shard, extensions, start)
    elif shards.kind in (PARQUET, ARROW):
        yield from _table_samples(shards, shard, start)
    else:  # pragma: no cover - ShardSet kinds are fixed
        raise ValueError(f"unknown shard kind {shards.kind!r}")


def _raise(error: Exception) -> bool:
    raise error


def _tar_samples(shard: Shard, extensions: frozenset[str], start: int) -> Iterator[Sample]:
    stream = gopen(shard.url)
    try:
        members = tar_file_expander([{"url": shard.url, "stream": stream}], handler=_raise)
        for position, sample in enumerate(group_by_keys(members, handler=_raise)):
            if position < start:
                continue
            yield tar_sample(sample, extensions)
    finally:
        stream.close()


def tar_sample(sample: dict, extensions: frozenset[str]) -> Sample:
    """A grouped WebDataset sample as a :class:`Sample`: the first member (by suffix) the modality reads."""
    key = str(sample["__key__"])
    suffixes = sorted(name for name in sample if not name.startswith("__"))
    label = -1
    for name in LABEL_MEMBERS:
        if name in sample:
            try:
                label = int(bytes(sample[name]).decode("ascii").strip())
            except (UnicodeDecodeError, ValueError):
                label = -1
            break
    for suffix in suffixes:
        if member_extension(suffix) in extensions:
            return Sample(key, bytes(sample[suffix]), member_extension(suffix), label)
    shown = ", ".join(suffixes) or "none"
    return Sample(key, None, "", label, f"no member with a readable extension (members: {shown})")


def _table_samples(shards: ShardSet, shard: Shard, start: int) -> Iterator[Sample]:
    columns = [c for c in (shards.column, shards.label_column, shards.name_column, shards.key_column) if c]
    columns = list(dict.fromkeys(columns))
    position = 0
    for batch in _table_batches(shards.kind, shard.url, columns, start):
        offset, batch = batch
        position = offset
        values = {name: batch.column(name).to_pylist() for name in columns}
        for row in range(batch.num_rows):
            at = position + row
            if at < start:
                continue
            yield table_sample(shards, {name: values[name][row] for name in columns}, at)


def _table_batches(kind: str, url: str, columns: list[str], start: int) -> Iterator[tuple[int, pa.RecordBatch]]:
    """(position of the first row, record batch), skipping whole row groups before ``start``."""
    if kind == PARQUET:
        with pq.ParquetFile(url) as table:
            position, groups = 0, []
            for group in range(table.metadata.num_row_groups):
                rows = table.metadata.row_group(group).num_rows
                if position + rows > start:
                    groups.append(group)
                else:
                    position += rows
            if not groups:
                return
            for batch in table.iter_batches(batch_size=TABLE_BATCH, row_groups=groups, columns=columns):
                yield position, batch
                position += batch.num_rows
        return
    reader = arrow_batches(url)
    batches = (reader.get_batch(i) for i in range(reader.num_record_batches)) if isinstance(reader, ipc.RecordBatchFileReader) else reader
    position = 0
    for batch in batches:
        if position + batch.num_rows > start:
            yield position, batch.select(columns)
        position += batch.num_rows


def table_sample(shards: ShardSet, row: dict, position: int) -> Sample:
    """One table row as a :class:`Sample`: bytes, text (UTF-8 encoded) or a ``{bytes, path}`` struct."""
    value = row[shards.column]
    name = row.get(shards.name_column) if shards.name_column else None
    if isinstance(value, dict):  # Hugging Face Image/Audio features
        name = value.get("path") or name
        value = value.get("bytes")
    key = str(row[shards.key_column]) if shards.key_column and row.get(shards.key_column) is not None else str(position)
    label = row.get(shards.label_column) if shards.label_column else None
    label = int(label) if isinstance(label, int) else -1
    extension = os.path.splitext(str(name))[1].lower() if name else ""
    if value is None:
        return Sample(key, None, extension, label, f"column {shards.column!r} is empty in this row")
    payload = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    return Sample(key, payload, extension, label)
