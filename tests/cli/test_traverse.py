import math

import numpy as np
import pytest

from dirvae import DirichletVAE
from dirvae.io import to_uint8
from tests.cli.helpers import (
    AUDIO_SIZE,
    IMAGE_SIZE,
    K,
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


def test_digits_default_grid_has_a_row_per_component(use_runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run = use_runs.run("digits")
    result = ok(capsys, "traverse", run)
    assert "traversal.png" in result.stdout and f"{K} components × 8 steps" in result.stdout
    picture = image_array(tmp_path / "traversal.png")
    assert picture.shape[::-1] == grid_size(K * 8, 8, 28, 28)
    expected = to_uint8(DirichletVAE.from_pretrained(run).traverse(8))[..., 0]
    # Row 2, column 5 is component 2 at step 5.
    top, left = 2 + 2 * 30, 2 + 5 * 30
    assert np.array_equal(picture[top : top + 28, left : left + 28], expected[2 * 8 + 5])


def test_traversal_starts_at_the_centre_and_moves_toward_each_vertex(use_runs):
    model = DirichletVAE.from_pretrained(use_runs.run("image"))
    latents = model.traversal_latents(steps=5, reach=1.0)
    assert latents.shape == (K * 5, K, 2, 2)
    rows = latents.view(K, 5, K, 2, 2)
    assert np.allclose(rows[:, 0].numpy(), 1.0 / K)
    for k in range(K):
        assert np.allclose(rows[k, -1, k].numpy(), 1.0)


def test_image_gif_animates_the_steps_and_folder_has_strips(use_runs, tmp_path, capsys):
    run = use_runs.run("image")
    ok(capsys, "traverse", run, "--steps", 5, "--out", tmp_path / "t.mp4")
    frames, size, _ = video_info(tmp_path / "t.mp4")
    columns = math.ceil(math.sqrt(K))
    assert frames == 5 and size == grid_size(K, columns, IMAGE_SIZE, IMAGE_SIZE)
    ok(capsys, "traverse", run, "--steps", 5, "--fps", 10, "--out", tmp_path / "t.gif")
    frames, duration, _ = gif_info(tmp_path / "t.gif")
    assert duration == 5 * 100 and 1 <= frames <= 5
    ok(capsys, "traverse", run, "--steps", 3, "--out", tmp_path / "strips")
    files = sorted(p.name for p in (tmp_path / "strips").iterdir())
    assert files == [f"component_{k:03d}.png" for k in range(K)]
    assert image_size(tmp_path / "strips" / files[0]) == grid_size(3, 3, IMAGE_SIZE, IMAGE_SIZE)


def test_audio_one_wav_per_component(use_runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run = use_runs.run("audio")
    ok(capsys, "traverse", run, "--steps", 2)
    files = sorted((tmp_path / "traversal").glob("*.wav"))
    assert [f.name for f in files] == [f"component_{k:03d}.wav" for k in range(K)]
    assert all(wav_info(f) == (2 * AUDIO_SIZE, SAMPLE_RATE, 1) for f in files)


def test_video_frames_grid(use_runs, tmp_path, capsys):
    ok(capsys, "traverse", use_runs.run("video"), "--steps", 4, "--reach", 1, "--out", tmp_path / "t.png")
    assert image_size(tmp_path / "t.png") == grid_size(K * 4, 4, VIDEO_SIZE, VIDEO_SIZE)


def test_mismatched_config_through_the_cli(cli_errors):
    result, message = cli_errors["mismatched_config"]
    assert_one_line_error(result, message, "traverse")


@pytest.mark.parametrize(
    "args, message",
    [(["--reach", "1.5"], "at most 1"), (["--steps", "1"], "at least 2"), (["--out", "t.csv"], "traversal can be written as")],
)
def test_bad_options_are_errors(use_runs, capsys, args, message):
    result = use_cli(capsys, "traverse", use_runs.run("digits"), *args)
    assert result.returncode == 2 and message in result.lines[-1], result.stderr
