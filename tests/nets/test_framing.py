import pytest
import torch

from dirvae.nets.framing import overlap_add, reflect_pad


@pytest.mark.parametrize("pad", [0, 1, 7, 99])
def test_reflect_pad_is_torch_reflection_padding(pad):
    signals = torch.randn(3, 100, generator=torch.Generator().manual_seed(0))
    expected = torch.nn.functional.pad(signals[:, None], (pad, pad), mode="reflect")[:, 0]
    assert torch.equal(reflect_pad(signals, pad), expected)


def test_reflect_pad_refuses_a_pad_as_long_as_the_signal_like_torch():
    with pytest.raises(RuntimeError):
        reflect_pad(torch.zeros(2, 10), 10)


@pytest.mark.parametrize(("frame_length", "hop", "length"), [(32, 8, 100), (33, 8, 100), (16, 16, 64), (10, 3, 41), (8, 12, 50)])
def test_overlap_add_is_the_backward_of_unfold(frame_length, hop, length):
    """Including frames that do not tile the signal (the tail past the last frame gets no gradient) and hops longer than a frame."""
    generator = torch.Generator().manual_seed(1)
    signals = torch.randn(2, length, dtype=torch.float64, requires_grad=True)
    frames = signals.unfold(-1, frame_length, hop)
    gradient = torch.randn(frames.shape, generator=generator, dtype=torch.float64)
    (expected,) = torch.autograd.grad(frames, signals, gradient)
    torch.testing.assert_close(overlap_add(gradient, hop, length), expected)
