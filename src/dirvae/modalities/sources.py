"""Sharded sources for every modality: the shards ``--data`` names, decoded by the run's modality.

Nothing here knows a modality: the registry's spec says which members it
reads (its ``extensions``), how one file's bytes become items
(:meth:`~dirvae.modalities.spec.Modality.decode`), and whether a file holds
one item or many.  A new modality that implements ``decode`` reads shards
with no change here.
"""

from __future__ import annotations

from functools import partial

from dirvae import printer
from dirvae.data.shard_sources import is_shard_source, open_shard_set
from dirvae.data.shards import ShardStream, check_readable
from dirvae.modalities import MODALITIES
from dirvae.modalities.spec import DataConfig


def open_shards(data: DataConfig) -> ShardStream:
    """The stream of ``data.source``'s shards, every sample decoded by the modality with ``data``'s options.

    The shards' sample counts are read from metadata (no per-item listing),
    and the first samples are decoded now, so shards of another modality or
    nothing readable are one clear error before training starts.
    """
    spec = MODALITIES[data.modality]
    shards = open_shard_set(data.source, column=data.column, label_column=data.label_column, prefer=(spec.name,), note=printer.note)
    stream = ShardStream(shards, partial(spec.decode, data), data.item_shape, spec.extensions, item_key=spec.item_key)
    check_readable(stream)
    return stream


__all__ = ["is_shard_source", "open_shards"]
