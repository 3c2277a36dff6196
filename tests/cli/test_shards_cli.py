"""Shards from the command line: pack, train (and resume) on them, and the tools reading SHARD and SHARD#KEY."""

from __future__ import annotations

import csv
import json

import pytest

from dirvae.data.shards import ShardStream
from dirvae.modalities.packing import pack_folder
from tests.cli.helpers import K, Result, assert_one_line_error, ok, run_cli, use_cli, write_audio, write_images

TINY = ["--save-freq", "0", "--model-size", str(K), "--batches", "4", "--log-every", "1000", "--image-size", "14"]


def _rows(path):
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


@pytest.mark.parametrize("name, folder", [("image", "pics"), ("audio", "sounds"), ("video", "clips")])
def test_the_tools_read_shards_as_they_read_the_folder(use_runs, tmp_path, capsys, name, folder):
    pack_folder(use_runs.base / folder, tmp_path / "shards", shard_size=2)
    run = use_runs.run(name)
    ok(capsys, "encode", run, use_runs.base / folder, "--out", tmp_path / "folder.csv")
    ok(capsys, "encode", run, tmp_path / "shards", "--out", tmp_path / "shards.csv")
    header, from_folder = _rows(tmp_path / "folder.csv")
    same, from_shards = _rows(tmp_path / "shards.csv")
    assert header == same and len(from_folder) == len(from_shards)
    values = [sorted(tuple(row[1:]) for row in rows) for rows in (from_folder, from_shards)]
    assert values[0] == values[1]  # the same items, preprocessed alike, give the same posteriors
    sample = from_shards[-1][0]  # e.g. shard-000001.tar#tone2 (the window is its own column)
    result = ok(capsys, "reconstruct", run, tmp_path / "shards" / sample, "--out", tmp_path / "one.png" if name != "audio" else tmp_path / "one.wav")
    assert "wrote" in result.stdout
    report = ok(capsys, "evaluate", run, tmp_path / "shards", "--nll-samples", "4", "--json", "--out-dir", tmp_path).stdout
    assert json.loads(report[report.index("{"):])["data"] == str(tmp_path / "shards")


def test_a_key_the_shards_lack_is_one_line(use_runs, tmp_path, capsys):
    pack_folder(use_runs.base / "pics", tmp_path / "shards", shard_size=4)
    result = use_cli(capsys, "reconstruct", use_runs.run("image"), tmp_path / "shards" / "shard-000000.tar#nothing")
    assert_one_line_error(result, "holds no readable sample keyed 'nothing'", "reconstruct")


def test_pack_then_train_then_resume_continues_with_the_next_epochs_order(tmp_path, capsys, monkeypatch):
    write_images(tmp_path / "pics", n=20, size=16)
    assert "20 image files in 5 tar shard(s)" in ok(capsys, "pack", tmp_path / "pics", tmp_path / "shards", "--shard-size", "4").stdout
    epochs: list[int] = []
    real = ShardStream.set_epoch

    def heard(self, epoch):
        if self.shuffle:  # the training stream (validation keeps its order)
            epochs.append(epoch)
        real(self, epoch)

    monkeypatch.setattr(ShardStream, "set_epoch", heard)
    monkeypatch.chdir(tmp_path)
    ok(capsys, "train", "--data", "shards", "--epochs", "1", "--run-dir", "run", *TINY)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["data"]["source"] == "shards" and config["training"]["shuffle_buffer"] == 1000
    ok(capsys, "train", "--load", "run", "--epochs", "3")
    assert epochs == [0, 1, 2]
    assert json.loads((tmp_path / "run" / "config.json").read_text())["progress"]["epoch"] >= 2


@pytest.mark.slow
def test_two_process_ddp_on_audio_shards_with_workers(tmp_path):
    write_audio(tmp_path / "sounds", n=5, seconds=1.0, rate=8000)
    run_cli("pack", "sounds", "shards", "--shard-size", "2", cwd=tmp_path, check=0)
    result = run_cli(
        "train", "--type", "audio", "--data", "shards", "--audio-size", "2048", "--sample-rate", "8000", "--epochs", "2",
        "--run-dir", "run", "--no-gpu", "--devices", "2", "--strategy", "ddp", "--batches", "2", "--num-workers", "2",
        "--save-freq", "0", "--model-size", "4", cwd=tmp_path, timeout=400, check=0,
    )  # fmt: skip
    assert "dirvae: done:" in result.stderr
    assert json.loads((tmp_path / "run" / "config.json").read_text())["progress"]["epoch"] >= 1


def test_shard_errors_are_one_line(tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    for args, message in [
        (("train", "--data", "missing-{000..009}.tar"), "no such shard missing-000.tar (10 of 10 shards missing)"),
        (("train", "--data", "bad.parquet"), "bad.parquet: not a readable Parquet file"),
        (("pack", "nowhere", "out"), "nowhere: no such directory"),
    ]:
        done = run_cli(*args, cwd=tmp_path, timeout=120)
        assert_one_line_error(Result(done.returncode, done.stdout, done.stderr), message, args[0])
