"""Tiny data of every modality, as folders and as shards, and what the shard tests compare: item hashes.

Plain functions (see ``builders.py``): each test writes exactly the data it needs.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc
import webdataset as wds
from PIL import Image

from dirvae.data import make_loader
from dirvae.modalities import MODALITIES
from dirvae.modalities.opening import open_dataset
from tests.cli.helpers import TOPIC_WORDS, write_audio, write_documents, write_images, write_video

SIZE = 16
AUDIO_SIZE = 2048
RATE = 8000


def write_clips(folder: Path, n: int = 3) -> Path:
    for index in range(n):
        write_video(folder / f"clip{index}.mp4", frames=4 + index, size=24)
    return folder


FOLDERS = {
    "image": lambda folder: write_images(folder, n=12, size=20, classes=("a", "b")),
    "audio": lambda folder: write_audio(folder, n=3, seconds=0.6, rate=RATE),
    "video": write_clips,
    "text": lambda folder: write_documents(folder, per_topic=4),
}
"""A folder of each registered modality; a new modality adds its builder here."""


def data_config(modality: str, source: str | Path, **extra):
    """The data section a run of ``modality`` at the test sizes would record."""
    config = MODALITIES[modality].data_config
    if modality == "text":  # the vocabulary of the test's documents (every builder writes the same words)
        words = tuple(sorted({word for group in TOPIC_WORDS.values() for word in group}))
        return config(str(source), (len(words),), text_unit="auto", text_field="text", label_field=None, vocab_size=len(words),
                      min_df=1, max_df=1.0, vocabulary=words, **extra)  # fmt: skip
    if modality == "audio":
        return config(str(source), (1, AUDIO_SIZE), sample_rate=RATE, sample_size=AUDIO_SIZE, pad_last="short", **extra)
    return config(str(source), (3, SIZE, SIZE), image_size=SIZE, grayscale=False, **extra)


def digest(tensor) -> str:
    return hashlib.sha1(np.ascontiguousarray(tensor.numpy()).tobytes()).hexdigest()


def folder_hashes(modality: str, folder: Path) -> Counter:
    dataset = open_dataset(data_config(modality, folder))
    return Counter(digest(dataset[i][0]) for i in range(len(dataset)) if dataset[i] is not None)


def stream_hashes(modality: str, source, *, workers: int = 0, batch: int = 4, shuffle: bool = False, **extra) -> Counter:
    stream = open_dataset(data_config(modality, source, **extra))
    found: Counter = Counter()
    for loaded in make_loader(stream, batch, shuffle=shuffle, num_workers=workers, seed=1):
        found.update(digest(item) for item in loaded.data)
    return found


def picture(value: int, size: int = 20) -> bytes:
    """A PNG whose every pixel is ``value``: its decoded item says which sample it was."""
    buffer = io.BytesIO()
    Image.fromarray(np.full((size, size, 3), value, dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def write_tar(path: Path, samples: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wds.TarWriter(str(path), encoder=False) as writer:
        for sample in samples:
            writer.write(sample)
    return path


def numbered_shards(folder: Path, counts: list[int]) -> int:
    """Tar shards (no index) of PNGs labelled 0, 1, 2, ... in order; returns the sample count."""
    label = 0
    for shard, count in enumerate(counts):
        samples = []
        for _ in range(count):
            samples.append({"__key__": f"item{label:05d}", "png": picture(label % 256), "cls": str(label).encode()})
            label += 1
        write_tar(folder / f"part-{shard:04d}.tar", samples)
    return label


def write_save_to_disk(folder: Path, payloads: list[bytes], labels: list[int]) -> Path:
    """The layout ``datasets.Dataset.save_to_disk`` writes: Arrow stream files, ``state.json``, ``dataset_info.json``."""
    folder.mkdir(parents=True, exist_ok=True)
    image = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    table = pa.table({
        "image": pa.array([{"bytes": p, "path": f"{i}.png"} for i, p in enumerate(payloads)], image),
        "label": pa.array(labels, pa.int64()),
    })  # fmt: skip
    with ipc.new_stream(str(folder / "data-00000-of-00001.arrow"), table.schema) as writer:
        for batch in table.to_batches(max_chunksize=3):
            writer.write_batch(batch)
    (folder / "state.json").write_text(json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}], "_split": "train"}))
    (folder / "dataset_info.json").write_text("{}")
    return folder
