"""Tools' inputs that name shards: ``train-000003.tar`` (all its items), ``train-000003.tar#cats/img001`` (one sample).

A sample is named by its WebDataset key (a table row by its ``key`` column,
or its row number); a sound's windows or a clip's frames are
``shard.tar#KEY#window=N``, the names ``encode`` writes.  Items are decoded
by the run's modality with the run's options, exactly as training read them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from torch import Tensor

from dirvae.data.shard_sources import is_shard_source
from dirvae.errors import DataError
from dirvae.modalities.opening import open_dataset
from dirvae.runs.record import RunConfig

_ITEM = re.compile(r"^(?:\w+=)?(?P<index>\d+)$")


def shard_selector(text: str | Path) -> tuple[str, str | None, int | None] | None:
    """``(source, key, item)`` for an input naming shards, or None for anything else (files, folders)."""
    parts = str(text).split("#")
    if not is_shard_source(parts[0]):
        return None
    if len(parts) > 3:
        raise DataError(f"{text}: name a sample as SHARD#KEY, or one of its items as SHARD#KEY#N")
    key = parts[1] if len(parts) > 1 and parts[1] else None
    item = None
    if len(parts) == 3:
        match = _ITEM.match(parts[2])
        if match is None:
            raise DataError(f"{text}: {parts[2]!r} is not an item number (SHARD#KEY#N)")
        item = int(match["index"])
    return parts[0], key, item


def shard_items(run: RunConfig, text: str | Path) -> Iterator[tuple[Tensor, str]]:
    """The items an input naming shards stands for, with their names; a key the shards lack is a DataError."""
    selected = shard_selector(text)
    assert selected is not None, text
    source, key, item = selected
    stream = open_dataset(run.data.at(source))
    found = False
    for number, (tensor, name) in enumerate(stream.named_items({key} if key is not None else None)):
        found = True
        if item is None or number == item:
            yield tensor, name
            if item is not None:
                return
    if key is not None and not found:
        raise DataError(f"{text}: {source} holds no readable sample keyed {key!r}")
    if item is not None:
        raise DataError(f"{text}: sample {key!r} has {number + 1 if found else 0} item(s)")
