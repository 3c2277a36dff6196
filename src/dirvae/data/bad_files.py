"""Skipping unreadable files: one warning per file, and a count.

Real folders always hold a few bad files (a truncated download, a zero-byte
placeholder, a text file named .jpg).  Stopping a long run for one of them
costs more than the sample is worth, so the dataset returns None for it and
the batch collation drops it; the warning names the file so the user can fix
or delete it, and the per-batch count tells the training loop how much data
was lost.
"""

from __future__ import annotations

import multiprocessing
import warnings
from typing import Any

import torch


class UnreadableFileWarning(UserWarning):
    """A data file was skipped because it could not be read (``path``, ``reason``)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"skipping unreadable file {path} ({reason})")
        self.path = path
        self.reason = reason


def warning_line(warning: Warning | str) -> str:
    """The user's line for a data warning: ``skipping FILE: reason`` for a skipped file, else its first line."""
    if isinstance(warning, UnreadableFileWarning):
        return f"skipping {warning.path}: {warning.reason}"
    return (str(warning).strip().splitlines() or [""])[0]


def describe_error(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    name = type(error).__name__
    return f"{name}: {text}" if text else name


class BadFiles:
    """Files found unreadable, so each warns once only and counts once.

    Keyed by file index so that checking an item costs one set lookup.  A
    forked DataLoader worker inherits what the main process already knows
    (for example from the listing probe).  :meth:`share` goes further for
    loaders with workers: a flag per file in shared memory, so a file one
    worker found bad is skipped (and warned about) by no other worker, and the
    main process can count distinct bad files however many windows, frames,
    epochs or workers met them.
    """

    def __init__(self) -> None:
        self._names: dict[int, str] = {}
        self._flags: torch.Tensor | None = None
        self._lock: Any = None

    def share(self, files: int) -> None:
        """Keep the record in shared memory from now on (call before the workers start)."""
        if self._flags is not None and self._flags.numel() == files:
            return
        flags = torch.zeros(files, dtype=torch.uint8).share_memory_()
        for index in self._names:
            flags[index] = 1
        self._flags, self._lock = flags, multiprocessing.Lock()

    def __contains__(self, index: object) -> bool:
        if index in self._names:
            return True
        return self._flags is not None and bool(self._flags[int(index)])  # type: ignore[call-overload]

    def __len__(self) -> int:
        return int(self._flags.sum()) if self._flags is not None else len(self._names)

    def indices(self) -> list[int]:
        """Every bad file's index, including those other worker processes found."""
        if self._flags is not None:
            return self._flags.nonzero().flatten().tolist()
        return sorted(self._names)

    @property
    def names(self) -> list[str]:
        return sorted(self._names.values())

    def report(self, index: int, name: str, error: BaseException | str) -> None:
        """Remember a bad file and warn about it the first time only, in whichever process meets it first."""
        if index in self._names:
            return
        self._names[index] = name
        if self._flags is not None:
            with self._lock:
                if self._flags[index]:
                    return
                self._flags[index] = 1
        reason = error if isinstance(error, str) else describe_error(error)
        warnings.warn(UnreadableFileWarning(name, reason), stacklevel=3)
