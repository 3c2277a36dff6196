"""How many torch threads a CPU run uses: all the idle cores, and never more."""

from __future__ import annotations

import math
import os

import torch

SMALL_MODEL_PARAMETERS = 5_000_000
SMALL_ITEM_VALUES = 4096
"""Below both (the digits MLP), a CPU step is dominated by dispatch, and a second thread only spin-waits."""


def cpu_threads(requested: int | None, model: torch.nn.Module, item_shape: tuple[int, ...]) -> int:
    """Torch intra-op threads for CPU training: ``requested`` (``--threads``), or a choice that cannot oversubscribe.

    Torch's threads spin-wait for each other; when another process holds a
    core they wait for a whole scheduler slice per operation, and one measured
    run fell from 9,115 to 295 samples/s.  So small models get one thread, and
    larger ones only the cores that the load average says are idle.
    """
    if requested:
        return requested
    cores = os.cpu_count() or 1
    small = sum(p.numel() for p in model.parameters()) < SMALL_MODEL_PARAMETERS and math.prod(item_shape) <= SMALL_ITEM_VALUES
    if small:
        return 1
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    return max(1, min(cores, int(cores - busy + 0.5)))
