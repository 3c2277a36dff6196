"""What the tools write for a topic model: words, as plain text, Markdown or JSON (by the ``--out`` extension).

A document's reconstruction, a prior sample or a point on a path is a word
distribution ``[V]``; a person reads it as its heaviest words.  Each writer
turns rows of distributions (and, where it helps, the topic mix θ that made
them) into one file, written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor

from dirvae.io.atomic import atomic_write_bytes

TEXT_KINDS = ("plain", "markdown", "json")
TOP_WORDS = 12
TOP_TOPICS = 3


def top_words(distribution: Tensor, words: Sequence[str], n: int = TOP_WORDS) -> list[tuple[str, float]]:
    values, order = torch.topk(distribution.float(), min(n, distribution.numel()))
    return [(words[i], float(v)) for v, i in zip(values.tolist(), order.tolist())]


def top_topics(theta: Tensor, n: int = TOP_TOPICS) -> list[tuple[int, float]]:
    values, order = torch.topk(theta.float(), min(n, theta.numel()))
    return [(int(k), float(v)) for v, k in zip(values.tolist(), order.tolist())]


def _words_line(pairs: list[tuple[str, float]], weights: bool = False) -> str:
    return " ".join(f"{w} ({v:.3f})" if weights else w for w, v in pairs)


def _mix_line(pairs: list[tuple[int, float]]) -> str:
    return ", ".join(f"topic {k} {100 * v:.0f}%" for k, v in pairs)


def write_entries(entries: list[dict[str, Any]], out: Path, kind: str, title: str) -> str:
    """Each entry: ``name`` and any of ``words``, ``actual``, ``predicted`` (lists of (word, weight)) and ``topics``."""
    if kind == "json":
        payload = [
            {key: ([{"word": w, "weight": v} for w, v in value] if key in ("words", "actual", "predicted")
                   else [{"topic": k, "share": v} for k, v in value] if key == "topics" else value)
             for key, value in entry.items()}
            for entry in entries
        ]  # fmt: skip
        text = json.dumps({"title": title, "entries": payload}, indent=1, ensure_ascii=False) + "\n"
    else:
        markdown = kind == "markdown"
        lines = [f"# {title}", ""] if markdown else [title, ""]
        for entry in entries:
            lines.append(f"## {entry['name']}" if markdown else str(entry["name"]))
            for key, label in (("topics", "topic mix"), ("words", "words"), ("actual", "actual"), ("predicted", "predicted")):
                if key not in entry:
                    continue
                body = _mix_line(entry[key]) if key == "topics" else _words_line(entry[key], weights=key != "actual")
                lines.append(f"- **{label}**: {body}" if markdown else f"  {label}: {body}")
            lines.append("")
        text = "\n".join(lines)
    atomic_write_bytes(out, text.encode("utf-8"))
    return f"{out} ({len(entries)} entries)"


def sample_entries(samples: Tensor, words: Sequence[str]) -> list[dict[str, Any]]:
    return [{"name": f"sample {i}", "words": top_words(row, words)} for i, row in enumerate(samples)]


def reconstruction_entries(inputs: Tensor, outputs: Tensor, names: list[str], words: Sequence[str]) -> list[dict[str, Any]]:
    entries = []
    for name, counts, predicted in zip(names, inputs, outputs):
        present = int((counts > 0).sum())
        entries.append({"name": name, "actual": top_words(counts, words, min(TOP_WORDS, present)), "predicted": top_words(predicted, words)})
    return entries


def path_entries(steps: Tensor, latents: Tensor | None, words: Sequence[str], label: str) -> list[dict[str, Any]]:
    entries = []
    for index, row in enumerate(steps):
        entry: dict[str, Any] = {"name": f"{label} {index}"}
        if latents is not None:
            entry["topics"] = top_topics(latents[index].flatten())
        entry["words"] = top_words(row, words)
        entries.append(entry)
    return entries
