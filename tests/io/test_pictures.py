import numpy as np
import soundfile
import torch
from PIL import Image

from dirvae.io import make_grid, save_audio, save_image, side_by_side


def test_grid_places_each_image():
    images = torch.stack([torch.full((3, 4, 5), v / 10) for v in range(5)])
    grid = make_grid(images, columns=3, padding=1)
    assert grid.shape == (3, 2 * 5 + 1, 3 * 6 + 1)
    torch.testing.assert_close(grid[:, 6:10, 7:12], images[4])


def test_side_by_side_alternates_rows_and_png_round_trips(tmp_path):
    inputs, outputs = torch.zeros(3, 1, 4, 4), torch.ones(3, 1, 4, 4)
    grid = side_by_side(inputs, outputs)
    path = save_image(grid, tmp_path / "g.png")
    array = np.asarray(Image.open(path))
    assert array.shape == tuple(grid.shape[1:])
    assert array[2, 2] == 0 and array[2 + 4 + 2, 2] == 255


def test_wav_round_trip(tmp_path):
    audio = torch.sin(torch.linspace(0, 100, 800)).unsqueeze(0) * 0.5
    path = save_audio(audio, tmp_path / "a.wav", 8000)
    data, rate = soundfile.read(path)
    assert rate == 8000 and data.shape == (800,)
    assert np.abs(data - audio[0].numpy()).max() < 1e-3


def test_every_picture_writer_goes_through_one_uint8_path(tmp_path):
    from dirvae.io import save_gif, save_grid, to_uint8

    frames = torch.rand(2, 3, 6, 6)
    save_grid(frames[:1], tmp_path / "one.png", columns=1, padding=0)
    save_gif(frames, tmp_path / "two.gif", fps=2)
    png = np.asarray(Image.open(tmp_path / "one.png"))
    assert np.array_equal(png, to_uint8(frames[:1])[0])
