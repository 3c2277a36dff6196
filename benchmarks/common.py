"""Shared helpers for the benchmarks: timing, machine description, peak RSS."""

from __future__ import annotations

import platform
import resource
import statistics
import time
from typing import Callable

import torch


def machine() -> str:
    return f"{platform.machine()} CPU, {torch.get_num_threads()} torch threads, torch {torch.__version__}, Python {platform.python_version()}"


def peak_rss_mib() -> float:
    """Peak resident set size of this process, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def interleaved_timings(
    functions: dict[str, Callable[[], None]], repeats: int, warmup: int = 3, rounds: int = 5, clock: str = "wall"
) -> dict[str, float]:
    """Median seconds per call, alternating the candidates so machine noise hits all alike.

    ``clock="cpu"`` counts this thread's CPU time instead of wall time: on a
    shared or virtualised machine, time the process spends descheduled (other
    jobs, steal) then counts for no candidate.
    """
    now = time.thread_time if clock == "cpu" else time.perf_counter
    for fn in functions.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, fn in functions.items():
            start = now()
            for _ in range(repeats):
                fn()
            samples[name].append((now() - start) / repeats)
    return {name: statistics.median(values) for name, values in samples.items()}


def write_marked_section(path, section: str, begin: str, end: str, title: str) -> None:
    """Replace the text between ``begin`` and ``end`` in ``path`` (or create it), keeping the prose around it."""
    from pathlib import Path

    path = Path(path)
    block = f"{begin}\n{section}\n{end}"
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        if begin in text and end in text:
            head, rest = text.split(begin, 1)
            path.write_text(head + block + rest.split(end, 1)[1], encoding="utf-8")
            return
        path.write_text(text.rstrip() + "\n\n" + block + "\n", encoding="utf-8")
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"# {title}\n\n{block}\n", encoding="utf-8")
