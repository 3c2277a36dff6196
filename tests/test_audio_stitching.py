"""Overlap-add stitching: exact for an identity model, and no clicks where windows used to meet."""

import math

import pytest
import torch

from dirvae import DirichletVAE
from dirvae.io.stitching import (
    contiguous_runs,
    frame_count,
    frames,
    join_clips,
    overlap_add,
    stitch,
    synthesis_window,
)
from dirvae.losses import MultiResolutionSTFTLoss
from dirvae.nets.audio import wave_autoencoder

pytestmark = pytest.mark.usefixtures("one_thread")

RATE = 8000
SIZE = 512


def _speechlike(length: int, seed: int = 0) -> torch.Tensor:
    """A gliding harmonic tone under a slow envelope: smooth, like voiced speech."""
    generator = torch.Generator().manual_seed(seed)
    t = torch.arange(length, dtype=torch.float64) / RATE
    pitch = 140 + 60 * torch.sin(2 * math.pi * 0.7 * t)
    phase = 2 * math.pi * torch.cumsum(pitch, 0) / RATE
    tone = sum(torch.sin(k * phase) / k for k in range(1, 6))
    envelope = 0.3 + 0.2 * torch.sin(2 * math.pi * 1.3 * t + float(torch.rand(1, generator=generator)))
    return (0.4 * envelope * tone).float()[None]


def _boundary_jump(output: torch.Tensor, size: int) -> tuple[float, float]:
    """(largest step across a former window boundary k·size, the output's 99th-percentile step)."""
    steps = output[0].diff().abs()
    boundaries = torch.arange(size, output.shape[-1], size)
    return float(steps[boundaries - 1].max()), float(torch.quantile(steps, 0.99))


@pytest.mark.parametrize(("length", "size", "hop"), [(10_000, 2048, None), (5, 2048, None), (4097, 1000, None), (3001, 999, 250)])
def test_identity_windows_give_the_signal_back(length, size, hop):
    signal = torch.randn(2, length)
    windows = frames(signal, size, hop)
    assert windows.shape == (frame_count(length, size, hop), 2, size)
    assert torch.equal(overlap_add(windows, length, hop), signal)
    assert torch.equal(stitch(signal, size, lambda chunk: chunk.clone(), hop=hop, batch_size=3), signal)


def test_half_overlap_hann_copies_sum_to_one():
    window = synthesis_window(SIZE, torch.float64)
    assert window[0] == 0
    assert torch.allclose(window[: SIZE // 2] + window[SIZE // 2 :], torch.ones(SIZE // 2, dtype=torch.float64))


def test_windows_must_overlap():
    with pytest.raises(ValueError, match="overlap"):
        frames(torch.zeros(1, 100), 10, 10)


def test_contiguous_runs_split_where_window_numbers_skip():
    assert contiguous_runs([0, 1, 2, 5, 6, 2]) == [[0, 1, 2], [3, 4], [5]]


def _tiny_model() -> DirichletVAE:
    torch.manual_seed(0)
    encoder, decoder = wave_autoencoder(SIZE, 1, model_size=4, widths=(8, 16), strides=(4, 4), dilations=(1, 3))
    return DirichletVAE(
        model_size=4, encoder=encoder, decoder=decoder, reconstruction=MultiResolutionSTFTLoss(fft_sizes=(256, 64))
    )


def _reconstruct(model: DirichletVAE, windows: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.decode(model.encode(windows).mean)


def _check_no_clicks(model: DirichletVAE) -> tuple[float, float]:
    """Assert the stitched output has no boundary jumps; return (jump, p99) of the windows edge to edge."""
    signal = _speechlike(6 * SIZE)
    model.eval()
    output = stitch(signal, SIZE, lambda windows: _reconstruct(model, windows))
    assert output.shape == signal.shape
    jump, p99 = _boundary_jump(output, SIZE)
    assert jump <= p99, (jump, p99)
    edge_to_edge = _reconstruct(model, signal.reshape(1, 6, SIZE).permute(1, 0, 2)).permute(1, 0, 2).reshape(1, -1)
    return _boundary_jump(edge_to_edge, SIZE)


def test_an_untrained_model_stitched_has_no_boundary_clicks():
    _check_no_clicks(_tiny_model())


def test_a_briefly_trained_model_stitched_has_no_boundary_clicks():
    model = _tiny_model()
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    data = torch.cat([frames(_speechlike(4 * SIZE, seed), SIZE) for seed in range(4)])
    for _ in range(30):
        optimiser.zero_grad()
        model.loss(data).total.backward()
        optimiser.step()
    jump, p99 = _check_no_clicks(model)
    # Its output is no longer white noise, and edge to edge the same windows click: the check can fail.
    assert jump > p99


def test_join_clips_fades_every_join_and_keeps_lengths():
    clips = torch.full((3, 1, 400), 0.5)
    joined = join_clips(clips, RATE)
    assert joined.shape == (1, 1200)
    fade = round(0.005 * RATE)
    assert float(joined.diff().abs().max()) < 0.5 / fade * 2
    assert torch.equal(joined[0, fade : 400 - fade], clips[0, 0, fade : 400 - fade])
