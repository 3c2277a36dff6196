"""Smoke runs of the benchmark scripts: they must work, their figures are not asserted here."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MNIST = REPO.parent / "shared" / "data" / "mnist"


def run_benchmark(script: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """``benchmarks/<script>`` with ``args``, from the repository root, output captured."""
    return subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), *args], capture_output=True, text=True, timeout=timeout, cwd=REPO
    )


@pytest.mark.skipif(not (MNIST / "t10k-images-idx3-ubyte.gz").is_file(), reason="needs ../shared/data/mnist (real MNIST test digits)")
def test_ablation_smoke_mode_trains_and_reports_each_variant(tmp_path):
    done = run_benchmark("ablation.py", "--smoke", "--results", str(tmp_path), "--mnist", str(MNIST))
    assert done.returncode == 0, done.stderr[-2000:]
    for name in ("default-k50", "gaussian-k10"):
        result = json.loads((tmp_path / f"{name}-seed0.json").read_text())
        assert result["epochs"] == 1 and 0 < result["nll"] < 550, name
        assert f"`{name}`" in done.stdout
    assert json.loads((tmp_path / "default-k50-seed0.json").read_text())["recipe"]["decoder_input"] == "scaled"


def test_ablation_skips_cleanly_without_mnist(tmp_path):
    done = run_benchmark("ablation.py", "--smoke", "--results", str(tmp_path), "--mnist", str(tmp_path / "none"), timeout=120)
    assert done.returncode == 0 and "skipped" in done.stderr


def test_latent_benchmark_reports_a_step_time_ratio_per_k_from_fresh_models():
    done = run_benchmark("bench_latent.py", "--threads", "1", "--rounds", "2", "--step-components", "4")
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("K=4:"))
    ratio = float(line.split("median of 2 rounds: ")[1].split()[0])
    assert 0.5 < ratio < 2.0, line
    assert "| 4 | gaussian |" in done.stdout


@pytest.mark.skipif(__import__("shutil").which("espeak-ng") is None, reason="needs espeak-ng for the speech corpus")
def test_speech_benchmark_measures_windows_per_second():
    done = run_benchmark("speech.py", "--speed-only", "--architectures", "stft", "--threads", "1", "--no-write")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "96 training sentences" in done.stderr and "windows/s" in done.stderr


@pytest.mark.skipif(__import__("importlib").util.find_spec("sklearn") is None, reason="needs scikit-learn's sample photos")
def test_video_benchmark_smoke_reads_clips_back_and_reports_the_baselines():
    done = run_benchmark("video.py", "--smoke", "--threads", "1")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "held-out frames from china" in done.stderr and "frames/s" in done.stderr
    assert "| DirVAE |" in done.stdout and "8×8 thumbnail **" in done.stdout


@pytest.mark.skipif(not (REPO / ".git").exists(), reason="needs a git checkout (--against reads a revision with git show)")
def test_speech_step_benchmark_profiles_and_times_a_revision_against_the_checkout():
    done = run_benchmark("speech_step.py", "--profile", "--against", "HEAD", "--rounds", "1", "--repeats", "1")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "| whole step: loss forward + backward, sanitise, Adam |" in done.stdout and "| convolutions, forward and backward |" in done.stdout
    old, new = done.stdout.split("loss of the same batch, HEAD / this checkout: ")[1].split()[0:3:2]
    assert abs(float(old) / float(new) - 1) < 1e-5
    assert "speed-up new/old per round (wall): median" in done.stdout


def test_shards_benchmark_smoke_mode_reports_start_and_both_ratios():
    done = run_benchmark("shards.py", "--smoke", timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "(target < 3)" in done.stdout and done.stdout.count("folder / shards (items/s)") == 6


def test_photo_benchmark_evaluates_one_run_at_each_budget_with_its_ema_and_loss_options():
    """``--one-run``: checkpoints along one run, an EMA beside the raw weights, ``--loss-option`` reaching the loss."""
    import torch

    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        import photos
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    torch.manual_seed(0)
    train_x, test_x = torch.rand(40, 3, 64, 64), torch.rand(8, 3, 64, 64)
    built = []

    def make_model(latent):
        model, config = photos.build(latent, "auto", "auto", None, {"widths": [4, 8, 8]}, {"pixel_scale": 2})
        built.append(model)
        return model, config

    rows, last, config = photos.run_budgets(
        [0.001, 0.002], ["dirichlet"], train_x, test_x, "cpu", 0, make_model, lambda row: "", one_run=True, ema=[0.5, "0.5/2"],
        train_probe=train_x[:8],
    )  # fmt: skip
    assert len(built) == 1 and config["model"]["reconstruction_options"]["pixel_scale"] == 2
    assert [(row["budget"], row["label"]) for row in rows] == [
        ("0.001 min cpu", "DirVAE"), ("0.001 min cpu", "DirVAE EMA 0.5"), ("0.001 min cpu", "DirVAE EMA 0.5/2"),
        ("0.002 min cpu", "DirVAE"), ("0.002 min cpu", "DirVAE EMA 0.5"), ("0.002 min cpu", "DirVAE EMA 0.5/2"),
    ]  # fmt: skip
    assert rows[0]["steps"] <= rows[3]["steps"] and "train_neg_elbo" in rows[0] and "train_neg_elbo" not in rows[1]
    assert all(len(row["sigma"]) == 3 and len(row["refit_sigma"]) == 3 for row in rows)
    assert set(last) == {"DirVAE", "DirVAE EMA 0.5", "DirVAE EMA 0.5/2"}
    assert photos.ema_spec("0.99/4") == (0.99, 4) and photos.ema_spec(0.99) == (0.99, 1)


def test_shuffle_benchmark_gives_each_order_the_same_wall_clock_and_scores_video_frames(tmp_path):
    """``--seconds``: every case stops after its budget; ``seek`` (the old per-frame default) beside ``mixed``; video adds val/psnr."""
    results = tmp_path / "rows.jsonl"
    done = run_benchmark(
        "shuffle.py", "--smoke", "--seconds", "1", "--modalities", "video", "--orders", "mixed,seek", "--results", str(results)
    )
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    assert [row["order"] for row in rows] == ["mixed", "seek"]
    for row in rows:
        assert 1.0 <= row["train_seconds"] < 30 and row["steps"] > 0 and "val_psnr" in row and "load" in row
    assert "| video | `seek` |" in done.stdout and "| `mixed` | 0 |" in done.stdout
