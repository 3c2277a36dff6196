"""``dirvae evaluate`` on a tiny digits run: JSON, table, chart, and one-line errors."""

import json

import pytest

from dirvae.cli.main import main
from tests.cli.helpers import run_cli, write_audio

EVAL = ["--nll-samples", "8", "--limit", "64"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny run on the embedded digits, shared by every test here."""
    workdir = tmp_path_factory.mktemp("evaluate")
    run_cli("train", "--iterations", "3", "--run-dir", "run", "--save-freq", "0", "--model-size", "4", cwd=workdir, check=0)
    return workdir


def test_evaluate_json(trained):
    result = run_cli("evaluate", "run", "digits", *EVAL, "--json", cwd=trained, check=0)
    report = json.loads(result.stdout)
    assert report["items"] == 64 and report["nll_samples"] == 8 and report["model_size"] == 4
    for key in ("nll", "elbo", "reconstruction", "kl", "elbo_exact_kl", "kl_exact", "active_units"):
        assert isinstance(report[key], (int, float)), key
    assert report["knn"]["accuracy"] is not None and report["knn"]["classes"] == 10  # the digits are labelled
    assert len(report["components"]["decoder_weight_norm"]) == 4
    assert not report["likelihood"]["normalised"]  # Bernoulli on grey digits is a score
    assert (trained / "run" / "evaluation.png").is_file()
    assert json.loads((trained / "run" / "evaluation.json").read_text())["nll"] == pytest.approx(report["nll"])


def test_evaluate_table_and_out_dir(trained, capsys, monkeypatch):
    monkeypatch.chdir(trained)
    assert main(["evaluate", "run", "digits", *EVAL, "--out-dir", "elsewhere", "--batch-size", "30"]) == 0
    out = capsys.readouterr().out
    assert "NLL, importance sampled (8 draws)" in out and "kNN-5 accuracy" in out and "active units" in out
    assert "elsewhere/evaluation.png" in out
    assert (trained / "elsewhere" / "evaluation.png").is_file()


@pytest.mark.parametrize(
    "arguments,message",
    [
        (["notarun", "digits"], "not a run directory"),
        (["run", "missing-folder"], "no such folder"),
        (["run", "sounds"], "holds audio files"),
        (["run", "empty"], "no image file found"),
        (["run", "digits", "--device", "nonsense"], "not a device"),
    ],
)
def test_evaluate_errors_are_one_line(trained, capsys, monkeypatch, arguments, message):
    monkeypatch.chdir(trained)
    write_audio(trained / "sounds", n=1, seconds=0.1)
    (trained / "empty").mkdir(exist_ok=True)
    assert main(["evaluate", *arguments, *EVAL]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("dirvae evaluate: error:") and "\n" not in err
    assert message in err


def test_dirichlet_chart_headlines_prior_scaled_active_units_and_explains_the_raw_count():
    from dirvae.cli.evaluate import chart_options

    report = {
        "model_size": 3, "active_threshold": 0.01, "active_units": 0, "active_units_prior_scaled": 2,
        "components": {"variance": [0.002, 0.001, 1e-6], "prior_variance": [0.001, 0.0005, 0.001], "mean": [0.3] * 3, "decoder_weight_norm": [1.0] * 3},
    }  # fmt: skip
    options = chart_options(report, "dirichlet", "run on digits")
    assert "2/3 active units (prior-scaled)" in options["title"]
    assert options["variance"] == [2.0, 2.0, 0.001]
    assert "0/3" in options["note"] and "prior" in options["note"]
    gaussian = chart_options(report, "gaussian", "run on digits")
    assert "0/3 active units" in gaussian["title"] and "note" not in gaussian
