"""Items numbered across files: the windows of sound files, the frames of videos.

Audio and video folders both turn a list of files into one sequence of
items; this is the arithmetic they share (which file and which item within
it an index means, the per-file groups the seed's ``shuffle_dir`` moves
around, and the ``file#window=N`` names in messages).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np


class ItemsAcrossFiles:
    """Mixin for folders whose kept file ``f`` holds ``file_items[f]`` consecutive items.

    Subclasses set ``item_name`` ("window", "frame"), ``paths``, ``listing``
    and ``file_index`` (kept file → path number), and call
    :meth:`_number_items` once they know each file's item count.
    """

    item_name = "item"
    file_items: np.ndarray
    file_starts: np.ndarray
    file_ends: np.ndarray

    def _number_items(self, counts: Sequence[int]) -> None:
        self.file_items = np.asarray(counts, dtype=np.int64)
        self.file_starts = np.zeros(len(self.file_items), dtype=np.int64)  # first item of each file
        np.cumsum(self.file_items[:-1], out=self.file_starts[1:])
        self.file_ends = self.file_starts + self.file_items

    def __len__(self) -> int:
        return int(self.file_items.sum())

    def locate(self, index: int) -> tuple[int, int]:
        """(kept file number, item number within it) of item ``index``."""
        if not 0 <= index < len(self):
            raise IndexError(f"{self.item_name} {index} out of range for {len(self)} {self.item_name}s")
        # Searching the ends (not the starts) steps over files with no item.
        file = int(np.searchsorted(self.file_ends, index, side="right"))
        return file, int(index - self.file_starts[file])

    def groups(self) -> list[tuple[int, int]]:
        """(first item, item count) per file with items: the unit of the seed's shuffle_dir."""
        return [(int(s), int(n)) for s, n in zip(self.file_starts, self.file_items) if n > 0]

    def describe(self, index: int) -> str:
        file, number = self.locate(index)
        return f"{self.paths[int(self.file_index[file])]}#{self.item_name}={number}"

    def label(self, index: int) -> int:
        file, _ = self.locate(index)
        return self.listing.label(int(self.file_index[file]))
