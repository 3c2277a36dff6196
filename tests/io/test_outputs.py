import csv

import numpy as np
import pytest
import soundfile
import torch
from PIL import Image

from dirvae.errors import DirvaeError
from dirvae.io import (
    LatentTable,
    check_output,
    output_kind,
    safe_stem,
    save_audio,
    save_audio_files,
    save_frames,
    save_gif,
    save_grid,
    save_image,
    save_pictures,
    save_sounds,
    save_strip,
    save_video,
    split_name,
    to_uint8,
)
from dirvae.latent.posterior import DirichletPosterior, GaussianPosterior


def _frames(n, c=3, h=10, w=12):
    return torch.linspace(0, 1, n)[:, None, None, None].expand(n, c, h, w).contiguous()


@pytest.mark.parametrize(
    "name, kind",
    [("a.png", "picture"), ("a.JPG", "picture"), ("a.gif", "gif"), ("a.mp4", "movie"), ("a.mkv", "movie"),
     ("a.wav", "sound"), ("a.flac", "sound"), ("l.csv", "csv"), ("l.npy", "npy"), ("out", "folder"), ("a.xyz", "unknown")],
)
def test_output_kind_follows_the_extension(name, kind):
    assert output_kind(name) == kind


def test_check_output_names_what_is_accepted(tmp_path):
    assert check_output(tmp_path / "x.gif", ("gif", "picture"), "it") == "gif"
    with pytest.raises(DirvaeError, match=r"--out .*x\.wav: samples can be written as an animated \.gif"):
        check_output(tmp_path / "x.wav", ("gif",), "samples")
    (tmp_path / "plain").write_text("")
    with pytest.raises(DirvaeError, match="is a file, not a folder"):
        check_output(tmp_path / "plain", ("folder",), "it")
    (tmp_path / "dir.png").mkdir()
    assert output_kind(tmp_path / "dir.png") == "folder"


def test_grid_strip_and_picture_formats(tmp_path):
    images = _frames(5)
    save_grid(images, tmp_path / "g.png", columns=2)
    assert Image.open(tmp_path / "g.png").size == (2 * 14 + 2, 3 * 12 + 2)
    save_strip(images, tmp_path / "s.jpg")
    with Image.open(tmp_path / "s.jpg") as picture:
        assert picture.format == "JPEG" and picture.size == (5 * 14 + 2, 14)
    save_image(images[0, :1], tmp_path / "gray.png")
    assert Image.open(tmp_path / "gray.png").mode == "L"
    with pytest.raises(DirvaeError):
        save_image(images[0], tmp_path / "x.gif")


def test_gif_has_a_frame_per_picture_and_merges_repeats(tmp_path):
    save_gif(_frames(6), tmp_path / "a.gif", fps=5)
    with Image.open(tmp_path / "a.gif") as gif:
        assert gif.n_frames == 6 and gif.size == (12, 10) and gif.info["loop"] == 0
        durations = []
        for i in range(gif.n_frames):
            gif.seek(i)
            durations.append(gif.info["duration"])
    assert durations == [200] * 6
    repeated = torch.cat([_frames(2), _frames(2)[1:].expand(3, -1, -1, -1)])
    save_gif(repeated, tmp_path / "r.gif", fps=10)
    with Image.open(tmp_path / "r.gif") as gif:
        total = 0
        for i in range(gif.n_frames):
            gif.seek(i)
            total += gif.info["duration"]
        assert gif.n_frames == 2 and total == 5 * 100


def test_mp4_keeps_every_frame_and_pads_odd_sizes(tmp_path):
    import av

    save_video(_frames(7, c=1, h=9, w=13), tmp_path / "v.mp4", fps=12)
    with av.open(str(tmp_path / "v.mp4")) as container:
        stream = container.streams.video[0]
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(stream)]
        assert (stream.codec_context.width, stream.codec_context.height) == (14, 10)
        assert float(stream.average_rate) == pytest.approx(12)
    assert len(frames) == 7
    # Dark first frame, bright last one (lossy, so roughly).
    assert frames[0].mean() < 30 and frames[-1].mean() > 220


def test_frames_folder_and_dispatch(tmp_path):
    paths = save_frames(_frames(3), tmp_path / "f", stem="step")
    assert [p.name for p in paths] == ["step_000.png", "step_001.png", "step_002.png"]
    assert "3 PNG files" in save_pictures(_frames(3), tmp_path / "g", "folder")
    assert save_pictures(_frames(3), tmp_path / "g.png", "picture").endswith("g.png")
    with pytest.raises(DirvaeError):
        save_pictures(_frames(3), tmp_path / "g.wav", "sound")


def test_sounds_one_file_or_a_folder(tmp_path):
    clips = torch.linspace(-1, 1, 3 * 100).reshape(3, 1, 100)
    save_audio(clips[0], tmp_path / "a.wav", 8000)
    data, rate = soundfile.read(tmp_path / "a.wav")
    assert rate == 8000 and data.shape == (100,) and data[0] == pytest.approx(-1, abs=1e-3)
    assert "back to back" in save_sounds(clips, tmp_path / "all.flac", "sound", 8000)
    assert soundfile.info(tmp_path / "all.flac").frames == 300
    paths = save_audio_files(clips, tmp_path / "clips", 8000, stem="sample")
    assert [p.name for p in paths] == ["sample_000.wav", "sample_001.wav", "sample_002.wav"]
    assert soundfile.info(paths[2]).frames == 100


def test_names():
    assert safe_stem("/data/sub/tone.wav#window=2") == "tone_window_2"
    assert safe_stem("a b.png") == "a_b"
    assert split_name("x/a.wav#window=3") == ("x/a.wav", "window", 3)
    assert split_name("digits#0007") == ("digits#0007", None, None)
    assert to_uint8(torch.ones(1, 1, 2, 2), rgb=True).shape == (1, 2, 2, 3)


@pytest.mark.parametrize(
    "rest, field, names",
    [
        ((), "flatten", ["z_0", "z_1", "z_2"]),
        ((1, 1), "flatten", ["z_0", "z_1", "z_2"]),
        ((2,), "average", ["z_0", "z_1", "z_2"]),
        ((2,), "flatten", ["z_0@0", "z_0@1", "z_1@0", "z_1@1", "z_2@0", "z_2@1"]),
        ((1, 2), "flatten", ["z_0@0_0", "z_0@0_1", "z_1@0_0", "z_1@0_1", "z_2@0_0", "z_2@0_1"]),
    ],
)
def test_latent_column_names(rest, field, names):
    table = LatentTable(3, rest, field=field)
    assert table.value_names("z") == names
    assert table.header == ["file", *names, *[n.replace("z_", "alpha_") for n in names]]


def test_latent_table_csv_and_npy(tmp_path):
    torch.manual_seed(0)
    alpha = torch.rand(2, 3, 4) + 0.5  # two items, K = 3, a field of 4 along time
    posterior = DirichletPosterior(alpha)
    names = ["a.wav#window=0", "a.wav#window=1"]
    table = LatentTable(3, (4,), field="average", index="window")
    assert table.write(tmp_path / "l.csv", [(names, posterior)]) == 2
    with open(tmp_path / "l.csv", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == ["file", "window", "z_0", "z_1", "z_2", "alpha_0", "alpha_1", "alpha_2"]
    assert rows[2][:2] == ["a.wav", "1"]
    z = np.array([float(v) for v in rows[1][2:5]])
    assert np.allclose(z, posterior.mean[0].mean(dim=1).numpy(), atol=1e-6) and z.sum() == pytest.approx(1, abs=1e-6)
    flat = LatentTable(3, (4,), field="flatten", index="window")
    flat.write(tmp_path / "l.npy", [(names[:1], DirichletPosterior(alpha[:1])), (names[1:], DirichletPosterior(alpha[1:]))])
    array = np.load(tmp_path / "l.npy", allow_pickle=False)
    assert array.dtype.names == ("file", "window", "z", "alpha")
    assert array["z"].shape == (2, 3, 4) and list(array["window"]) == [0, 1] and list(array["file"]) == ["a.wav"] * 2
    assert np.allclose(array["alpha"], alpha.numpy())
    with pytest.raises(DirvaeError):
        table.write(tmp_path / "l.txt", [])


def test_gaussian_latents_have_std_columns(tmp_path):
    posterior = GaussianPosterior(torch.zeros(1, 2), torch.zeros(1, 2))
    table = LatentTable(2, (), kind="gaussian")
    assert table.header == ["file", "z_0", "z_1", "std_0", "std_1"]
    table.write(tmp_path / "g.csv", [(["x.png"], posterior)])
    assert (tmp_path / "g.csv").read_text().splitlines()[1] == "x.png,0,0,1,1"


def test_mp4_quality_follows_crf(tmp_path):
    from dirvae.io import video_codec

    if video_codec() != "libx264":
        pytest.skip("crf applies to libx264 only")
    torch.manual_seed(0)
    frames = torch.rand(6, 3, 32, 32)  # noise: every bit of quality costs bytes
    fine = save_video(frames, tmp_path / "fine.mp4", crf=10).stat().st_size
    coarse = save_video(frames, tmp_path / "coarse.mp4", crf=40).stat().st_size
    assert coarse < fine / 2
