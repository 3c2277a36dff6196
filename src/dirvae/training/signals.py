"""SIGTERM as Ctrl-C: ``kill``, schedulers and container stops save a checkpoint within one step."""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Iterator


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, schedulers, container stop), sent down Ctrl-C's save-then-exit path."""


def _raise_terminated(signum: int, frame: Any) -> None:
    raise Terminated()


@contextmanager
def sigterm_saves() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` while training (main thread only).

    Lightning composes this with its own SIGTERM notifier, whose flag it reads
    only at the end of an epoch; raising here saves within one step.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
