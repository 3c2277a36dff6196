"""Text: a folder of documents (or one file of them) as bags of words, and a Dirichlet topic model over them.

A document is a vector of word counts over a vocabulary built once from the
training documents (scikit-learn's vectoriser machinery, then frozen and
recorded in the run).  Its point on the simplex is its mix of K topics; the
decoder's weights are the topics.  See :mod:`dirvae.text` for the readers,
the corpus cache and the metrics, and the README's "Topic models".
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Iterator

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from dirvae.errors import DataError
from dirvae.modalities.spec import DataConfig, Modality
from dirvae.nets.topic import topic_word
from dirvae.text.dataset import TextCorpus, build_vocabulary, holdout_threshold, split_by_name
from dirvae.data.shard_readers import read_samples
from dirvae.data.shard_sources import is_shard_source, open_shard_set
from dirvae.text.documents import TEXT_SUFFIXES, ReadCounts, document_text, read_documents
from dirvae.text.documents import decode as decode_text
from dirvae.text.metrics import active_topics, npmi, topic_diversity
from dirvae.text.outputs import TEXT_KINDS, path_entries, reconstruction_entries, sample_entries, write_entries
from dirvae.text.scores import text_scores
from dirvae.text.topics import render_text, topic_table
from dirvae.text.vocabulary import Vocabulary, VocabularySettings

TOPIC_ROWS = 10
"""Top words per topic in the live view's table."""


@dataclass(frozen=True)
class TextData(DataConfig):
    """How documents are read and counted: the reader's settings and the frozen vocabulary (``item_shape`` is ``(V,)``)."""

    modality: ClassVar[str] = "text"
    text_unit: str
    text_field: str
    label_field: str | None
    vocab_size: int
    min_df: float
    max_df: float
    vocabulary: tuple[str, ...] = ()
    holdout: float = 0.0
    """Documents whose name hashes below this are the validation split (:mod:`dirvae.text.dataset`)."""

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "vocabulary", tuple(self.vocabulary))

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "vocabulary": list(self.vocabulary)}

    def problem(self) -> str | None:
        if self.vocabulary and self.item_shape != (len(self.vocabulary),):
            return f"data.item_shape {list(self.item_shape)} does not match the {len(self.vocabulary)}-word vocabulary"
        return super().problem()

    def settings(self) -> VocabularySettings:
        return VocabularySettings(vocab_size=self.vocab_size, min_df=_count_or_share(self.min_df, low=True), max_df=_count_or_share(self.max_df))

    def frozen(self) -> Vocabulary:
        if not self.vocabulary:
            raise DataError(f"{self.source}: no vocabulary yet (a text run builds it from its training documents)")
        return Vocabulary(self.vocabulary, self.settings())

    def reader(self) -> dict[str, Any]:
        unit = None if self.text_unit == "auto" else self.text_unit
        return {"unit": unit, "text_field": self.text_field, "label_field": self.label_field}


def _count_or_share(value: float, low: bool = False) -> int | float:
    """scikit-learn's convention: an int is a count of documents, a float a share of them."""
    if (value >= 1 if low else value > 1) and float(value).is_integer():
        return int(value)
    return float(value)


class TextModality(Modality):
    name: ClassVar[str] = "text"
    summary: ClassVar[str] = "documents (.txt, .md, .rst, .html; or one .jsonl/.csv/.parquet/lines file) as bags of words"
    extensions: ClassVar[frozenset[str]] = frozenset(TEXT_SUFFIXES)
    reader: ClassVar[type[Dataset]] = TextCorpus
    data_config: ClassVar[type[DataConfig]] = TextData
    architectures: ClassVar[tuple[str, ...]] = ("prodlda", "mixture")
    item_key: ClassVar[str | None] = "line"
    drop_last: ClassVar[bool] = True
    option_defaults: ClassVar[dict[str, Any]] = {
        "learning_rate": 2e-3, "adam_beta1": 0.9, "adam_beta2": 0.999, "batches": 200, "kl_schedule": "constant",
        "epochs": 100, "decoder_input": "simplex", "prior_alpha": 0.5,
    }  # fmt: skip
    """AVITM's settings (Srivastava & Sutton 2017: Adam at 2e-3, batches of 200, the plain ELBO) except β₁ and the prior.
    β₁ 0.9 beat AVITM's 0.99 on held-out perplexity, kNN and diversity at equal time (python-docs, K=20, 2 seeds); a
    Dir(0.5) prior then raised NPMI over Dir(1) (the benchmark's; the library's general default is 0.98) on both benchmark corpora at K=20 and 50 (5 seeds) at equal perplexity,
    for a little diversity; sparser priors (0.3, 0.1) made topics repeat frequent words (BENCHMARKS.md, issue 24).
    Runs record their prior, so text runs saved before keep the 0.98 they trained with."""
    output_kinds: ClassVar[dict[str, tuple[str, ...]]] = {tool: TEXT_KINDS for tool in ("sample", "reconstruct", "interpolate", "traverse")}
    default_outputs: ClassVar[dict[str, str]] = {
        "sample": "samples.md", "reconstruct": "reconstructions.md", "interpolate": "interpolation.md", "traverse": "traversal.md",
    }  # fmt: skip

    # ------------------------------------------------------------------ data
    def data_from_options(self, options: Any, source: str) -> TextData:
        return TextData(
            source, (options.vocab_size,), text_unit=options.text_unit, text_field=options.text_field, label_field=options.label_field,
            vocab_size=options.vocab_size, min_df=options.min_df, max_df=options.max_df,
        )  # fmt: skip

    def prepare(self, data: DataConfig, val_fraction: float) -> TextData:
        """The vocabulary of the training documents: one pass counts them, one builds it (held-out ones left out)."""
        if data.vocabulary:
            return data
        if is_shard_source(data.source):
            return self._prepare_shards(data)
        documents = sum(1 for _ in self._documents(data))
        if documents == 0:
            raise DataError(f"{data.source}: no text document found (accepted: a folder of .txt .md .rst .html files, or a .jsonl, .csv, .parquet or lines file)")
        threshold = holdout_threshold(documents, val_fraction)
        vocabulary = build_vocabulary(self._documents(data), data.settings(), threshold)
        if not vocabulary.words:
            raise DataError(f"{data.source}: no word survives the vocabulary filter (--min-df {data.min_df:g}, --max-df {data.max_df:g}); lower --min-df")
        return replace(data, vocabulary=vocabulary.words, item_shape=(len(vocabulary.words),), holdout=threshold)

    def _prepare_shards(self, data: TextData) -> TextData:
        """Shards: the vocabulary of every document in them (their validation holds out whole shards, read here too)."""
        shards = open_shard_set(data.source, column=data.column, label_column=data.label_column, prefer=(self.name,))
        texts = (
            document_text(decode_text(sample.payload, ReadCounts()), sample.extension)
            for shard in shards.shards for sample in read_samples(shards, shard, self.extensions) if sample.payload is not None
        )  # fmt: skip
        vocabulary = Vocabulary.build(texts, data.settings())
        if not vocabulary.words:
            raise DataError(f"{data.source}: no word survives the vocabulary filter; lower --min-df")
        return replace(data, vocabulary=vocabulary.words, item_shape=(len(vocabulary.words),))

    def _documents(self, data: TextData):
        try:
            return read_documents(data.source, counts=ReadCounts(), **data.reader())
        except (FileNotFoundError, ValueError) as error:
            raise DataError(f"{data.source}: {error}") from None

    def open(self, data: DataConfig) -> Dataset:
        if not Path(data.source).exists():  # shards never reach here: the opener reads them through decode
            raise DataError(f"{data.source}: no such file or folder")
        return TextCorpus(data.source, data.frozen(), **_reader_keywords(data))

    def data_note(self, dataset: Dataset) -> str | None:
        counts = dataset.problems()
        parts = [f"{len(dataset):,} documents, {len(dataset.vocabulary):,} words"]
        for key, label in (("binary_skipped", "binary files skipped"), ("unreadable", "unreadable files skipped"),
                           ("bad_records", "records without text skipped"), ("empty", "empty documents skipped"),
                           ("replaced", "documents with invalid UTF-8 repaired"),
                           ("empty_after_filtering", "documents left empty by the vocabulary, left out")):  # fmt: skip
            if counts.get(key):
                parts.append(f"{counts[key]:,} {label}")
        return "text: " + "; ".join(parts)

    def split(self, dataset: Dataset, data: DataConfig, val_fraction: float) -> tuple[Dataset, Dataset | None]:
        if not isinstance(dataset, TextCorpus):  # shards hold out whole shards
            return super().split(dataset, data, val_fraction)
        return split_by_name(dataset, data.holdout if val_fraction > 0 else 0.0)

    def decode(self, data: DataConfig, payload: bytes, extension: str) -> list[Tensor]:
        """One document held in memory (a shard's member or a table's cell) as word counts over the run's vocabulary."""
        text = document_text(decode_text(payload, ReadCounts()), extension)
        return [torch.from_numpy(np.asarray(data.frozen().vectorize([text]).todense(), dtype=np.float32).reshape(-1))]

    def read_file(self, data: DataConfig, path: Path, start: int, count: int | None) -> Iterator[Tensor]:
        documents = list(read_documents(path, **data.reader()))
        if start >= max(1, len(documents)):
            raise DataError(f"{path}#line={start}: the file has {len(documents)} document(s)")
        chosen = documents[start:] if count is None else documents[start : start + count]
        matrix = data.frozen().vectorize([document.text for document in chosen])
        for row in range(matrix.shape[0]):
            yield torch.from_numpy(np.asarray(matrix[row].todense(), dtype=np.float32).reshape(-1))

    # ---------------------------------------------------------------- models
    def architecture_options(self, architecture: str, options: Any) -> dict[str, Any]:
        """A logistic-normal baseline (``--latent gaussian``) reads its topic mix as softmax(z), as ProdLDA does."""
        return {"softmax_input": options.latent == "gaussian"}

    def default_reconstruction(self, data: DataConfig, architecture: str) -> tuple[str, dict[str, Any]]:
        return "multinomial", {}

    # ------------------------------------------------------------ live view
    def view_state(self, model: Any, latents: Tensor) -> Any:
        return {"topic_word": topic_word(model.decoder).detach().float().cpu(), "theta": latents}

    def draw_view(
        self, run_dir: Path, experiment: Any, inputs: Tensor, reconstructions: Tensor, samples: Tensor, step: int,
        *, held_out: bool, data: DataConfig, state: Any = None,
    ) -> None:  # fmt: skip
        if state is None:
            return
        weights = state["topic_word"].numpy()
        table = render_text(topic_table(weights, data.vocabulary, TOPIC_ROWS, prevalence=state["theta"].mean(dim=0).numpy()), weights=False)
        (run_dir / "topics.txt").write_text(table, encoding="utf-8")
        if experiment is None:
            return
        experiment.add_text("topics", "\n".join(f"    {line}" for line in table.splitlines()), step)  # indented: a code block
        experiment.add_image("documents/topic_mix", heat_map(state["theta"]), step)
        experiment.add_scalar("topics/diversity", topic_diversity(weights), step)
        experiment.add_scalar("topics/active", active_topics(state["theta"].numpy()), step)
        counts = inputs.numpy()
        if counts.shape[0] >= 2:
            experiment.add_scalar("topics/npmi_view_documents", npmi(weights, counts > 0), step)

    # ----------------------------------------------------------------- tools
    def write_samples(self, samples: Tensor, out: Path, kind: str, data: DataConfig, *, fps: float) -> str:
        return write_entries(sample_entries(samples, data.vocabulary), out, kind, "Documents drawn from the prior (top words)")

    def write_reconstructions(
        self, reconstruct: Any, inputs: Tensor, names: list[str], out: Path, kind: str, data: DataConfig, *, fps: float, batch_size: int,
    ) -> str:  # fmt: skip
        entries = reconstruction_entries(inputs, reconstruct(inputs), names, data.vocabulary)
        return write_entries(entries, out, kind, "Documents: their words and the model's")

    def write_interpolation(
        self, steps: Tensor, ends: tuple[Tensor, Tensor], out: Path, kind: str, data: DataConfig, *, fps: float, latents: Tensor | None = None,
    ) -> str:  # fmt: skip
        return write_entries(path_entries(steps, latents, data.vocabulary, "step"), out, kind, "From document A to document B")

    def write_traversal(self, rows: Tensor, out: Path, kind: str, data: DataConfig, *, fps: float, latents: Tensor | None = None) -> str:
        entries = []
        for k, row in enumerate(rows):
            points = latents[k] if latents is not None else None
            for entry in path_entries(row, points, data.vocabulary, f"topic {k}, step"):
                entries.append(entry)
        return write_entries(entries, out, kind, "Each topic's words on the way from the centre to its vertex")

    # ----------------------------------------------------------- evaluation
    def extra_metrics(self, model: Any, dataset: Dataset, data: DataConfig, *, reference: Dataset | None = None) -> dict[str, Any]:
        return text_scores(model, dataset, reference=reference)


def heat_map(theta: Tensor) -> Tensor:
    """Documents × topics as a ``[3, D, K]`` picture, each cell its share (white 0, dark blue 1), enlarged for viewing."""
    shares = theta.float().clamp(0, 1)
    picture = torch.stack([1 - shares, 1 - 0.6 * shares, 1 - 0.2 * shares])
    return picture.repeat_interleave(8, dim=1).repeat_interleave(8, dim=2)


def _reader_keywords(data: TextData) -> dict[str, Any]:
    reader = data.reader()
    return {"unit": reader["unit"], "text_field": reader["text_field"], "label_field": reader["label_field"]}
