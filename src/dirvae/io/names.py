"""File names for what the tools write: numbered series, safe stems, item names split apart."""

from __future__ import annotations

import re
from pathlib import Path


def numbered(folder: Path, stem: str, count: int, suffix: str) -> list[Path]:
    width = max(3, len(str(count - 1)))
    return [folder / f"{stem}_{index:0{width}d}{suffix}" for index in range(count)]


def safe_stem(name: str) -> str:
    """A file-name-safe stem for an item name (``/data/b.wav#window=2`` → ``b_window_2``)."""
    stem = Path(name.split("#", 1)[0]).stem
    tail = name.split("#", 1)[1] if "#" in name else ""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{stem}_{tail}" if tail else stem).strip("._")
    return cleaned or "item"


def split_name(name: str) -> tuple[str, str | None, int | None]:
    """``"a.wav#window=3"`` → ("a.wav", "window", 3); ``"a.png"`` → ("a.png", None, None)."""
    match = re.fullmatch(r"(?P<file>.*)#(?P<key>[A-Za-z_]+)=(?P<index>\d+)", name)
    if match is None:
        return name, None, None
    return match["file"], match["key"], int(match["index"])
