"""File writes off the training thread, in order, with nothing lost at exit.

Why: a checkpoint's write and ``fsync`` (40–60 ms on the digits, seconds for
a large model on a slow disk) and a live-view render's PNG encoding held up
the optimiser for as long as they took, about 1.5% of the digits trainer's
time.  The training thread now only takes the snapshot that must be
consistent (the serialised bytes, the CPU copies of what is drawn) and hands
the rest to one writer thread.

- **Order.** Jobs run one at a time in submission order, so a step's
  weights are written before its ``config.json`` and a newer checkpoint is
  never overwritten by an older one.
- **Nothing lost.** The thread is not a daemon: the interpreter waits for a
  write in flight at exit, and every write is atomic
  (:func:`dirvae.io.atomic.atomic_write`), so a kill leaves the old file or the
  new one.
- **Memory is bounded.** At most ``max_pending`` jobs wait; a further
  submit blocks until one finishes, so a slow disk slows training rather
  than filling memory with snapshots.
- **Errors are not swallowed.** A job's exception is raised again by the
  next :meth:`submit` or :meth:`flush` on the training thread (a full disk
  still stops the run, one save later).
"""

from __future__ import annotations

import collections
import threading
from typing import Callable

Job = Callable[[], None]


class BackgroundWriter:
    """Runs submitted jobs on one worker thread, started on demand and ended when idle."""

    def __init__(self, max_pending: int = 4, name: str = "dirvae-writer") -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.max_pending = max_pending
        self.name = name
        self._jobs: collections.deque[Job] = collections.deque()
        self._condition = threading.Condition()
        self._running = False
        self._error: BaseException | None = None

    def submit(self, job: Job) -> None:
        """Queue ``job``; raises a failed earlier job's error first."""
        with self._condition:
            self._raise_error()
            while len(self._jobs) >= self.max_pending:
                self._condition.wait()
                self._raise_error()
            self._jobs.append(job)
            if not self._running:
                self._running = True
                # Not a daemon: the interpreter finishes a write in flight before it exits.
                threading.Thread(target=self._work, name=self.name, daemon=False).start()

    def flush(self) -> None:
        """Wait until every submitted job has run; raises the first failure among them."""
        with self._condition:
            while self._running:
                self._condition.wait()
            self._raise_error()

    def settle(self) -> None:
        """Wait until every submitted job has run, dropping any failure.

        For paths already handling another error (an exception in training,
        the end of the run for a picture): that error is the one to report.
        """
        with self._condition:
            while self._running:
                self._condition.wait()
            self._error = None

    def _raise_error(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _work(self) -> None:
        while True:
            with self._condition:
                if not self._jobs:
                    self._running = False
                    self._condition.notify_all()
                    return
                job = self._jobs.popleft()
                self._condition.notify_all()  # a slot is free for a waiting submit
            try:
                job()
            except BaseException as error:  # noqa: BLE001 - handed to the training thread
                with self._condition:
                    if self._error is None:
                        self._error = error
