"""Each topic's top words with their weights, most prevalent topic first, as a table, JSON or CSV.

Like gensim's ``show_topics``: a topic is shown by its heaviest words.  The
topics are sorted by prevalence (mean θ over a set of documents) because a
user reads the first rows first, and those should be the topics that explain
most of the corpus; each keeps its model index so it can be looked up.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Sequence

import numpy as np


@dataclass(frozen=True)
class Topic:
    index: int
    """The topic's index in the model (its θ component)."""
    prevalence: float | None
    """Mean θ_k over the documents given, or None when no documents were given."""
    words: tuple[str, ...]
    weights: tuple[float, ...]


def topic_table(
    topic_word: np.ndarray, words: Sequence[str], top_n: int = 10, prevalence: np.ndarray | None = None
) -> list[Topic]:
    """Topics from weights ``[K, V]`` (probabilities or logits), sorted by ``prevalence`` (``[K]``) when given."""
    weights = np.asarray(topic_word, dtype=np.float64)
    if weights.ndim != 2 or weights.shape[1] != len(words):
        raise ValueError(f"topic_word must be [K, {len(words)}], got {weights.shape}")
    if not np.all(np.isfinite(weights)):
        raise ValueError("topic_word holds NaN or infinite values")
    order = np.argsort(-weights, axis=1, kind="stable")[:, :top_n]
    topics = [
        Topic(
            index=k,
            prevalence=None if prevalence is None else float(prevalence[k]),
            words=tuple(words[i] for i in order[k]),
            weights=tuple(float(weights[k, i]) for i in order[k]),
        )
        for k in range(weights.shape[0])
    ]
    if prevalence is not None:
        topics.sort(key=lambda topic: -topic.prevalence)
    return topics


def render_text(topics: Sequence[Topic], weights: bool = True) -> str:
    """A plain-text table: ``topic  share  word (weight) ...``, one topic per line."""
    lines = []
    for topic in topics:
        share = "" if topic.prevalence is None else f"{100 * topic.prevalence:5.1f}%  "
        if weights:
            body = "  ".join(f"{w} ({v:.3g})" for w, v in zip(topic.words, topic.weights))
        else:
            body = " ".join(topic.words)
        lines.append(f"{topic.index:3d}  {share}{body}")
    return "\n".join(lines) + "\n"


def render_json(topics: Sequence[Topic]) -> str:
    return json.dumps(
        [
            {
                "topic": t.index,
                "prevalence": t.prevalence,
                "words": [{"word": w, "weight": v} for w, v in zip(t.words, t.weights)],
            }
            for t in topics
        ],
        indent=1,
        ensure_ascii=False,
    ) + "\n"


def render_csv(topics: Sequence[Topic]) -> str:
    """Long format: one row per (topic, rank), which spreadsheets and pandas read directly."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["topic", "prevalence", "rank", "word", "weight"])
    for t in topics:
        for rank, (w, v) in enumerate(zip(t.words, t.weights), start=1):
            writer.writerow([t.index, "" if t.prevalence is None else f"{t.prevalence:.6g}", rank, w, f"{v:.6g}"])
    return buffer.getvalue()


def render(topics: Sequence[Topic], fmt: str = "text") -> str:
    """``fmt`` is ``text``, ``json`` or ``csv``."""
    if fmt == "text":
        return render_text(topics)
    if fmt == "json":
        return render_json(topics)
    if fmt == "csv":
        return render_csv(topics)
    raise ValueError(f"unknown topic table format {fmt!r}; choose text, json or csv")
