"""The one place that prints to the user: ``dirvae[ COMMAND]: text`` lines.

Every command speaks through these functions, so every line has the same
shape and the same rules: results (what was written where) go to stdout, so
scripts can capture them; notes, warnings and errors go to stderr.  Under DDP
every rank runs the same command, and only the first process prints.
Library code below the commands raises errors or emits ``warnings``; the
commands turn those into lines here.
"""

from __future__ import annotations

import os
import sys
import warnings
from contextlib import contextmanager
from typing import Callable, Iterator, TextIO


def is_rank_zero() -> bool:
    """Whether this process is the first of a distributed run (or the only one).

    Lightning starts the other ranks as copies of the command with LOCAL_RANK
    and NODE_RANK set; the first process has them unset or 0.
    """
    return all(os.environ.get(name, "0") == "0" for name in ("LOCAL_RANK", "NODE_RANK"))


def _line(command: str | None, text: str, stream: TextIO) -> None:
    if is_rank_zero():
        prefix = "dirvae" + (f" {command}" if command else "")
        print(f"{prefix}: {text}", file=stream, flush=True)


def note(text: str, command: str | None = None, *, stream: TextIO | None = None) -> None:
    """A progress or status line (stderr)."""
    _line(command, text, stream or sys.stderr)


def result(command: str, text: str) -> None:
    """What a command wrote, and where (stdout)."""
    _line(command, text, sys.stdout)


def warning(command: str | None, text: str) -> None:
    _line(command, f"warning: {text}", sys.stderr)


def error(command: str | None, text: str) -> None:
    _line(command, f"error: {text}", sys.stderr)


def warner(command: str) -> Callable[[str], None]:
    """``warning`` bound to a command, for code that reports through a callback."""
    return lambda text: warning(command, text)


def article(word: str) -> str:
    """"an" before image and audio, "a" before video."""
    return "an" if word[:1].lower() in "aeiou" else "a"


@contextmanager
def warnings_as_lines(categories: tuple[type[Warning], ...], line: Callable[[Warning], str], command: str | None = None) -> Iterator[None]:
    """Within the block, warnings of ``categories`` print as ``dirvae: warning text`` lines, without source paths.

    Library code warns (a user of the library can filter by category); the
    command line shows the same event as one of its own lines.  Forked
    DataLoader workers inherit the hook, so their warnings print the same way.
    """
    previous = warnings.showwarning

    def show(message, category, filename, lineno, file=None, source=None):  # noqa: ANN001 - warnings' signature
        if issubclass(category, categories):
            note(line(message), command)
        else:
            previous(message, category, filename, lineno, file, source)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = previous
