"""benchmarks/video.py's parts: the clip synthesiser, its read-back through the library, the thumbnail baselines."""

import numpy as np
import pytest
import torch
from PIL import Image

from dirvae.errors import DirvaeError
from dirvae.io import video_codec
from tests.conftest import load_benchmark


@pytest.fixture(scope="module")
def video():
    """benchmarks/video.py as a module (it puts benchmarks/ on sys.path itself, for photos.py)."""
    return load_benchmark("video")


@pytest.fixture(scope="module")
def codec():
    try:
        return video_codec()
    except DirvaeError:
        pytest.skip("this PyAV's FFmpeg has neither libx264 nor mpeg4")


@pytest.fixture
def photo(tmp_path):
    """A smooth colourful picture, bigger than the largest camera window on one side only."""
    y, x = np.mgrid[0:200, 0:300].astype(np.float32)
    pixels = np.stack([x / 300, y / 200, 0.5 + 0.4 * np.sin(x / 17) * np.cos(y / 23)], axis=-1)
    path = tmp_path / "picture.png"
    Image.fromarray((pixels * 255).round().astype(np.uint8)).save(path)
    return path


@pytest.mark.parametrize("move", ["pan", "zoom-in", "zoom-out", "pan-zoom"])
def test_camera_moves_are_smooth_square_windows_inside_the_photo(video, move):
    boxes = video.camera_path(300, 200, move, 24, np.random.default_rng(3))
    left, top, right, bottom = boxes.T
    assert boxes.shape == (24, 4)
    assert (left >= -1e-6).all() and (top >= -1e-6).all() and (right <= 300 + 1e-6).all() and (bottom <= 200 + 1e-6).all()
    np.testing.assert_allclose(right - left, bottom - top)
    assert ((right - left) >= 64 - 1e-6).all()
    side = right - left
    if move in ("zoom-in", "pan-zoom"):
        assert side[-1] < side[0]
    elif move == "zoom-out":
        assert side[-1] > side[0]
    # no jumps: no step moves the window by more than a fifth of its side
    assert np.abs(np.diff(boxes, axis=0)).max() < side.min() / 5


def test_clips_decode_through_the_library_with_every_frame(video, codec, photo, tmp_path):
    written = video.write_clips(photo, tmp_path / "clips", clips=2, frames=7, crf=23, seed=0)
    assert len(written) == 2 and all((tmp_path / "clips" / name).stat().st_size > 0 for name in written)
    frames, order = video.read_frames(tmp_path / "clips")
    assert frames.shape == (14, 3, 64, 64) and sorted(order) == sorted(written)
    rendered = torch.from_numpy(np.concatenate([written[name] for name in order]).astype(np.float32) / 255).permute(0, 3, 1, 2)
    # lossy, but the same pictures in the same order
    assert video.psnr(float(((frames - rendered) ** 2).mean())) > 25


def test_thumbnails_are_exact_on_a_constant_frame(video):
    constant = torch.full((2, 3, 64, 64), 0.3)
    assert torch.allclose(video.thumbnails(constant, 8), constant, atol=1e-6)


def test_thumbnails_beat_the_mean_colour_on_a_smooth_frame_and_finer_beats_coarser(video):
    y, x = torch.meshgrid(torch.linspace(0, 1, 64), torch.linspace(0, 1, 64), indexing="ij")
    frames = torch.stack([x, y, 0.5 + 0.4 * torch.sin(6 * x) * torch.cos(4 * y)]).unsqueeze(0)
    mean = video.mean_colour_psnr(frames)
    four, eight = video.thumbnail_psnr(frames, 4), video.thumbnail_psnr(frames, 8)
    assert mean + 5 < four < eight
