"""What a user reads must be true (issue 25): bad files named once, fresh validation figures, one-line refusals, a quiet second Ctrl-C."""

import json
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dirvae import DirichletVAE
from dirvae.errors import DirvaeError
from tests.cli.helpers import Result, assert_one_line_error, run_cli, use_cli, write_images

SOURCE_LINE = re.compile(r"\.py:\d+|site-packages|Traceback|Exception ignored")


def _broken_folder(folder: Path) -> list[str]:
    write_images(folder, n=64, size=16)
    (folder / "empty.jpg").write_bytes(b"")
    good = (folder / "img000.png").read_bytes()
    (folder / "truncated.png").write_bytes(good[: len(good) // 2])
    (folder / "html.png").write_text("<html><body>a web page, not a picture</body></html>")
    (folder / "text.bmp").write_text("plain text under a picture's name")
    return ["empty.jpg", "truncated.png", "html.png", "text.bmp"]


def test_each_bad_file_is_one_line_once_across_workers_epochs_and_validation(tmp_path):
    broken = _broken_folder(tmp_path / "pics")
    result = run_cli(
        "train", "--data", "pics", "--image-size", "16", "--num-workers", "2", "--epochs", "3", "--shuffle",
        "--batches", "8", "--val-fraction", "0.2", "--run-dir", "run", cwd=tmp_path, check=0,
    )  # fmt: skip
    assert not SOURCE_LINE.search(result.stderr), result.stderr
    for name in broken:
        lines = [line for line in result.stderr.splitlines() if name in line]
        assert len(lines) == 1, (name, result.stderr)
        assert lines[0].startswith(f"dirvae: skipping {name}: "), lines[0]
    assert f"skipped files {len(broken)}," in result.stderr


def test_epoch_lines_never_repeat_a_validation_figure_as_new(tmp_path):
    # The digits: 54 steps an epoch, validation every 100 steps, so epochs 1 and 3 have none of their own.
    result = run_cli("train", "--epochs", "4", "--val-every", "100", "--run-dir", "run", cwd=tmp_path, check=0)
    epochs = [line for line in result.stderr.splitlines() if line.startswith("dirvae: epoch ")]
    assert len(epochs) == 4, result.stderr
    with_validation = [line for line in epochs if "val/elbo" in line]
    assert [line.split(",")[0] for line in with_validation] == ["dirvae: epoch 2/4", "dirvae: epoch 4/4"], epochs


@pytest.fixture(scope="module")
def impossible_run(tmp_path_factory):
    """A trained digits-sized MLP run whose config.json then asks for ~360 GB of hidden layers."""
    folder = tmp_path_factory.mktemp("impossible")
    write_images(folder / "pics", n=8, size=8)
    run_cli("train", "--data", "pics", "--image-size", "8", "--architecture", "mlp", "--iterations", "2", "--run-dir", "run",
            cwd=folder, check=0)  # fmt: skip
    config_path = folder / "run" / "config.json"
    config = json.loads(config_path.read_text())
    config["architecture"]["options"]["hidden"] = [300000, 300000]
    config_path.write_text(json.dumps(config))
    return folder


@pytest.mark.parametrize(
    "tool",
    [
        ["sample", "run", "--out", "s.png"],
        ["reconstruct", "run", "pics/img000.png", "--out", "r.png"],
        ["interpolate", "run", "pics/img000.png", "pics/img001.png", "--out", "i.gif"],
        ["traverse", "run", "--out", "t.png"],
        ["encode", "run", "pics", "--out", "z.csv"],
        ["evaluate", "run", "pics"],
    ],
    ids=lambda args: args[0],
)
def test_an_impossible_config_is_one_line_from_every_tool(impossible_run, tool, capsys, monkeypatch):
    monkeypatch.chdir(impossible_run)
    line = assert_one_line_error(use_cli(capsys, *tool), "weights do not match config.json", tool[0])
    assert "[300000, 192]" in line  # 8x8 RGB: 192 inputs


def test_an_impossible_config_allocates_nothing_large(impossible_run):
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    result = run_cli("sample", "run", "--out", "s.png", cwd=impossible_run)
    assert_one_line_error(Result(result.returncode, result.stdout, result.stderr), "weights do not match config.json", "sample")
    peak_kib = max(before, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    assert peak_kib < 2 * 2**20, f"{peak_kib / 2**20:.1f} GiB"
    with pytest.raises(DirvaeError, match="weights do not match"):
        DirichletVAE.from_pretrained(impossible_run / "run")


def test_a_path_option_given_a_list_in_a_config_file_is_one_line(tmp_path):
    (tmp_path / "options.yaml").write_text("run-dir: [1]\niterations: 1\n")
    result = run_cli("train", "--config", "options.yaml", cwd=tmp_path)
    assert_one_line_error(Result(result.returncode, result.stdout, result.stderr), "--run-dir must be text, got [1]", "train")
    assert not (tmp_path / "[1]").exists()


def test_a_second_ctrl_c_while_saving_waits_quietly_and_the_files_are_intact(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "dirvae", "train", "--iterations", "100000", "--save-freq", "0", "--run-dir", "run"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    seen = []
    while not any("CPU thread" in line for line in seen):
        line = process.stderr.readline()
        assert line, "".join(seen)
        seen.append(line)
    time.sleep(2.0)  # training, checkpointing every step
    for pause in (0.2, 0.02, 0.0):
        process.send_signal(signal.SIGINT)
        time.sleep(pause)
    _, rest = process.communicate(timeout=120)
    stderr = "".join(seen) + rest
    assert process.returncode == 130, stderr
    assert not SOURCE_LINE.search(stderr), stderr
    assert "checkpoint saved; resume with" in stderr
    assert DirichletVAE.from_pretrained(tmp_path / "run") is not None
    resumed = run_cli("train", "--load", "run", "--iterations", "1", cwd=tmp_path, check=0)
    assert "nothing to train" in resumed.stderr or "done:" in resumed.stderr


def test_the_best_validation_is_kept_loadable_and_named_in_the_closing_line(tmp_path, capsys, monkeypatch):
    from dirvae.training.checkpoints import read_progress

    result = run_cli("train", "--iterations", "450", "--run-dir", "run", cwd=tmp_path, check=0)
    best = re.search(r"best val/elbo (-?[\d.]+) at step (\d+) \(best.safetensors", result.stderr)
    assert best and int(best.group(2)) in (200, 400), result.stderr
    assert read_progress(tmp_path / "run" / "checkpoints" / "best.ckpt")["global_step"] == int(best.group(2))
    model = DirichletVAE.from_pretrained(tmp_path / "run", weights="best")
    assert not model.training
    monkeypatch.chdir(tmp_path)
    assert use_cli(capsys, "sample", "run", "--weights", "best", "--n", "2", "--out", "best.png").returncode == 0
    assert (tmp_path / "best.png").is_file()
    shutil.copytree(tmp_path / "run", tmp_path / "moved")  # a user moves the run folder, then resumes it
    resumed = run_cli("train", "--load", "moved", "--iterations", "460", cwd=tmp_path, check=0)  # checkpoints/ is not empty
    assert "done: trained 10 steps" in resumed.stderr and not SOURCE_LINE.search(resumed.stderr), resumed.stderr
    state = torch.load(tmp_path / "moved" / "checkpoints" / "last.ckpt", weights_only=True)["callbacks"]["BestCheckpoint"]
    assert state["dirpath"] == str(tmp_path / "moved" / "checkpoints") and state["best_model_score"] is not None
    assert state["best_model_score"] >= float(best.group(1)) - 0.01  # the moved run kept its best score
