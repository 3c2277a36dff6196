"""How many torch threads a CPU run uses: the cores idle now, never more, and the choice said in one line."""

from __future__ import annotations

import math
import os
import time
from typing import Callable

import torch

SMALL_MODEL_PARAMETERS = 5_000_000
SMALL_ITEM_VALUES = 4096
"""Below both (the digits MLP), a CPU step is dominated by dispatch, and a second thread only spin-waits."""
SAMPLE_SECONDS = 0.2
"""How long the machine's CPU use is watched before choosing: long enough to average a scheduler's jitter."""


def _cpu_times() -> tuple[float, float] | None:
    """(busy, total) jiffies of all cores since boot, from /proc/stat (Linux), or None."""
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [float(value) for value in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return sum(fields) - idle, sum(fields)


def busy_cores_now(seconds: float = SAMPLE_SECONDS) -> float:
    """How many cores other work keeps busy right now: CPU use over a short sample.

    The 1-minute load average lags: right after another job ends it still
    reports the cores busy, and a run started then kept one thread for its
    whole length.  Falls back to the load average where /proc/stat is missing.
    """
    cores = os.cpu_count() or 1
    before = _cpu_times()
    if before is None:
        try:
            return float(os.getloadavg()[0])
        except OSError:
            return 0.0
    time.sleep(seconds)
    after = _cpu_times()
    if after is None or after[1] <= before[1]:
        return 0.0
    return cores * (after[0] - before[0]) / (after[1] - before[1])


def decodes_items(dataset: object) -> bool:
    """Whether reading an item costs decoding (files, shards), as opposed to data held in memory (``decodes_items = False``)."""
    while not hasattr(dataset, "decodes_items") and hasattr(dataset, "dataset"):
        dataset = dataset.dataset  # Subset, GroupedSubset, Relabelled
    return bool(getattr(dataset, "decodes_items", True))


MAX_AUTO_WORKERS = 8


def small_model(model: torch.nn.Module, item_shape: tuple[int, ...]) -> bool:
    """Below both limits a CPU step is dispatch-bound and a second torch thread only waits."""
    return sum(p.numel() for p in model.parameters()) < SMALL_MODEL_PARAMETERS and math.prod(item_shape) <= SMALL_ITEM_VALUES


def idle_cores(load: float) -> int:
    """Cores free of other work, given ``load`` busy ones (at least one)."""
    cores = os.cpu_count() or 1
    return max(1, min(cores, int(cores - load + 0.5)))


def thread_counts_to_try(
    requested: int | None, chosen: int, model: torch.nn.Module, item_shape: tuple[int, ...], *, load: float, workers: int
) -> list[int]:
    """Torch thread counts a CPU run times before keeping one (:class:`~dirvae.training.thread_trial.ThreadTrial`).

    ``chosen`` (:func:`cpu_threads`) leaves the workers' cores to them; when
    decoding turns out cheap, those cores are better spent on torch's threads
    (1.5× the steps on 64×64 JPEGs on 2 idle cores), when it is dear they are
    not (0.8× on 2,000×1,500 JPEGs).  So unless ``--threads`` was given, the
    model is small, or no worker decodes: every idle core first, ``chosen``
    second.  One count means no trial.
    """
    every = idle_cores(load)
    if requested or workers == 0 or small_model(model, item_shape) or every <= chosen:
        return [chosen]
    return [every, chosen]


def data_workers(
    requested: int | None, decodes: bool, *, gpu: bool = False, busy: Callable[[], float] = busy_cores_now
) -> tuple[int, str]:
    """DataLoader worker processes and the words that say why: ``requested`` (``--num-workers``), or a choice.

    Data held in memory gets none (a worker only adds start-up and a copy per
    batch).  Decoded items on a CPU run share the idle cores (at least two)
    half and half with torch's threads (:func:`cpu_threads` takes the rest):
    on 2 cores one worker decodes while one thread trains, and the run then
    times whether a second thread on the worker's core trains faster
    (:func:`thread_counts_to_try`).  A GPU run gives
    decoding all cores but one, up to ``MAX_AUTO_WORKERS``.
    """
    cores = os.cpu_count() or 1
    if requested is not None:
        return requested, f"{requested} data worker{'s' if requested != 1 else ''} (--num-workers)"
    if not decodes:
        return 0, "no data workers (the data is in memory)"
    if cores < 2:
        return 0, "no data workers (one core)"
    if gpu:
        workers = min(MAX_AUTO_WORKERS, cores - 1)
    else:
        budget = max(2, min(cores, int(cores - busy() + 0.5)))
        workers = min(MAX_AUTO_WORKERS, budget // 2)
    return workers, f"{workers} data worker{'s' if workers != 1 else ''} decoding; --num-workers N to choose"


def cpu_threads(
    requested: int | None, model: torch.nn.Module, item_shape: tuple[int, ...], *, busy: Callable[[], float] = busy_cores_now,
    workers: int = 0,
) -> tuple[int, str]:
    """Torch intra-op threads for CPU training and the line that says why: ``requested`` (``--threads``), or a safe choice.

    Torch's threads spin-wait for each other; when another process holds a
    core they wait for a whole scheduler slice per operation, and one measured
    run fell from 9,115 to 295 samples/s.  So small models get one thread, and
    larger ones the cores that are idle now, less those given to data
    ``workers``.
    """
    cores = os.cpu_count() or 1
    plural = "s" if cores != 1 else ""
    if requested:
        return requested, f"{requested} CPU thread{'s' if requested != 1 else ''} (--threads; {cores} core{plural})"
    if small_model(model, item_shape):
        return 1, f"1 CPU thread (a small model: a second thread only waits; {cores} core{plural}); --threads N to choose"
    load = busy()
    threads = max(1, min(cores - workers, idle_cores(load)))
    return threads, f"{threads} CPU thread{'s' if threads != 1 else ''} ({cores} core{plural}, {load:.1f} busy); --threads N to choose"
