import numpy as np
import pytest
import torch

from dirvae import DirichletVAE
from tests.cli.helpers import (
    AUDIO_SIZE,
    IMAGE_SIZE,
    SAMPLE_RATE,
    VIDEO_SIZE,
    assert_one_line_error,
    gif_info,
    grid_size,
    image_array,
    image_size,
    ok,
    use_cli,
    video_info,
    wav_info,
)


def test_digits_default_is_a_grid_png_in_the_current_directory(use_runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    result = ok(capsys, "sample", use_runs.run("digits"), "--n", 10)
    assert "samples.png" in result.stdout
    assert image_size(tmp_path / "samples.png") == grid_size(10, 4, 28, 28)
    assert image_array(tmp_path / "samples.png").ndim == 2  # grayscale


def test_image_grid_gif_and_folder(use_runs, tmp_path, capsys):
    run = use_runs.run("image")
    ok(capsys, "sample", run, "--n", 6, "--out", tmp_path / "s.png")
    assert image_size(tmp_path / "s.png") == grid_size(6, 3, IMAGE_SIZE, IMAGE_SIZE)
    assert image_array(tmp_path / "s.png").shape[-1] == 3
    ok(capsys, "sample", run, "--n", 5, "--out", tmp_path / "s.gif", "--fps", 10)
    frames, duration, size = gif_info(tmp_path / "s.gif")
    assert size == (IMAGE_SIZE, IMAGE_SIZE) and duration == 5 * 100 and 1 <= frames <= 5
    ok(capsys, "sample", run, "--n", 3, "--out", tmp_path / "each")
    files = sorted(p.name for p in (tmp_path / "each").iterdir())
    assert files == ["sample_000.png", "sample_001.png", "sample_002.png"]
    assert image_size(tmp_path / "each" / files[0]) == (IMAGE_SIZE, IMAGE_SIZE)


def test_seed_repeats_and_alpha_changes_the_draws(use_runs, tmp_path, capsys):
    run = use_runs.run("digits")
    for name, extra in [("a", []), ("b", []), ("c", ["--seed", "1"]), ("d", ["--alpha", "0.05"]), ("e", ["--alpha", "5,0.1,0.1,0.1"])]:
        ok(capsys, "sample", run, "--n", 8, "--out", tmp_path / f"{name}.png", *extra)
    a, b, c, d, e = (image_array(tmp_path / f"{n}.png") for n in "abcde")
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c) and not np.array_equal(a, d) and not np.array_equal(d, e)


def test_audio_writes_wav_files_or_one_wav(use_runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run = use_runs.run("audio")
    result = ok(capsys, "sample", run, "--n", 2)
    assert "samples" in result.stdout
    files = sorted((tmp_path / "samples").glob("*.wav"))
    assert [f.name for f in files] == ["sample_000.wav", "sample_001.wav"]
    assert all(wav_info(f) == (AUDIO_SIZE, SAMPLE_RATE, 1) for f in files)
    ok(capsys, "sample", run, "--n", 3, "--out", "all.wav")
    assert wav_info(tmp_path / "all.wav") == (3 * AUDIO_SIZE, SAMPLE_RATE, 1)


def test_video_writes_frames_as_a_grid_or_mp4(use_runs, tmp_path, capsys):
    run = use_runs.run("video")
    ok(capsys, "sample", run, "--n", 4, "--out", tmp_path / "frames.png")
    assert image_size(tmp_path / "frames.png") == grid_size(4, 2, VIDEO_SIZE, VIDEO_SIZE)
    ok(capsys, "sample", run, "--n", 5, "--out", tmp_path / "frames.mp4")
    frames, size, _ = video_info(tmp_path / "frames.mp4")
    assert frames == 5 and size == (VIDEO_SIZE, VIDEO_SIZE)


def test_python_api_mirrors_the_command(use_runs, tmp_path, capsys):
    run = use_runs.run("digits")
    model = DirichletVAE.from_pretrained(run)
    torch.manual_seed(0)
    samples = model.sample(3)
    assert samples.shape == (3, 1, 28, 28)
    ok(capsys, "sample", run, "--n", 3, "--out", tmp_path / "each")
    from_cli = np.stack([image_array(tmp_path / "each" / f"sample_{i:03d}.png") for i in range(3)])
    expected = (samples[:, 0].clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(from_cli, expected)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--n", "0"], "--n"),
        (["--alpha", "1,2"], "K = 4"),
        (["--alpha", "-1"], "positive"),
        (["--out", "x.wav"], "image samples can be written as"),
        (["--device", "nonsense"], "not a device"),
    ],
)
def test_bad_options_are_errors(use_runs, capsys, args, message):
    result = use_cli(capsys, "sample", use_runs.run("digits"), *args)
    # argparse's own errors come after its usage lines; ours are one line.
    assert result.returncode == 2 and message in result.lines[-1], result.stderr
    assert len(result.lines) == 1 or result.lines[0].startswith("usage:"), result.stderr


def test_not_a_run_through_the_cli(cli_errors):
    result, message = cli_errors["not_a_run"]
    assert_one_line_error(result, message, "sample")


@pytest.mark.parametrize(
    "broken, message",
    [("wrong_size", "weights do not match"), ("wrong_data", "mismatched configuration"), ("wrong_shape", "mismatched configuration"), ("corrupt", "corrupt or truncated weights")],
)
def test_mismatched_configs_are_one_line_errors(broken_runs, capsys, broken, message):
    result = use_cli(capsys, "sample", broken_runs[broken])
    assert result.returncode == 2 and len(result.lines) == 1 and message in result.lines[0], result.stderr


def test_missing_run_is_one_line_error(use_runs, capsys):
    result = use_cli(capsys, "sample", use_runs.base / "nowhere")
    assert result.returncode == 2 and len(result.lines) == 1 and "not a run directory" in result.lines[0]
