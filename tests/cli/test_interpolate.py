import numpy as np
import pytest
import torch

from dirvae import DirichletVAE
from dirvae.io import to_uint8
from tests.cli.helpers import (
    AUDIO_SIZE,
    IMAGE_SIZE,
    SAMPLE_RATE,
    VIDEO_SIZE,
    assert_one_line_error,
    distinct_frames,
    gif_info,
    grid_size,
    image_array,
    image_size,
    ok,
    use_cli,
    video_info,
    wav_info,
)


def _digits(*indices):
    from dirvae.data import digits

    data = digits(image_size=28)
    return [data[i][0][None] for i in indices]


def test_digits_default_gif_holds_every_step(use_runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run = use_runs.run("digits")
    result = ok(capsys, "interpolate", run, "digits#0", "digits#1", "--steps", 6, "--fps", 5)
    assert "interpolation.gif" in result.stdout and "6 steps" in result.stdout and "both ends" in result.stdout
    a, b = _digits(0, 1)
    expected = to_uint8(DirichletVAE.from_pretrained(run).interpolate(a, b, 6))
    frames, duration, size = gif_info(tmp_path / "interpolation.gif")
    # Every frame is [A | step | B] with 1-pixel gaps, enlarged 4x (28 px -> 112 px) for viewing.
    # Pillow merges a frame equal to the previous one: count what it keeps.
    assert size == ((3 * 28 + 2) * 4, 28 * 4) and duration == 6 * 200 and frames == distinct_frames(expected)
    from PIL import Image

    with Image.open(tmp_path / "interpolation.gif") as gif:
        first = np.asarray(gif.convert("L"))
    assert np.array_equal(first[::4, :112:4], to_uint8(a)[0, ..., 0])  # input A at the left, enlarged
    assert np.array_equal(first[::4, -112::4], to_uint8(b)[0, ..., 0])  # input B at the right


@pytest.mark.parametrize("path", ["mean", "concentration"])
def test_folder_of_steps_matches_the_python_api(use_runs, tmp_path, capsys, path):
    run = use_runs.run("digits")
    ok(capsys, "interpolate", run, "digits#3", "digits#4", "--steps", 4, "--path", path, "--out", tmp_path / "steps")
    a, b = _digits(3, 4)
    expected = to_uint8(DirichletVAE.from_pretrained(run).interpolate(a, b, 4, path=path))[..., 0]
    written = np.stack([image_array(tmp_path / "steps" / f"step_{i:03d}.png") for i in range(4)])
    assert np.array_equal(written, expected)


def test_the_two_paths_differ_between_the_ends_and_meet_at_them(use_runs):
    model = DirichletVAE.from_pretrained(use_runs.run("image"))
    from dirvae.runs import read_inputs, read_run

    x, _ = read_inputs(read_run(use_runs.run("image")), [use_runs.base / "pics/img000.png", use_runs.base / "pics/img001.png"])
    mean = model.interpolation_path(x[:1], x[1:], 5, "mean")
    blend = model.interpolation_path(x[:1], x[1:], 5, "concentration")
    posterior = model.encode(x)
    torch.testing.assert_close(mean[0], posterior.mean[0])
    torch.testing.assert_close(mean[-1], posterior.mean[1])
    torch.testing.assert_close(blend[0], posterior.mean[0])
    assert not torch.allclose(mean[2], blend[2])
    torch.testing.assert_close(mean.sum(dim=1), torch.ones_like(mean.sum(dim=1)))


def test_image_strip_and_mp4(use_runs, tmp_path, capsys):
    run, pics = use_runs.run("image"), use_runs.base / "pics"
    ok(capsys, "interpolate", run, pics / "img000.png", pics / "img001.png", "--steps", 5, "--out", tmp_path / "strip.png")
    # Input A, five steps, input B; enlarged 9x (14 px -> 126 px) for viewing.
    assert image_size(tmp_path / "strip.png") == grid_size(7, 7, IMAGE_SIZE * 9, IMAGE_SIZE * 9)
    ok(capsys, "interpolate", run, pics / "img000.png", pics / "img001.png", "--steps", 7, "--out", tmp_path / "i.mp4")
    frames, size, _ = video_info(tmp_path / "i.mp4")
    assert frames == 7 and size == (IMAGE_SIZE, IMAGE_SIZE)


def test_audio_is_one_wav_through_the_steps(use_runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    sounds = use_runs.base / "sounds"
    result = ok(capsys, "interpolate", use_runs.run("audio"), sounds / "tone0.wav", f"{sounds / 'tone2.wav'}#window=1", "--steps", 5)
    assert "interpolation.wav" in result.stdout
    assert wav_info(tmp_path / "interpolation.wav") == (5 * AUDIO_SIZE, SAMPLE_RATE, 1)
    # A plain file starts from its most energetic window, and the summary names it.
    assert "tone0.wav#window=" in result.stdout and "(its most energetic window)" in result.stdout
    assert "tone2.wav#window=1 " in result.stdout and result.stdout.count("most energetic") == 1


def test_video_default_is_an_mp4(use_runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    clip = use_runs.base / "clips" / "a.mp4"
    ok(capsys, "interpolate", use_runs.run("video"), f"{clip}#frame=0", f"{clip}#frame=11", "--steps", 6)
    frames, size, codec = video_info(tmp_path / "interpolation.mp4")
    assert frames == 6 and size == (VIDEO_SIZE, VIDEO_SIZE) and codec in ("h264", "mpeg4")


def test_truncated_weights_through_the_cli(cli_errors):
    result, message = cli_errors["truncated_weights"]
    assert_one_line_error(result, message, "interpolate")


@pytest.mark.parametrize(
    "run, args, message",
    [
        ("image", ["pics/img000.png", "pics/img001.png", "--out", "x.wav"], "an image interpolation can be written as"),
        ("audio", ["sounds/tone0.wav", "sounds/tone1.wav", "--out", "x.gif"], "an audio interpolation can be written as"),
        ("audio", ["broken.wav", "sounds/tone0.wav"], "unreadable or corrupt audio file"),
        ("image", ["pics/img000.png", "clips/a.mp4"], "is a video file, but this run models image"),
        ("image", ["pics/img000.png", "pics/img001.png", "--steps", "1"], "at least 2 steps"),
    ],
)
def test_bad_arguments_are_errors(use_runs, tmp_path, monkeypatch, capsys, run, args, message):
    monkeypatch.chdir(use_runs.base)
    result = use_cli(capsys, "interpolate", use_runs.run(run), *args)
    assert result.returncode == 2 and message in result.lines[-1], result.stderr
    assert len(result.lines) == 1 or result.lines[0].startswith("usage:"), result.stderr
