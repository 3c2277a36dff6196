"""benchmarks/topics.py --smoke runs end to end on the bundled samples and writes its JSON."""

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "topics.py"


def load_benchmark(name: str):
    """The script as a module, registered in sys.modules first (its dataclasses look their module up there)."""
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_rst_sections_split_at_headings_and_api_entries():
    topics = load_benchmark("topics")
    text = "Title\n=====\nintro words\n\n.. function:: f(x)\n\n   does f\n\nNext\n----\nmore\n"
    sections = topics._rst_sections(text)
    assert [s.splitlines()[0] for s in sections] == ["Title", ".. function:: f(x)", "Next"]
    assert topics._toctree_entries(".. toctree::\n   :maxdepth: 2\n\n   text.rst\n   binary.rst\n\nAfter\n") == ["text", "binary"]


@pytest.mark.slow
def test_smoke_mode_writes_every_metric(tmp_path):
    pytest.importorskip("gensim")
    pytest.importorskip("lda")
    topics = load_benchmark("topics")
    out = tmp_path / "results.json"
    topics.main(["--smoke", "--methods", "sklearn-lda", "dirvae", "--out", str(out)])
    records = json.loads(out.read_text())
    assert {r["corpus"] for r in records} == {"newsgroups-mini", "reuters"}
    for record in records:
        assert {"npmi", "diversity", "perplexity", "knn", "active", "seconds", "docs_per_s"} <= set(record)
        assert -1.0 <= record["npmi"] <= 1.0 and record["active"] <= 5


def test_a_background_variant_is_scored_both_ways():
    import numpy as np
    import scipy.sparse as sp

    from dirvae.text.metrics import split_halves
    from dirvae.text.vocabulary import Vocabulary

    topics = load_benchmark("topics")
    rng = np.random.default_rng(0)
    V = 40
    train = sp.csr_matrix(rng.poisson(0.3, (60, V)).astype(np.float64))
    test = sp.csr_matrix(rng.poisson(0.3, (20, V)).astype(np.float64) + np.eye(20, V))
    observed, held_out, _ = split_halves(test, seed=0)
    vocabulary = Vocabulary(tuple(f"w{i}" for i in range(V)))
    split = topics.Split(vocabulary, train, test, np.arange(20) % 2, observed, held_out)
    budget = {"epochs": 2, "seconds": 30.0}
    fitted = topics.METHODS["dirvae-adam0.9-scholar"](split, 3, 0, budget)
    scores = topics.score(split, fitted)
    assert {"npmi", "npmi_dev", "diversity_dev"} <= set(scores) and fitted.deviation.shape == (3, V)
    assert "npmi_dev" not in topics.score(split, topics.METHODS["dirvae"](split, 3, 0, budget))
