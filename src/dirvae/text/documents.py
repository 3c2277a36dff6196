"""Streaming documents ``(text, label, name)`` from folders, line files, JSON Lines, CSV and Parquet.

Real text collections are messy: a stray PDF in a folder of notes, a file
saved as Latin-1, an empty line, one enormous line.  None of these may stop a
vocabulary pass over a million documents, so every reader here yields what it
can and counts what it could not use in a :class:`ReadCounts`.  Nothing is held
in memory beyond the current document (a Parquet row group at most), so the
readers serve corpora far larger than RAM.

* A folder: every ``.txt .md .rst .html .htm`` file below it, recursively,
  one document per file, in sorted path order; the label is the first
  sub-folder's name (``None`` for files directly in the folder), as for images.
* A ``.jsonl``/``.ndjson``, ``.csv`` or ``.parquet`` file: one document per
  record, from ``text_field`` (and ``label_field`` if given).
* Any other file: one document per line.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterator, Literal

TEXT_SUFFIXES = (".txt", ".md", ".rst", ".html", ".htm")
HTML_SUFFIXES = (".html", ".htm")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
BINARY_PROBE_BYTES = 8192
"""A file with a NUL byte in its first 8 KB is binary (git's and grep's rule)."""

Unit = Literal["file", "line"]
TEXT_FIELD = "text"
"""The column or key a record's text is read from unless told."""


@dataclass(frozen=True)
class Document:
    """One document: its raw text, its label (None when unlabelled) and a name to report it by."""

    text: str
    label: str | None
    name: str


@dataclass
class ReadCounts:
    """What the readers met and could not use as is; none of these stops a read.

    ``replaced``: documents whose invalid UTF-8 bytes were replaced by U+FFFD;
    ``binary_skipped``: files skipped for a NUL byte in their first 8 KB;
    ``empty``: documents with no non-whitespace text (skipped);
    ``unreadable``: files that could not be opened or parsed (skipped);
    ``bad_records``: JSON/CSV/Parquet records without a usable text field (skipped).
    """

    documents: int = 0
    replaced: int = 0
    binary_skipped: int = 0
    empty: int = 0
    unreadable: int = 0
    bad_records: int = 0
    problems: list[str] = field(default_factory=list)
    """The first few problems, as ``"name: why"`` lines, to show a user."""

    MAX_PROBLEMS = 20

    def note(self, message: str) -> None:
        if len(self.problems) < self.MAX_PROBLEMS:
            self.problems.append(message)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def decode(data: bytes, counts: ReadCounts) -> str:
    """UTF-8 text of ``data`` (a BOM dropped); invalid bytes become U+FFFD and the document is counted."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        counts.replaced += 1
        return data.decode("utf-8-sig", errors="replace")


class _TextExtractor(HTMLParser):
    """The visible text of an HTML page: data outside ``<script>`` and ``<style>``, blocks as line breaks."""

    SKIPPED = {"script", "style", "template", "noscript"}
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "title", "pre", "section", "article"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self._skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED and self._skipping:
            self._skipping -= 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def strip_html(markup: str) -> str:
    """Visible text of an HTML document, with the standard library's tolerant parser (never raises on bad markup)."""
    parser = _TextExtractor()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


def _is_binary(path: Path) -> bool:
    with path.open("rb") as handle:
        return b"\x00" in handle.read(BINARY_PROBE_BYTES)


def _emit(text: str, label: str | None, name: str, counts: ReadCounts) -> Document | None:
    if not text.strip():
        counts.empty += 1
        return None
    counts.documents += 1
    return Document(text, label, name)


def list_text_files(folder: str | os.PathLike) -> list[Path]:
    """Every text file below ``folder`` (by suffix, case-insensitive), sorted, hidden files and folders left out."""
    root = Path(folder)
    found = []
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and name.lower().endswith(TEXT_SUFFIXES):
                found.append(Path(directory) / name)
    return found


def read_folder(folder: str | os.PathLike, counts: ReadCounts | None = None) -> Iterator[Document]:
    """One document per text file below ``folder``; label = first sub-folder name."""
    counts = counts if counts is not None else ReadCounts()
    root = Path(folder)
    for path in list_text_files(root):
        relative = path.relative_to(root)
        label = relative.parts[0] if len(relative.parts) > 1 else None
        document = _read_file(path, str(relative), label, counts)
        if document is not None:
            yield document


def read_lines(path: str | os.PathLike, counts: ReadCounts | None = None, label: str | None = None) -> Iterator[Document]:
    """One document per line of ``path`` (read as bytes, so each line is decoded and counted on its own)."""
    counts = counts if counts is not None else ReadCounts()
    path = Path(path)
    try:
        handle = path.open("rb")
    except OSError as error:
        counts.unreadable += 1
        counts.note(f"{path.name}: {error.strerror or error}")
        return
    with handle:
        for number, raw in enumerate(handle, start=1):
            if b"\x00" in raw:
                counts.bad_records += 1
                counts.note(f"{path.name}:{number}: NUL byte, line skipped")
                continue
            document = _emit(decode(raw, counts), label, f"{path.name}:{number}", counts)
            if document is not None:
                yield document


def _field_text(record: dict, text_field: str, label_field: str | None) -> tuple[str | None, str | None]:
    text = record.get(text_field)
    label = record.get(label_field) if label_field else None
    return (None if text is None else str(text)), (None if label is None else str(label))


def read_jsonl(
    path: str | os.PathLike, text_field: str = "text", label_field: str | None = None, counts: ReadCounts | None = None
) -> Iterator[Document]:
    """One document per JSON object line; lines that are not objects with ``text_field`` are counted and skipped."""
    counts = counts if counts is not None else ReadCounts()
    path = Path(path)
    lines = ReadCounts()
    for line in read_lines(path, lines):
        counts.replaced, lines.replaced = counts.replaced + lines.replaced, 0
        try:
            record = json.loads(line.text)
        except json.JSONDecodeError:
            counts.bad_records += 1
            counts.note(f"{line.name}: not JSON")
            continue
        text, label = _field_text(record, text_field, label_field) if isinstance(record, dict) else (None, None)
        if text is None:
            counts.bad_records += 1
            counts.note(f"{line.name}: no {text_field!r} field")
            continue
        document = _emit(text, label, line.name, counts)
        if document is not None:
            yield document
    counts.unreadable += lines.unreadable
    counts.bad_records += lines.bad_records
    counts.problems.extend(lines.problems[: max(0, counts.MAX_PROBLEMS - len(counts.problems))])


def read_csv(
    path: str | os.PathLike, text_field: str = "text", label_field: str | None = None, counts: ReadCounts | None = None
) -> Iterator[Document]:
    """One document per CSV row (header row names the fields), read with the standard ``csv`` module."""
    counts = counts if counts is not None else ReadCounts()
    path = Path(path)
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))  # a 10 MB cell is a document, not an error
    try:
        raw = path.open("rb")
    except OSError as error:
        counts.unreadable += 1
        counts.note(f"{path.name}: {error.strerror or error}")
        return
    with raw:
        # Decoded with replacement as a stream; a document holding U+FFFD is counted as replaced.
        reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline=""))
        if reader.fieldnames is None or text_field not in reader.fieldnames:
            counts.bad_records += 1
            counts.note(f"{path.name}: no {text_field!r} column (columns: {reader.fieldnames})")
            return
        try:
            for number, row in enumerate(reader, start=2):
                text, label = _field_text(row, text_field, label_field)
                if text is None:
                    counts.bad_records += 1
                    continue
                counts.replaced += "\ufffd" in text
                document = _emit(text, label, f"{path.name}:{number}", counts)
                if document is not None:
                    yield document
        except csv.Error as error:
            counts.unreadable += 1
            counts.note(f"{path.name}: {error}")


def read_parquet(
    path: str | os.PathLike, text_field: str = "text", label_field: str | None = None, counts: ReadCounts | None = None
) -> Iterator[Document]:
    """One document per Parquet row, one row group in memory at a time (needs ``pyarrow``)."""
    counts = counts if counts is not None else ReadCounts()
    try:
        import pyarrow.parquet as pq  # optional dependency: only Parquet input needs it
    except ImportError as error:  # an optional dependency: say what to install
        raise ImportError("reading Parquet needs pyarrow: pip install pyarrow") from error
    path = Path(path)
    try:
        parquet = pq.ParquetFile(path)
    except Exception as error:  # pyarrow raises its own error types for bad files
        counts.unreadable += 1
        counts.note(f"{path.name}: {error}")
        return
    columns = [text_field] + ([label_field] if label_field else [])
    missing = [column for column in columns if column not in parquet.schema_arrow.names]
    if missing:
        counts.bad_records += 1
        counts.note(f"{path.name}: no column {missing[0]!r}")
        return
    number = 0
    for group in range(parquet.num_row_groups):
        table = parquet.read_row_group(group, columns=columns).to_pydict()
        labels = table.get(label_field) if label_field else None
        for row, text in enumerate(table[text_field]):
            number += 1
            if text is None:
                counts.bad_records += 1
                continue
            if isinstance(text, bytes):
                text = decode(text, counts)
            label = None if labels is None or labels[row] is None else str(labels[row])
            document = _emit(str(text), label, f"{path.name}:{number}", counts)
            if document is not None:
                yield document


def read_documents(
    source: str | os.PathLike,
    *,
    unit: Unit | None = None,
    text_field: str = "text",
    label_field: str | None = None,
    counts: ReadCounts | None = None,
) -> Iterator[Document]:
    """Documents from a folder or a file, by what ``source`` is (see the module docstring).

    ``unit="line"`` reads any file as one document per line; for a folder
    ``unit`` must be ``"file"`` (or None).  A missing source raises
    ``FileNotFoundError``; an empty folder yields nothing.
    """
    counts = counts if counts is not None else ReadCounts()
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    if path.is_dir():
        if unit == "line":
            raise ValueError("unit='line' reads one file; a folder is read one document per file")
        return read_folder(path, counts)
    suffix = path.suffix.lower()
    if unit != "line":
        if suffix in JSONL_SUFFIXES:
            return read_jsonl(path, text_field, label_field, counts)
        if suffix == ".csv":
            return read_csv(path, text_field, label_field, counts)
        if suffix == ".parquet":
            return read_parquet(path, text_field, label_field, counts)
        if unit == "file":
            return _one_file(path, counts)
    return read_lines(path, counts)


def _one_file(path: Path, counts: ReadCounts) -> Iterator[Document]:
    """A single text file as one document (``unit="file"`` on a file)."""
    document = _read_file(path, path.name, None, counts)
    if document is not None:
        yield document


def _read_file(path: Path, name: str, label: str | None, counts: ReadCounts) -> Document | None:
    """One file as one document: binary and unreadable files are counted and skipped, HTML loses its tags."""
    try:
        if _is_binary(path):
            counts.binary_skipped += 1
            counts.note(f"{name}: binary (NUL byte), skipped")
            return None
        text = decode(path.read_bytes(), counts)
    except OSError as error:
        counts.unreadable += 1
        counts.note(f"{name}: {error.strerror or error}")
        return None
    return _emit(document_text(text, path.suffix.lower()), label, name, counts)


def document_text(text: str, extension: str) -> str:
    """A file's text as a document: HTML without its tags, anything else as it is."""
    return strip_html(text) if extension in HTML_SUFFIXES else text
