"""A folder of videos as a dataset of frames, [C, S, S] tensors in [0, 1]."""

from __future__ import annotations

import os
import threading
import warnings
from collections import OrderedDict

import av
import numpy as np
import torch
from torch.utils.data import Dataset

from dirvae.data.bad_files import BadFiles, describe_error
from dirvae.data.file_items import ItemsAcrossFiles
from dirvae.data.formats import VIDEO_EXTENSIONS
from dirvae.data.files import ListedFolder, checked_image_size, no_readable_error
from dirvae.data.pixels import picture_to_tensor
from dirvae.data.video_frames import FrameReader, count_frames

Item = tuple[torch.Tensor, int] | None

# Big frames are scaled down by FFmpeg's (fast, area-averaging) scaler to no
# less than twice the target before Pillow's crop and resize: the JPEG
# draft() trick, for video.
_PRESCALE_MARGIN = 2

_INHERITED: list[OrderedDict] = []
_READERS_PER_FILE = 4
"""Readers one file may hold open at once (runs of one file read side by side), before one is reused."""


class VideoFolder(ItemsAcrossFiles, ListedFolder, Dataset):
    """Every frame of every video PyAV decodes under a folder.

    Item i is one frame, found by timestamp so that any order of access gives
    exactly the frame asked for.  A few files stay open per worker so that
    reading a file's frames in turn (the unshuffled, or ``shuffle_dir``, order)
    decodes each frame once.  A file may have several readers open: a frame
    goes to the one standing just behind it, so runs of consecutive frames read
    side by side (:class:`~dirvae.data.samplers.RunBatchSampler`, the mixed
    default) each decode forward; ``open_files`` is raised to the number of
    runs read side by side.
    """

    modality = "video"
    extensions = VIDEO_EXTENSIONS
    item_name = "frame"
    open_files = 2

    def __init__(
        self,
        directory: str | os.PathLike = "data/video/",
        image_size: int | None = 64,
        grayscale: bool = False,
        labels: bool | None = None,
    ) -> None:
        self.image_size = checked_image_size(image_size)
        self.grayscale = bool(grayscale)
        self.channels = 1 if self.grayscale else 3
        self._list(directory, labels)
        self.bad_files = BadFiles()
        self._scan()
        self._local = threading.local()
        # Timestamps per file, kept after the file is closed so reopening it
        # does not demux it again (8 bytes a frame).
        self._indexes: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _scan(self) -> None:
        kept, counts = [], []
        first_error = None
        for index in range(len(self.paths)):
            try:
                frames = count_frames(self.listing.absolute(index))
            except Exception as error:
                first_error = first_error or describe_error(error)
                self.bad_files.report(index, self.paths[index], error)
                continue
            kept.append(index)
            counts.append(frames)
        self.refused = len(self.paths) - len(kept)
        if not kept:
            raise no_readable_error(self.listing, self.modality, len(self.paths), f"{self.paths[0]}: {first_error}", self.extensions)
        self.file_index = np.asarray(kept, dtype=np.int64)
        self._number_items(counts)
        self.file_frames = self.file_items

    @property
    def item_shape(self) -> tuple[int, int, int] | None:
        if self.image_size is None:
            return None
        return (self.channels, self.image_size, self.image_size)

    def __getitem__(self, index: int) -> Item:
        file, number = self.locate(index)
        path_index = int(self.file_index[file])
        if path_index in self.bad_files:
            return None
        try:
            reader = self._reader(file, number)
        except Exception as error:
            self.bad_files.report(path_index, self.paths[path_index], error)
            return None
        if number >= len(reader):
            # The header promised more frames than the packets hold: only
            # these frames are missing, the rest of the file is fine.
            warnings.warn(
                f"skipping frames {len(reader)}.. of {self.paths[path_index]}: its header lists "
                f"{self.file_frames[file]} frames but it holds {len(reader)}",
                stacklevel=2,
            )
            return None
        try:
            frame = reader.read(number)
            tensor = self._to_tensor(frame)
        except Exception as error:  # one file's failure must not end the epoch
            self._drop(file)
            self.bad_files.report(path_index, self.paths[path_index], error)
            return None
        return tensor, self.listing.label(path_index)

    def _to_tensor(self, frame: av.VideoFrame) -> torch.Tensor:
        return frame_to_tensor(frame, self.image_size, self.grayscale)

    def _readers(self) -> OrderedDict:
        """This process's and thread's open files (forked workers start afresh)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            if getattr(local, "readers", None):
                # Decoders opened before a fork are never freed in the child:
                # FFmpeg objects can hold locks of threads that did not fork.
                _INHERITED.append(local.readers)
            local.pid = os.getpid()
            local.readers = OrderedDict()
        return local.readers

    def _reader(self, file: int, number: int = 0) -> FrameReader:
        readers = self._readers()
        mine = [(key, reader) for key, reader in readers.items() if key[0] == file]
        best = None
        for key, reader in mine:
            gap = reader.behind(number) if number < len(reader) else None
            if gap is not None and (best is None or gap < best[0]):
                best = (gap, key)
        if best is None and mine and len(mine) >= _READERS_PER_FILE:
            best = (0, mine[0][0])  # the file's least recently used reader seeks
        if best is not None:
            readers.move_to_end(best[1])
            return readers[best[1]]
        reader = FrameReader(self.listing.absolute(int(self.file_index[file])), self._indexes.get(file))
        self._indexes[file] = reader.index
        self._opened = getattr(self, "_opened", 0) + 1
        readers[(file, self._opened)] = reader
        while len(readers) > self.open_files:
            _, oldest = readers.popitem(last=False)
            oldest.close()
        return reader

    def _drop(self, file: int) -> None:
        readers = self._readers()
        for key in [key for key in readers if key[0] == file]:
            readers.pop(key).close()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_local"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._local = threading.local()


def frame_to_tensor(frame: av.VideoFrame, image_size: int | None, grayscale: bool = False) -> torch.Tensor:
    """One decoded frame as a training item ``[C, S, S]`` in [0, 1], as :class:`VideoFolder` makes it.

    Large frames are first scaled down in FFmpeg (area averaging) to a little
    over the target size, which is much cheaper than resizing in Pillow.
    """
    size = image_size
    if size is not None and min(frame.width, frame.height) > _PRESCALE_MARGIN * size:
        scale = _PRESCALE_MARGIN * size / min(frame.width, frame.height)
        width = max(size, round(frame.width * scale))
        height = max(size, round(frame.height * scale))
        image = frame.to_image(width=width, height=height, interpolation="AREA", threads=1)
    else:
        image = frame.to_image(threads=1)  # see single_threaded()
    return picture_to_tensor(image, size, grayscale)
