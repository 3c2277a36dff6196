"""A dataset whose labels are rewritten per item, keeping unreadable items (``None``) as they are.

The tools need labels the folders do not carry: an item's own index (so
names stay aligned when a batch drops unreadable items) or its file number
(so kNN folds can be split by file).
"""

from __future__ import annotations

from typing import Any, Callable

from torch.utils.data import Dataset


class Relabelled(Dataset):
    """``dataset`` with each item's label replaced by ``label(index, item)``.

    ``label`` must pickle (a module-level function or a ``functools.partial``
    of one), because DataLoader workers may be started by spawning.
    """

    def __init__(self, dataset: Any, label: Callable[[int, Any], Any]) -> None:
        self.dataset = dataset
        self.label = label

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> Any:
        item = self.dataset[index]
        if item is None:
            return None
        return item[0], self.label(index, item)


def own_index(index: int, item: Any) -> int:
    """The item's index in its dataset."""
    return index
