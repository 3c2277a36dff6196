"""Trying two torch thread counts at the start of a CPU run with data workers, and keeping the faster.

How a CPU run should share its cores between torch's threads and the data
workers depends on how the cost of decoding a batch compares with the cost
of a training step, which nothing knows before the run.  Measured on an idle
2-core machine (BENCHMARKS.md, issue 26): with 64×64 JPEGs or video read in
runs, decoding is cheap and two torch threads beside one worker train 1.5×
faster than one thread; with 2,000×1,500 JPEGs the worker is the bottleneck
and two threads, spinning on its core, train 1.2× slower than one.  So the
run times a few steps at each count and keeps the faster: a few seconds
spent once, against a wrong choice for the whole run.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any, Callable, Sequence

import lightning as L
import torch

from dirvae import printer

WARMUP_STEPS = 5
"""Steps before the first timing: workers start, caches fill, the first batches were prefetched at leisure."""
SETTLE_STEPS = 3
"""Steps after each change before timing: batches prefetched under the old count drain first."""
TIMED_STEPS = 12
"""Steps timed per count; their median is compared, so a validation pass or a checkpoint inside a window does not decide."""


class ThreadTrial(L.Callback):
    """Times ``TIMED_STEPS`` training steps at each of ``counts`` torch threads, in order, then keeps the fastest.

    A step's time runs from one ``on_train_batch_end`` to the next, so it
    includes waiting for the data workers, which is the point.  Intervals that
    span a validation pass are dropped.  The trial runs again after a resume
    (it costs seconds); under DDP, where ranks step together, it does not run.
    """

    def __init__(
        self, counts: Sequence[int], *, clock: Callable[[], float] = time.perf_counter, set_threads: Callable[[int], None] = torch.set_num_threads,
        note: Callable[[str], None] = printer.note, warmup: int = WARMUP_STEPS, settle: int = SETTLE_STEPS, timed: int = TIMED_STEPS,
    ) -> None:  # fmt: skip
        if len(counts) < 2:
            raise ValueError("a thread trial needs two counts or more")
        self.counts = list(counts)
        self.clock, self.set_threads, self.note = clock, set_threads, note
        self.warmup, self.settle, self.timed = warmup, settle, timed
        self.step_seconds: dict[int, list[float]] = {count: [] for count in self.counts}
        self.chosen: int | None = None
        self._trying = 0  # index into counts
        self._skip = warmup
        self._last_end: float | None = None
        self._enabled = True

    def describe(self, load: float) -> str:
        """The run's opening line about threads, before the trial."""
        tried = " then ".join(str(count) for count in self.counts)
        first = self.warmup + self.timed * len(self.counts) + self.settle * (len(self.counts) - 1)
        cores = os.cpu_count() or 1
        return f"{tried} CPU threads timed over the first {first} steps, the faster kept ({cores} cores, {load:.1f} busy); --threads N to choose"

    def on_train_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._enabled = trainer.world_size == 1
        if self._enabled:
            self.set_threads(self.counts[0])

    def on_validation_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._last_end = None  # the next interval holds a validation pass

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        if not self._enabled or self.chosen is not None:
            return
        now = self.clock()
        last, self._last_end = self._last_end, now
        if last is None:
            return
        if self._skip > 0:
            self._skip -= 1
            return
        count = self.counts[self._trying]
        self.step_seconds[count].append(now - last)
        if len(self.step_seconds[count]) < self.timed:
            return
        self._trying += 1
        if self._trying < len(self.counts):
            self.set_threads(self.counts[self._trying])
            self._skip = self.settle
            return
        self._decide()

    def _decide(self) -> None:
        median = {count: statistics.median(seconds) for count, seconds in self.step_seconds.items()}
        self.chosen = min(self.counts, key=lambda count: median[count])
        self.set_threads(self.chosen)
        rates = ", ".join(f"{count} thread{'s' if count != 1 else ''} {1.0 / median[count]:.1f}" for count in self.counts)
        plural = "s" if self.chosen != 1 else ""
        self.note(f"kept {self.chosen} CPU thread{plural} beside the data workers (steps/s timed at {rates}); --threads N to choose")

