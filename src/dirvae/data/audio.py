"""A folder of audio files as a dataset of fixed-length windows.

Each file is cut into consecutive windows of ``sample_size`` frames at
``sample_rate``; item i is one window, read lazily from disk.  Only the file
headers are read when listing (frame count, rate, channels), which is what
fixes the number of windows up front, so a DataLoader (and a
DistributedSampler) can index the whole folder.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections import OrderedDict

import numpy as np
import torch
from torch.utils.data import Dataset

from dirvae.data.audio_files import Sound, audio_info, open_audio
from dirvae.data.audio_windows import (
    ChannelSpec,
    channel_count,
    channels_fit,
    read_window,
    resampled_length,
)
from dirvae.data.bad_files import BadFiles, describe_error
from dirvae.data.file_items import ItemsAcrossFiles
from dirvae.data.formats import AUDIO_EXTENSIONS
from dirvae.data.files import ListedFolder, no_readable_error
from dirvae.errors import DataError

Item = tuple[torch.Tensor, int] | None

PADDING_MODES = ("none", "short", "all")


class ShortFileWarning(UserWarning):
    """Audio files shorter than one window were left out (padding is off)."""


def padding_mode(pad_last: bool | str) -> str:
    """``pad_last`` as one of PADDING_MODES (True is "all" and False "none", as in the seed)."""
    if pad_last is True or pad_last is False:
        return "all" if pad_last else "none"
    if pad_last not in PADDING_MODES:
        raise DataError(f"--pad-last must be one of {', '.join(PADDING_MODES)}, not {pad_last!r}")
    return str(pad_last)


class AudioFolder(ItemsAcrossFiles, ListedFolder, Dataset):
    """Windows of every audio file libsndfile or FFmpeg reads under a folder.

    ``pad_last`` says which last partial windows are zero-padded rather than
    dropped: ``"short"`` (the default) pads only files shorter than one
    window, which would otherwise be dropped whole; ``"all"`` (or True) pads
    every file's last window; ``"none"`` (or False, the seed's behaviour)
    drops them, and files shorter than a window are then counted in
    ``too_short`` and named in one warning.  Longer files keep dropping their
    tail by default because a mostly silent window teaches silence.  Files
    whose header cannot be read are left out when listing, each with one
    warning, and counted in ``refused``.
    """

    modality = "audio"
    extensions = AUDIO_EXTENSIONS
    item_name = "window"
    open_files = 1
    """Files kept open per process and thread; runs read side by side (RunBatchSampler) raise it."""

    def __init__(
        self,
        directory: str | os.PathLike = "data/audio/",
        sample_size: int = 2**16,
        sample_rate: int = 44100,
        channels: ChannelSpec = 1,
        pad_last: bool | str = "short",
        labels: bool | None = None,
    ) -> None:
        if int(sample_size) < 1 or int(sample_rate) < 1:
            raise DataError(f"sample_size and sample_rate must be positive, not {sample_size!r}, {sample_rate!r}")
        if isinstance(channels, int) and channels < 1:
            raise DataError(f"channels must be at least 1, not {channels!r}")
        self.sample_size = int(sample_size)
        self.sample_rate = int(sample_rate)
        self.channels: ChannelSpec = channels if isinstance(channels, int) else tuple(int(c) for c in channels)
        self.pad_last = padding_mode(pad_last)
        self._list(directory, labels)
        self.bad_files = BadFiles()
        self._scan()
        self._local = threading.local()

    def _scan(self) -> None:
        """Read every header: the only per-file cost of listing."""
        kept, frames, rates, counts = [], [], [], []
        first_error = None
        for index in range(len(self.paths)):
            try:
                info = audio_info(self.listing.absolute(index))
                if info.frames <= 0 or info.samplerate <= 0:
                    raise ValueError("no audio frames")
                if not channels_fit(self.channels, info.channels):
                    raise ValueError(f"has {info.channels} channel(s), asked for channels {self.channels}")
            except Exception as error:
                first_error = first_error or describe_error(error)
                self.bad_files.report(index, self.paths[index], error)
                continue
            length = resampled_length(info.frames, info.samplerate, self.sample_rate)
            whole, rest = divmod(length, self.sample_size)
            padded = self.pad_last == "all" or (self.pad_last == "short" and whole == 0)
            kept.append(index)
            frames.append(info.frames)
            rates.append(info.samplerate)
            counts.append(whole + (1 if rest and padded else 0))
        self.refused = len(self.paths) - len(kept)
        if not kept:
            raise no_readable_error(self.listing, self.modality, len(self.paths), f"{self.paths[0]}: {first_error}", self.extensions)
        self.file_index = np.asarray(kept, dtype=np.int64)  # position in paths of each kept file
        self.file_frames = np.asarray(frames, dtype=np.int64)
        self.file_rates = np.asarray(rates, dtype=np.int64)
        self._number_items(counts)
        self.file_windows = self.file_items
        short = [self.paths[int(i)] for i in self.file_index[self.file_windows == 0]]
        self.too_short = len(short)
        window = f"{self.sample_size} samples at {self.sample_rate} Hz (--audio-size {self.sample_size}, --sample-rate {self.sample_rate})"
        if int(self.file_windows.sum()) == 0:
            raise DataError(
                f"{self.root}: no audio file holds a whole window of {window}; "
                "lower --audio-size or pass --pad-last short to pad short files"
            )
        if short:
            shown = ", ".join(short[:3]) + (f" and {len(short) - 3} more" if len(short) > 3 else "")
            warnings.warn(
                f"{self.root}: {len(short)} of {len(self.paths)} audio files are shorter than one window of "
                f"{window} and are not used ({shown}); pass --pad-last short to pad them, or lower --audio-size",
                ShortFileWarning,
                stacklevel=3,
            )

    @property
    def item_shape(self) -> tuple[int, int]:
        return (channel_count(self.channels), self.sample_size)

    def __getitem__(self, index: int) -> Item:
        file, window = self.locate(index)
        path_index = int(self.file_index[file])
        if path_index in self.bad_files:
            return None
        try:
            sound = self._open(file)
            block = read_window(
                sound,
                window * self.sample_size,
                self.sample_size,
                int(self.file_rates[file]),
                self.sample_rate,
                self.channels,
            )
        except Exception as error:  # one file's failure must not end the epoch
            self._close(file)
            self.bad_files.report(path_index, self.paths[path_index], error)
            return None
        return torch.from_numpy(block), self.listing.label(path_index)

    def _handles(self) -> OrderedDict:
        """This process's and thread's open files, least recently used first (a forked worker starts afresh:
        it must not share the parent's file offsets)."""
        local = self._local
        if getattr(local, "pid", None) != os.getpid():
            local.pid = os.getpid()
            local.handles = OrderedDict()
        return local.handles

    def _open(self, file: int) -> Sound:
        """The open file for this process and thread, reused across windows.

        Reopening costs little for WAV but seeking from scratch in Ogg does
        not, and consecutive windows (the unshuffled order, or a run of
        :class:`~dirvae.data.samplers.RunBatchSampler`) just read on.  Up to
        ``open_files`` files stay open, so runs read side by side each keep theirs.
        """
        handles = self._handles()
        if file in handles:
            handles.move_to_end(file)
            return handles[file]
        sound = open_audio(self.listing.absolute(int(self.file_index[file])))
        handles[file] = sound
        while len(handles) > max(1, int(self.open_files)):
            handles.popitem(last=False)[1].close()
        return sound

    def _close(self, file: int | None = None) -> None:
        """Close ``file``'s handle (every handle with None)."""
        handles = self._handles()
        for key in [key for key in handles if file is None or key == file]:
            handles.pop(key).close()

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_local"]  # open files do not travel to spawned workers
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._local = threading.local()


