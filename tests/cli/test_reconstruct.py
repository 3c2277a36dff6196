import numpy as np
import pytest

from dirvae import DirichletVAE
from tests.cli.helpers import (
    AUDIO_SIZE,
    AUDIO_WINDOWS,
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


def test_digits_default_png_alternates_inputs_and_reconstructions(use_runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    result = ok(capsys, "reconstruct", use_runs.run("digits"), "digits#0", "digits#1", "digits#2")
    assert "reconstructions.png" in result.stdout
    picture = image_array(tmp_path / "reconstructions.png")
    assert picture.shape[::-1] == grid_size(6, 3, 28, 28)
    # The first row holds the inputs themselves: digit 0 exactly as the dataset gives it.
    from dirvae.data import digits

    expected = (digits(image_size=28)[0][0][0].numpy() * 255 + 0.5).astype(np.uint8)
    assert np.array_equal(picture[2:30, 2:30], expected)


def test_reconstructions_match_the_python_api(use_runs, tmp_path, capsys):
    run = use_runs.run("digits")
    ok(capsys, "reconstruct", run, "digits#5", "--out", tmp_path / "one")
    model = DirichletVAE.from_pretrained(run)
    from dirvae.data import digits

    x = digits(image_size=28)[5][0][None]
    expected = model.decode(model.encode(x).mean)[0, 0]
    pair = image_array(next((tmp_path / "one").glob("*.png")))
    assert pair.shape == (28, 28 * 2 + 2)
    assert np.array_equal(pair[:, 30:], (expected.clamp(0, 1).detach().numpy() * 255 + 0.5).astype(np.uint8))


def test_image_files_and_folders_as_gif_and_limit(use_runs, tmp_path, capsys):
    run, pics = use_runs.run("image"), use_runs.base / "pics"
    ok(capsys, "reconstruct", run, pics / "img000.png", pics, "--out", tmp_path / "r.gif")
    frames, duration, size = gif_info(tmp_path / "r.gif")
    assert size == (2 * IMAGE_SIZE + 2, IMAGE_SIZE) and duration == 7 * 250 and frames <= 7
    result = ok(capsys, "reconstruct", run, pics, "--limit", 4, "--out", tmp_path / "r.png")
    assert "first 4 items" in result.stderr
    assert image_size(tmp_path / "r.png") == grid_size(8, 4, IMAGE_SIZE, IMAGE_SIZE)


def test_stochastic_reconstructions_follow_the_seed(use_runs, tmp_path, capsys):
    run, pics = use_runs.run("image"), use_runs.base / "pics"
    for name, extra in [("mean", []), ("s0", ["--stochastic"]), ("s0b", ["--stochastic"]), ("s1", ["--stochastic", "--seed", "1"])]:
        ok(capsys, "reconstruct", run, pics, "--out", tmp_path / f"{name}.png", *extra)
    mean, s0, s0b, s1 = (image_array(tmp_path / f"{n}.png") for n in ("mean", "s0", "s0b", "s1"))
    assert np.array_equal(s0, s0b) and not np.array_equal(s0, s1) and not np.array_equal(mean, s0)


def test_audio_folder_and_single_wav(use_runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    run, sounds = use_runs.run("audio"), use_runs.base / "sounds"
    ok(capsys, "reconstruct", run, sounds / "tone0.wav", sounds / "tone1.wav#window=2")
    files = sorted(p.name for p in (tmp_path / "reconstructions").iterdir())
    assert files == [
        "000_tone0.input.wav", "000_tone0.reconstruction.wav",
        "001_tone1.input.wav", "001_tone1.reconstruction.wav",
    ]
    folder = tmp_path / "reconstructions"
    assert wav_info(folder / files[0]) == wav_info(folder / files[1]) == (AUDIO_WINDOWS * AUDIO_SIZE, SAMPLE_RATE, 1)
    assert wav_info(folder / files[3]) == (AUDIO_SIZE, SAMPLE_RATE, 1)
    result = ok(capsys, "reconstruct", run, sounds, "--limit", 4, "--out", "all.wav")
    assert "using the first 4 items" in result.stderr
    # tone0's windows, their reconstruction, then tone1's first window and its reconstruction.
    assert wav_info(tmp_path / "all.wav") == (2 * 4 * AUDIO_SIZE, SAMPLE_RATE, 1)


def test_limit_is_shared_over_the_inputs_and_mp3_reads(use_runs, tmp_path, capsys):
    from tests.data.builders import write_ffmpeg_audio

    run, sounds = use_runs.run("audio"), use_runs.base / "sounds"
    result = ok(capsys, "reconstruct", run, sounds / "tone0.wav", sounds / "tone1.wav", "--limit", 4, "--out", tmp_path / "r")
    assert "using 4 items, shared over the 2 inputs" in result.stderr
    for number, name in enumerate(("tone0", "tone1")):  # 2 windows of each, not 3 + 1
        assert wav_info(tmp_path / "r" / f"{number:03d}_{name}.input.wav") == (2 * AUDIO_SIZE, SAMPLE_RATE, 1)
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    mp3 = write_ffmpeg_audio(tmp_path / "x.mp3", (0.5 * np.sin(2 * np.pi * 330 * t))[:, None], SAMPLE_RATE, "libmp3lame")
    result = ok(capsys, "reconstruct", run, mp3, "--out", tmp_path / "m")
    assert wav_info(tmp_path / "m" / "000_x.input.wav") == (AUDIO_WINDOWS * AUDIO_SIZE, SAMPLE_RATE, 1)


def test_video_frames_side_by_side_in_an_mp4(use_runs, tmp_path, capsys):
    run, clip = use_runs.run("video"), use_runs.base / "clips" / "a.mp4"
    ok(capsys, "reconstruct", run, clip, "--limit", 5, "--out", tmp_path / "r.mp4")
    frames, size, _ = video_info(tmp_path / "r.mp4")
    assert frames == 5 and size == (2 * VIDEO_SIZE + 2, VIDEO_SIZE)
    ok(capsys, "reconstruct", run, f"{clip}#frame=3", "--out", tmp_path / "r.png")
    assert image_size(tmp_path / "r.png") == grid_size(2, 1, VIDEO_SIZE, VIDEO_SIZE)


def test_wrong_modality_input_through_the_cli(cli_errors):
    # The "input of the wrong modality or an unreadable file", as a user sees it.
    result, message = cli_errors["wrong_modality_file"]
    assert_one_line_error(result, message, "reconstruct")


@pytest.mark.parametrize(
    "run, input, message",
    [
        ("image", "broken.png", "unreadable or corrupt image file"),
        ("audio", "broken.wav", "unreadable or corrupt audio file"),
        ("audio", "pics/img000.png", "is an image file, but this run models audio"),
        ("image", "notes.txt", "is a text file, but this run models image"),
        ("image", "missing.png", "no such file"),
        ("video", "clips/a.mp4#frame=99", "has 12 frame(s)"),
        ("video", "clips/a.mp4#window=2", "a video file has no #window=; pick its items with"),
        ("audio", "sounds/tone0.wav#frame=1", "an audio file has no #frame="),
        ("image", "sounds", "holds audio files"),
        ("video", "broken.mp4", "unreadable or corrupt video file"),
    ],
)
def test_bad_inputs_are_one_line_errors(use_runs, capsys, run, input, message):
    result = use_cli(capsys, "reconstruct", use_runs.run(run), use_runs.base / input)
    assert result.returncode == 2 and len(result.lines) == 1, result.stderr
    assert result.lines[0].startswith("dirvae reconstruct: error: ") and message in result.lines[0], result.stderr


def test_non_square_inputs_are_reported_as_centre_cropped(use_runs, tmp_path, capsys):
    from PIL import Image

    wide = tmp_path / "wide.png"
    Image.fromarray((np.random.default_rng(0).random((20, 40, 3)) * 255).astype(np.uint8)).save(wide)
    result = ok(capsys, "reconstruct", use_runs.run("image"), wide, "--out", tmp_path / "r.png")
    assert "centre-cropped 1 non-square input" in result.stderr and "40x20" in result.stderr
    square = ok(capsys, "reconstruct", use_runs.run("image"), use_runs.base / "pics" / "img000.png", "--out", tmp_path / "s.png")
    assert "centre-cropped" not in square.stderr
