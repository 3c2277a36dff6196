"""The text modality through the command line: train on a folder of documents, then topics, encode, evaluate and the rest."""

import csv
import io
import json
from pathlib import Path

import pytest

from dirvae import DirichletVAE
from dirvae.runs.record import read_run
from tests.cli.helpers import TOPIC_WORDS, Result, assert_one_line_error, ok, run_cli, use_cli, write_documents


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("text")
    write_documents(folder / "docs", per_topic=30)
    (folder / "docs" / "space" / "binary.txt").write_bytes(b"\x00\x01\x02 not text" * 50)
    (folder / "docs" / "food" / "latin1.txt").write_bytes("caf\xe9 cr\xe8me bread cheese butter".encode("latin-1"))
    (folder / "docs" / "music" / "empty.txt").write_text("   \n")
    write_documents(folder / "heldout", per_topic=8, seed=1)
    env = {"DIRVAE_CACHE": str(folder / "cache")}
    result = run_cli("train", "--type", "text", "--data", "docs", "--model-size", "3", "--batches", "16", "--epochs", "120",
                     "--min-df", "1", "--run-dir", "run", cwd=folder, env_extra=env, check=0)  # fmt: skip
    return folder, result


@pytest.fixture
def in_text_folder(text_run, monkeypatch):
    folder, _ = text_run
    monkeypatch.chdir(folder)
    monkeypatch.setenv("DIRVAE_CACHE", str(folder / "cache"))
    return folder


def test_training_counts_what_it_skipped_and_repaired(text_run):
    _, result = text_run
    line = next(line for line in result.stderr.splitlines() if line.startswith("dirvae: text: "))
    assert "1 binary files skipped" in line and "1 empty documents skipped" in line and "invalid UTF-8 repaired" in line


def test_the_topics_are_recovered_and_listed_by_prevalence(in_text_folder, capsys):
    listed = json.loads(ok(capsys, "topics", "run", "--json", "--top", "5").stdout)
    assert len(listed) == 3 and listed == sorted(listed, key=lambda topic: -topic["prevalence"])
    found = [{entry["word"] for entry in topic["words"]} for topic in listed]
    for words in TOPIC_WORDS.values():  # each generating topic is one learnt topic's top words
        assert any(len(top & set(words)) >= 4 for top in found), found
    rows = list(csv.DictReader(io.StringIO(ok(capsys, "topics", "run", "--csv", "--top", "2").stdout)))
    assert len(rows) == 6 and set(rows[0]) == {"topic", "prevalence", "rank", "word", "weight"}
    assert "%" in ok(capsys, "topics", "run").stdout


def test_the_vocabulary_is_saved_with_the_run_and_loads_with_it(in_text_folder):
    record = read_run("run")
    words = record.data.vocabulary
    assert len(words) > 10 and list(words) == sorted(words)  # scikit-learn's order
    assert set(words) <= {word for group in TOPIC_WORDS.values() for word in group} | {"caf", "cr"}  # invalid UTF-8 replaced by U+FFFD splits words
    assert record.data.item_shape == (len(words),)
    model = DirichletVAE.from_pretrained("run")
    assert model.decode(model.sample_latent(1)).shape == (1, len(words))


def test_encode_is_deterministic_and_gives_topic_proportions(in_text_folder, capsys):
    ok(capsys, "encode", "run", "heldout", "--out", "a.csv")
    ok(capsys, "encode", "run", "heldout", "--out", "b.csv")
    first = Path("a.csv").read_text()
    assert first == Path("b.csv").read_text()
    rows = list(csv.DictReader(io.StringIO(first)))
    assert len(rows) == 24
    assert all(abs(sum(float(row[f"z_{k}"]) for k in range(3)) - 1) < 1e-4 for row in rows)


def test_evaluate_reports_the_topic_metrics(in_text_folder, capsys):
    report = json.loads(ok(capsys, "evaluate", "run", "heldout", "--nll-samples", "4", "--json", "--reference", "docs").stdout)
    metrics = report["modality_metrics"]
    assert metrics["NPMI (top 10, document co-occurrence)"] > 0.2
    assert metrics["topic diversity (top 25)"] > 0 and metrics["active topics"] == "3 / 3"
    assert metrics["kNN-5 accuracy (Hellinger)"] > 0.9
    assert 1 < metrics["document-completion perplexity"] < 60 and metrics["perplexity (ELBO bound, per word)"] > 1


@pytest.mark.parametrize(
    ("tool", "extra", "out"),
    [("sample", ["--n", "2"], "s.md"), ("reconstruct", ["heldout/food/food000.txt"], "r.txt"),
     ("interpolate", ["heldout/food/food000.txt", "heldout/music/music000.txt", "--steps", "3"], "i.json"),
     ("traverse", ["--steps", "2"], "t.md")],
    ids=lambda value: value if isinstance(value, str) else None,
)  # fmt: skip
def test_the_other_tools_write_words(in_text_folder, capsys, tool, extra, out):
    ok(capsys, tool, "run", *extra, "--out", out)
    text = Path(out).read_text()
    assert any(word in text for words in TOPIC_WORDS.values() for word in words)
    if out.endswith(".json"):
        assert json.loads(text)["entries"][0]["topics"]


def test_an_empty_folder_is_one_line(tmp_path):
    (tmp_path / "nothing").mkdir()
    result = run_cli("train", "--type", "text", "--data", "nothing", cwd=tmp_path)
    assert_one_line_error(Result(result.returncode, result.stdout, result.stderr), "no text document found", "train")


def test_topics_of_a_run_without_topics_is_one_line(in_text_folder, capsys, tmp_path):
    record = json.loads(Path("run/config.json").read_text())
    assert record["modality"] == "text"
    assert_one_line_error(use_cli(capsys, "topics", "nowhere"), "not a run directory", "topics")
