"""Reading documents: every input kind, and bad input never crashes but is counted."""

import json

import pytest

from dirvae.text.documents import ReadCounts, read_documents, strip_html


def _read(path, **options):
    counts = ReadCounts()
    documents = list(read_documents(path, counts=counts, **options))
    return documents, counts


def test_a_folder_is_read_recursively_with_labels_from_the_first_subfolder(tmp_path):
    (tmp_path / "sport" / "deep").mkdir(parents=True)
    (tmp_path / "news").mkdir()
    (tmp_path / "sport" / "a.txt").write_text("football match")
    (tmp_path / "sport" / "deep" / "b.md").write_text("tennis *final*")
    (tmp_path / "news" / "c.html").write_text("<html><style>p{}</style><p>election &amp; vote</p><script>x=1</script></html>")
    (tmp_path / "news" / "d.rst").write_text("Budget\n======\n")
    (tmp_path / "top.txt").write_text("no label")
    (tmp_path / "ignored.jpg").write_bytes(b"\xff\xd8")
    documents, counts = _read(tmp_path)
    by_name = {d.name: d for d in documents}
    assert sorted(by_name) == ["news/c.html", "news/d.rst", "sport/a.txt", "sport/deep/b.md", "top.txt"]
    assert by_name["sport/deep/b.md"].label == "sport"
    assert by_name["top.txt"].label is None
    assert by_name["news/c.html"].text.split() == ["election", "&", "vote"]
    assert counts.documents == 5


def test_strip_html_survives_broken_markup():
    assert "text" in strip_html("<p>text <b>unclosed <div")


def test_binary_files_invalid_utf8_and_empty_documents_are_counted_not_fatal(tmp_path):
    (tmp_path / "binary.txt").write_bytes(b"PK\x03\x04\x00\x00" + bytes(range(256)))
    (tmp_path / "latin1.txt").write_bytes("café crème".encode("latin-1"))
    (tmp_path / "empty.txt").write_text("   \n")
    (tmp_path / "good.txt").write_text("good words")
    documents, counts = _read(tmp_path)
    assert [d.name for d in documents] == ["good.txt", "latin1.txt"]
    assert "\ufffd" in documents[1].text
    assert (counts.binary_skipped, counts.replaced, counts.empty) == (1, 1, 1)


def test_an_empty_folder_yields_nothing(tmp_path):
    documents, counts = _read(tmp_path)
    assert documents == [] and counts.documents == 0


def test_a_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_documents(tmp_path / "nope")


def test_a_10_mb_single_line_is_one_document(tmp_path):
    path = tmp_path / "big.txt"
    line = ("word " * (10 * 1024 * 1024 // 5)).encode()
    path.write_bytes(line + b"\nsecond line\n")
    documents, counts = _read(path, unit="line")
    assert len(documents) == 2 and len(documents[0].text) >= 10 * 1024 * 1024 - 5
    csv_path = tmp_path / "big.csv"
    csv_path.write_bytes(b"text,label\n\"" + line + b"\",x\n")
    documents, _ = _read(csv_path, label_field="label")
    assert len(documents) == 1 and documents[0].label == "x"


def test_one_document_per_line_counts_bad_lines(tmp_path):
    path = tmp_path / "lines.txt"
    path.write_bytes(b"first doc\n\nbad \xff byte\nnul \x00 line\n")
    documents, counts = _read(path)
    assert [d.text.strip() for d in documents] == ["first doc", "bad \ufffd byte"]
    assert (counts.empty, counts.replaced, counts.bad_records) == (1, 1, 1)


def test_json_lines_with_text_and_label_fields(tmp_path):
    path = tmp_path / "docs.jsonl"
    rows = [{"body": "alpha beta", "topic": "a"}, {"body": "gamma"}, {"other": 1}, "not an object"]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n{broken\n")
    documents, counts = _read(path, text_field="body", label_field="topic")
    assert [(d.text, d.label) for d in documents] == [("alpha beta", "a"), ("gamma", None)]
    assert counts.bad_records == 3


def test_csv_with_quoted_newlines_and_a_missing_column(tmp_path):
    path = tmp_path / "docs.csv"
    path.write_text('text,label\n"line one\nline two",x\nplain,y\n', encoding="utf-8")
    documents, _ = _read(path, label_field="label")
    assert [d.label for d in documents] == ["x", "y"] and "line two" in documents[0].text
    documents, counts = _read(path, text_field="body")
    assert documents == [] and counts.bad_records == 1


def test_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    path = tmp_path / "docs.parquet"
    pq.write_table(pa.table({"text": ["one two", None, "three"], "label": ["a", "b", None]}), path, row_group_size=2)
    documents, counts = _read(path, label_field="label")
    assert [(d.text, d.label) for d in documents] == [("one two", "a"), ("three", None)]
    assert counts.bad_records == 1
