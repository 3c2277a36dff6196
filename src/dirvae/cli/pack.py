"""Pack a folder into shards for training at scale: WebDataset tar (default) or Parquet.

SRC is a folder of one modality's files (its kind is guessed from the
extensions, or given with --type); OUT gets shard-000000.tar, ... with
--shard-size files each, in the folder's sorted order, and index.json, which
lists each shard's item count so training starts without listing items.
Files are stored unchanged; class sub-folders become labels.

Stopping is safe: every shard is written under a temporary name and renamed
when whole, and running the same command again continues after the last
finished shard.  Train on the result with 'dirvae train --data OUT'.
"""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from dirvae import printer
from dirvae.cli.arguments import positive_int
from dirvae.modalities import MODALITIES
from dirvae.modalities.packing import FORMATS, SHARD_SIZE, pack_folder


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    add = parser.add_argument
    add("source", metavar="SRC", help="a folder of images, audio or video files")
    add("out", metavar="OUT", help="the folder to write the shards and index.json into (new, empty, or an unfinished packing of SRC)")
    add("--type", choices=MODALITIES.names(), default=None, help="which files of SRC to pack (default: guessed from the extensions)")
    add("--format", choices=FORMATS, default="tar", help="tar (WebDataset, default) or parquet (columns key, name, data, label)")
    add("--shard-size", type=positive_int, default=SHARD_SIZE, help=f"files per shard (default {SHARD_SIZE})")


def run(args: argparse.Namespace) -> int:
    bar = tqdm(unit="file", desc="dirvae pack", file=sys.stderr, disable=not sys.stderr.isatty(), mininterval=0.5)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    try:
        packed = pack_folder(args.source, args.out, modality=args.type, fmt=args.format, shard_size=args.shard_size, progress=progress)
    finally:
        bar.close()
    kept = packed.shards - packed.written
    resumed = f" ({kept} were already written)" if kept else ""
    printer.result(
        "pack", f"{packed.items} {packed.modality} files in {packed.shards} {args.format} shard(s){resumed}: {packed.out}/ "
        f"(train with --data {packed.out})",
    )  # fmt: skip
    return 0
