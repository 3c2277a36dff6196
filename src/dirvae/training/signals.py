"""SIGTERM as Ctrl-C, and a second Ctrl-C that waits for the save instead of breaking it.

``kill``, schedulers and container stops save a checkpoint within one step,
as Ctrl-C does.  While that save (and the writes behind it) runs, a further
Ctrl-C only says to wait: raised there, it would cut the save short and end
in a traceback from the interpreter's shutdown.
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from dirvae import printer


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


def _wait_for_the_save(signum: int, frame: Any) -> None:
    printer.note("still saving the checkpoint; it will stop as soon as the files are written")


@contextmanager
def saving_ignores_ctrl_c() -> Iterator[None]:
    """Within the block, Ctrl-C says "still saving" instead of raising (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: Callable[..., Any] | int | None = signal.signal(signal.SIGINT, _wait_for_the_save)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def ignore_ctrl_c_until_exit() -> None:
    """After an interrupted run has saved: a Ctrl-C while the process exits is ignored.

    Ignored at the C level (``SIG_IGN``), not handled in Python: the
    interpreter resets Python-level handlers to the default while it shuts
    down, and a Ctrl-C then would kill the process without its exit code.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
