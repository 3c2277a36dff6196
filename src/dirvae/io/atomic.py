"""Atomic file writes: a kill at any moment leaves the old file or the new one.

Write to a temporary file in the same folder (so the final rename never
crosses a file system, where it would become a copy that a kill can
truncate), flush it to disk, ``os.replace`` it over the target (atomic on
POSIX and Windows), then flush the folder so the rename itself survives a
power cut.  The temporary names are recognisable (:data:`TEMP_PATTERN`), so a
kill's orphans can be swept at the next start.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any, Callable

from dirvae.errors import DirvaeError

TEMP_SUFFIX = ".dirvae-tmp"
TEMP_PATTERN = f".*{TEMP_SUFFIX}"


class WriteError(DirvaeError):
    """A file could not be written (read-only folder, a file in the way, disk full)."""


def _umask() -> int:
    """The process umask, read without changing it where the OS allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: the classic swap (not thread-safe, but brief)
    os.umask(mask)
    return mask


def fsync_directory(directory: str | os.PathLike) -> None:
    """Flush a folder's entries (a rename) to disk; a no-op where folders cannot be opened."""
    try:
        handle = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass  # some file systems (and Windows) refuse fsync on a folder
    finally:
        os.close(handle)


def atomic_write(path: str | os.PathLike, write: Callable[[str], None]) -> Path:
    """Call ``write(tmp_path)`` then move the finished file onto ``path``.

    The file gets the mode an ordinary ``open`` would (0644 under umask 022),
    not mkstemp's private 0600.  An operating-system failure (read-only
    folder, a file where a folder should be, disk full) is a
    :class:`WriteError` naming the path.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as error:
        raise WriteError(f"{path}: cannot write here ({error.strerror or error})") from None
    os.close(handle)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        with open(tmp, "rb") as written:
            os.fsync(written.fileno())
        os.replace(tmp, path)
        fsync_directory(path.parent)
    except BaseException as error:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(error, OSError) and not isinstance(error, WriteError):
            raise WriteError(f"{path}: cannot write ({error.strerror or error})") from None
        raise
    return path


def json_text(value: Any) -> str:
    """How every JSON file here is written: sorted keys, two-space indents, a final newline."""
    return json.dumps(value, indent=2, sort_keys=True) + "\n"


def atomic_write_json(path: str | os.PathLike, value: Any) -> Path:
    return atomic_write_bytes(path, json_text(value).encode("utf-8"))


def atomic_write_bytes(path: str | os.PathLike, data: bytes | memoryview) -> Path:
    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            handle.write(data)

    return atomic_write(path, write)


def remove_orphans(directory: str | os.PathLike) -> list[Path]:
    """Delete the temporary files a killed writer left in a folder; returns them.

    Only files named as :func:`atomic_write` names them are touched, and only
    by whoever owns the folder at start-up (a run directory being resumed).
    """
    removed = []
    directory = Path(directory)
    if not directory.is_dir():
        return removed
    for candidate in directory.glob(TEMP_PATTERN):
        try:
            if stat.S_ISREG(candidate.lstat().st_mode):
                candidate.unlink()
                removed.append(candidate)
        except OSError:
            continue
    return removed
