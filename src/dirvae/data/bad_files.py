"""Skipping unreadable files: one warning per file, and a count.

Real folders always hold a few bad files (a truncated download, a zero-byte
placeholder, a text file named .jpg).  Stopping a long run for one of them
costs more than the sample is worth, so the dataset returns None for it and
the batch collation drops it; the warning names the file so the user can fix
or delete it, and the per-batch count tells the training loop how much data
was lost.
"""

from __future__ import annotations

import warnings


class UnreadableFileWarning(UserWarning):
    """A data file was skipped because it could not be read."""


def describe_error(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    name = type(error).__name__
    return f"{name}: {text}" if text else name


class BadFiles:
    """Files found unreadable in this process, so each warns once only.

    Keyed by file index so that checking an item costs one set lookup.  A
    forked DataLoader worker inherits what the main process already knows
    (for example from the listing probe) and does not warn again about it.
    """

    def __init__(self) -> None:
        self._names: dict[int, str] = {}

    def __contains__(self, index: object) -> bool:
        return index in self._names

    def __len__(self) -> int:
        return len(self._names)

    @property
    def names(self) -> list[str]:
        return sorted(self._names.values())

    def report(self, index: int, name: str, error: BaseException | str) -> None:
        """Remember a bad file and warn about it the first time only."""
        if index in self._names:
            return
        self._names[index] = name
        reason = error if isinstance(error, str) else describe_error(error)
        warnings.warn(f"skipping unreadable file {name} ({reason})", UnreadableFileWarning, stacklevel=3)
