import csv

import numpy as np
import pytest

from dirvae import DirichletVAE
from tests.cli.helpers import (
    AUDIO_WINDOWS,
    K,
    VIDEO_FRAMES,
    ok,
    use_cli,
)


def _read_csv(path):
    with open(path, newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _values(rows, header, prefix):
    columns = [i for i, name in enumerate(header) if name.startswith(prefix)]
    return np.array([[float(row[i]) for i in columns] for row in rows])


def test_digits_default_csv_has_a_row_per_item_on_the_simplex(use_runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    result = ok(capsys, "encode", use_runs.run("digits"), "digits", "--batch-size", 512)
    assert "latents.csv" in result.stdout
    header, rows = _read_csv(tmp_path / "latents.csv")
    assert header == ["file", *[f"z_{k}" for k in range(K)], *[f"alpha_{k}" for k in range(K)]]
    assert len(rows) == 1797 and rows[7][0] == "digits#0007"
    z, alpha = _values(rows, header, "z_"), _values(rows, header, "alpha_")
    assert np.allclose(z.sum(axis=1), 1.0, atol=1e-5) and (alpha > 0).all()


def test_image_field_average_and_flatten(use_runs, tmp_path, capsys):
    run, pics = use_runs.run("image"), use_runs.base / "pics"
    ok(capsys, "encode", run, pics, "--out", tmp_path / "avg.csv")
    ok(capsys, "encode", run, pics, "--out", tmp_path / "all.csv", "--field", "flatten")
    header, rows = _read_csv(tmp_path / "avg.csv")
    flat_header, flat_rows = _read_csv(tmp_path / "all.csv")
    assert [row[0] for row in rows] == [f"img{i:03d}.png" for i in range(6)]
    places = ["0_0", "0_1", "1_0", "1_1"]  # the 2×2 field, row_column
    assert flat_header[1 : 1 + 4 * K] == [f"z_{k}@{p}" for k in range(K) for p in places]
    assert flat_header[1 + 4 * K :] == [f"alpha_{k}@{p}" for k in range(K) for p in places]
    z_field = _values(flat_rows, flat_header, "z_").reshape(-1, K, 4)
    assert np.allclose(z_field.sum(axis=1), 1.0, atol=1e-5)  # a simplex at every position
    assert np.allclose(z_field.mean(axis=2), _values(rows, header, "z_"), atol=1e-6)
    # The numbers are the model's own posterior.
    model = DirichletVAE.from_pretrained(run)
    from dirvae.runs import read_inputs, read_run

    x, _ = read_inputs(read_run(run), [pics / "img002.png"])
    alpha = model.encode(x).concentration.reshape(K, 4).detach().numpy()
    assert np.allclose(_values(flat_rows, flat_header, "alpha_")[2].reshape(K, 4), alpha, rtol=1e-5)


def test_npy_is_a_structured_array_loadable_without_pickle(use_runs, tmp_path, capsys):
    run, pics = use_runs.run("image"), use_runs.base / "pics"
    ok(capsys, "encode", run, pics, "--out", tmp_path / "l.npy")
    ok(capsys, "encode", run, pics, "--out", tmp_path / "f.npy", "--field", "flatten")
    table = np.load(tmp_path / "l.npy", allow_pickle=False)
    flat = np.load(tmp_path / "f.npy", allow_pickle=False)
    assert table.shape == (6,) and table["z"].shape == (6, K) and table["alpha"].shape == (6, K)
    assert flat["z"].shape == (6, K, 2, 2) and list(table["file"]) == [f"img{i:03d}.png" for i in range(6)]
    assert np.allclose(flat["z"].mean(axis=(2, 3)), table["z"], atol=1e-6)


def test_audio_rows_per_window_and_video_rows_per_frame(use_runs, tmp_path, capsys):
    ok(capsys, "encode", use_runs.run("audio"), use_runs.base / "sounds", "--out", tmp_path / "a.csv")
    header, rows = _read_csv(tmp_path / "a.csv")  # audio keeps every time step by default
    positions = DirichletVAE.from_pretrained(use_runs.run("audio")).latent_shape[0]
    assert header[:2] == ["file", "window"] and header[2:4] == ["z_0@0", "z_0@1"]
    assert len(header) == 2 + 2 * K * positions
    assert [(r[0], int(r[1])) for r in rows] == [(f"tone{f}.wav", w) for f in range(3) for w in range(AUDIO_WINDOWS)]
    ok(capsys, "encode", use_runs.run("audio"), use_runs.base / "sounds", "--out", tmp_path / "avg.csv", "--field", "average")
    assert len(_read_csv(tmp_path / "avg.csv")[0]) == 2 + 2 * K
    ok(capsys, "encode", use_runs.run("video"), use_runs.base / "clips", "--out", tmp_path / "v.npy")
    table = np.load(tmp_path / "v.npy")
    assert list(table["frame"]) == list(range(VIDEO_FRAMES)) and set(table["file"]) == {"a.mp4"}
    assert table["z"].shape == (VIDEO_FRAMES, K)


def test_single_file_and_unreadable_files_are_skipped_with_a_warning(use_runs, tmp_path, capsys):
    run = use_runs.run("image")
    result = ok(capsys, "encode", run, use_runs.base / "mixed", "--out", tmp_path / "m.csv")
    assert "zz_broken.png" in result.stderr and "warning" in result.stderr
    _, rows = _read_csv(tmp_path / "m.csv")
    assert [r[0] for r in rows] == ["img000.png", "img001.png"]
    ok(capsys, "encode", use_runs.run("audio"), use_runs.base / "sounds" / "tone1.wav", "--out", tmp_path / "one.csv")
    _, rows = _read_csv(tmp_path / "one.csv")
    assert len(rows) == AUDIO_WINDOWS and rows[0][0].endswith("tone1.wav")


@pytest.mark.parametrize(
    "run, target, extra, message",
    [
        ("audio", "pics", [], "holds image files, but this run models audio"),
        ("image", "nowhere", [], "no such file or directory"),
        ("image", "pics", ["--out", "l.txt"], "latents can be written as"),
        ("video", "sounds/tone0.wav", [], "is an audio file"),
        ("video", "broken.mp4", [], "unreadable or corrupt video file"),
    ],
)
def test_bad_inputs_are_one_line_errors(use_runs, tmp_path, monkeypatch, capsys, run, target, extra, message):
    monkeypatch.chdir(tmp_path)
    result = use_cli(capsys, "encode", use_runs.run(run), use_runs.base / target, *extra)
    assert result.returncode == 2 and len(result.lines) == 1 and message in result.lines[0], result.stderr
    assert not (tmp_path / "latents.csv").exists()


def test_all_unreadable_folder_is_one_error(use_runs, tmp_path, capsys):
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"nope")
    result = use_cli(capsys, "encode", use_runs.run("image"), folder, "--out", tmp_path / "x.csv")
    assert result.returncode == 2 and len(result.lines) == 1 and "no readable image file" in result.lines[0], result.stderr
    assert not (tmp_path / "x.csv").exists()
