import math

import pytest
import torch

from dirvae.losses.reconstruction import ReconstructionLoss, make_reconstruction_loss
from dirvae.losses.spectral import MultiResolutionSTFTLoss, spectral_distance

RATE = 16000


pytestmark = pytest.mark.usefixtures("one_thread")


def _sine(frequency: float = 440.0, phase: float = 0.0, length: int = 4096, amplitude: float = 0.5) -> torch.Tensor:
    t = torch.arange(length) / RATE
    return amplitude * torch.sin(2 * math.pi * frequency * t + phase)


def _as_raw(signal: torch.Tensor) -> torch.Tensor:
    """The raw decoder output whose tanh is ``signal``."""
    return torch.atanh(signal.clamp(-0.999, 0.999))


def _noise(length: int = 4096, scale: float = 0.3, seed: int = 0) -> torch.Tensor:
    return (scale * torch.randn(length, generator=torch.Generator().manual_seed(seed))).clamp(-0.9, 0.9)


def test_is_a_reconstruction_loss_with_tanh_mean():
    loss = MultiResolutionSTFTLoss()
    assert isinstance(loss, ReconstructionLoss)
    assert isinstance(make_reconstruction_loss("stft"), MultiResolutionSTFTLoss)
    raw = torch.tensor([-10.0, 0.0, 0.5])
    torch.testing.assert_close(loss.mean(raw), torch.tanh(raw))
    torch.testing.assert_close(MultiResolutionSTFTLoss(squash=False).mean(raw), raw)


def test_identical_signals_score_zero():
    target = torch.stack([_sine(), _noise()]).unsqueeze(1)
    unsquashed = MultiResolutionSTFTLoss(squash=False)(target, target)
    assert unsquashed.shape == (2,)
    assert (unsquashed == 0).all()
    # Through tanh only float round-off remains, far below any real difference.
    squashed = MultiResolutionSTFTLoss()(_as_raw(target), target)
    slightly_off = MultiResolutionSTFTLoss()(_as_raw(target * 0.99), target)
    assert (squashed < 1e-2 * slightly_off).all()


def test_grows_with_the_difference():
    loss = MultiResolutionSTFTLoss()
    target = _sine().reshape(1, 1, -1)
    values = [loss(_as_raw(target + _noise(scale=s).reshape(1, 1, -1)), target).item() for s in (0.003, 0.03, 0.3)]
    assert 0 < values[0] < values[1] < values[2]


def test_a_phase_shift_costs_far_less_than_noise():
    target = _sine().reshape(1, 1, -1)
    shifted = _as_raw(_sine(phase=math.pi / 2).reshape(1, 1, -1))
    noise = _as_raw(_noise().reshape(1, 1, -1))
    spectral_only = MultiResolutionSTFTLoss(waveform_weight=0.0)
    assert spectral_only(shifted, target) < 0.1 * spectral_only(noise, target)
    full = MultiResolutionSTFTLoss()
    assert full(shifted, target) < full(noise, target)
    # A sample-wise loss cannot tell: the shifted sine is about as far off as the noise in L1.
    assert (_sine(phase=math.pi / 2) - _sine()).abs().mean() > 0.8 * (_noise() - _sine()).abs().mean()


def test_one_value_per_sample_and_channels_are_averaged():
    loss = MultiResolutionSTFTLoss(reduction="mean")
    a, b = _sine(length=1000), _noise(length=1000)
    first = loss(_as_raw(b).reshape(1, 1, -1), a.reshape(1, 1, -1))
    second = loss(_as_raw(a).reshape(1, 1, -1), b.reshape(1, 1, -1))
    stereo = loss(torch.stack([_as_raw(b), _as_raw(a)]).reshape(1, 2, -1), torch.stack([a, b]).reshape(1, 2, -1))
    torch.testing.assert_close(stereo, (first + second) / 2)
    batch = loss(torch.stack([_as_raw(b), _as_raw(a)]).reshape(2, 1, -1), torch.stack([a, b]).reshape(2, 1, -1))
    torch.testing.assert_close(batch, torch.cat([first, second]))
    # [B, T] is a single channel.
    torch.testing.assert_close(loss(_as_raw(b).reshape(1, -1), a.reshape(1, -1)), first)


def test_sum_reduction_scales_by_the_number_of_elements():
    output, target = torch.randn(3, 2, 700), 0.5 * torch.randn(3, 2, 700).tanh()
    mean = MultiResolutionSTFTLoss(reduction="mean")(output, target)
    total = MultiResolutionSTFTLoss()(output, target)
    torch.testing.assert_close(total, mean * 2 * 700)


def test_resolutions_longer_than_the_signal_are_skipped():
    output, target = torch.randn(2, 1, 300), torch.randn(2, 1, 300).tanh()
    torch.testing.assert_close(
        MultiResolutionSTFTLoss()(output, target),
        MultiResolutionSTFTLoss(fft_sizes=(256, 128, 64))(output, target),
    )
    # Shorter than every FFT size: only the waveform term is left.
    short_output, short_target = torch.randn(2, 1, 40), torch.randn(2, 1, 40).tanh()
    expected = (short_output.tanh() - short_target).abs().mean(dim=(1, 2))
    torch.testing.assert_close(MultiResolutionSTFTLoss(reduction="mean")(short_output, short_target), expected)


def test_waveform_term_norm_and_weight():
    output, target = torch.randn(2, 1, 32), torch.zeros(2, 1, 32)
    l2 = MultiResolutionSTFTLoss(waveform_norm="l2", waveform_weight=2.0, reduction="mean")(output, target)
    torch.testing.assert_close(l2, 2.0 * output.tanh().pow(2).mean(dim=(1, 2)))


def test_spectral_convergence_is_bounded_for_a_silent_target():
    silent = torch.zeros(1, 2048)
    quiet = 0.01 * _noise(2048).reshape(1, -1)
    quiet_value = spectral_distance(quiet, silent, 256, 64)
    loud_value = spectral_distance(10 * quiet, silent, 256, 64)
    assert torch.isfinite(loud_value).all()
    # ‖S_p‖ / ‖S_t‖ would be ~1e5 here and grow tenfold; bounded convergence plus the
    # log term grow by at most log(10) + 1.
    assert loud_value.item() < 30.0
    assert 0 < (loud_value - quiet_value).item() <= math.log(10) + 1


def test_gradients_are_finite_and_correct():
    target = (_sine(length=1024) + _sine(1200.0, length=1024, amplitude=0.2)).reshape(1, 1, -1)
    loss = MultiResolutionSTFTLoss(fft_sizes=(256, 128, 64), reduction="mean")
    # At exactly silent output and at an exact match the gradient must still be finite.
    silent = torch.zeros(1, 1, 1024, requires_grad=True)
    loss(silent, target).sum().backward()
    assert torch.isfinite(silent.grad).all() and silent.grad.abs().sum() > 0
    matched = target.clone().requires_grad_()
    MultiResolutionSTFTLoss(squash=False)(matched, target).sum().backward()
    assert torch.isfinite(matched.grad).all()


def test_spectral_distance_gradient_matches_finite_differences():
    generator = torch.Generator().manual_seed(1)
    prediction = (0.3 * torch.randn(2, 96, generator=generator, dtype=torch.float64)).requires_grad_()
    target = 0.3 * torch.randn(2, 96, generator=generator, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda p: spectral_distance(p, target, 32, 8), (prediction,))


def test_gradient_descent_on_a_waveform_reduces_the_loss():
    noise = 0.01 * torch.randn(1024, generator=torch.Generator().manual_seed(0))
    target = (_sine(length=1024) + _sine(1200.0, length=1024, amplitude=0.2) + noise).reshape(1, 1, -1)
    raw = (0.1 * torch.randn(1, 1, 1024, generator=torch.Generator().manual_seed(1))).requires_grad_()
    loss = MultiResolutionSTFTLoss(fft_sizes=(256, 128, 64))
    optimiser = torch.optim.Adam([raw], lr=0.01)
    start = loss(raw, target).item()
    for _ in range(40):
        value = loss(raw, target).sum()
        optimiser.zero_grad()
        value.backward()
        optimiser.step()
    assert loss(raw, target).item() < 0.75 * start


def test_runs_in_float32_under_autocast():
    output, target = torch.randn(2, 1, 1024), torch.randn(2, 1, 1024).tanh()
    loss = MultiResolutionSTFTLoss()
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        value = loss(output.bfloat16(), target.bfloat16())
    assert value.dtype == torch.float32
    torch.testing.assert_close(value, loss(output.bfloat16().float(), target.bfloat16().float()))


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        MultiResolutionSTFTLoss(hop_fraction=0.0)
    with pytest.raises(ValueError):
        MultiResolutionSTFTLoss(reduction="none")
    with pytest.raises(ValueError, match="differ"):
        MultiResolutionSTFTLoss()(torch.zeros(1, 1, 100), torch.zeros(1, 1, 101))


def _reference_log_mel(signal: torch.Tensor, n_fft: int, hop: int, filters: torch.Tensor, floor: float) -> torch.Tensor:
    """ln(mel + floor) by hand in float64: reflect-padded frames, periodic Hann, |rfft|."""
    padded = torch.nn.functional.pad(signal.double().reshape(1, 1, -1), (n_fft // 2, n_fft // 2), mode="reflect").reshape(-1)
    frames = padded.unfold(0, n_fft, hop) * torch.hann_window(n_fft, dtype=torch.float64)
    return torch.log(filters.double() @ torch.fft.rfft(frames).abs().T + floor)


def test_log_mel_distance_is_hifigan_mel_l1():
    from dirvae.losses.spectral import log_mel_distance
    from dirvae.nets.melresnet import mel_filterbank

    filters = mel_filterbank(256, 20, RATE)
    a, b = _sine(length=2048), _noise(length=2048)
    expected = (_reference_log_mel(a, 256, 64, filters, 1e-5) - _reference_log_mel(b, 256, 64, filters, 1e-5)).abs().mean()
    value = log_mel_distance(a[None], b[None], filters, 256, 64, 1e-5)
    torch.testing.assert_close(value, expected[None].float(), rtol=1e-4, atol=1e-4)


def test_mel_term_is_off_by_default_and_adds_its_weighted_distance():
    from dirvae.losses.spectral import log_mel_distance

    output, target = _as_raw(_noise(length=4096, seed=1)).reshape(1, 1, -1), _sine(length=4096).reshape(1, 1, -1)
    plain = MultiResolutionSTFTLoss(reduction="mean")
    assert plain.mel_weight == 0.0 and plain.config_options()["mel_weight"] == 0.0
    with_mel = MultiResolutionSTFTLoss(reduction="mean", mel_weight=0.5)
    mel = log_mel_distance(output.tanh().reshape(1, -1), target.reshape(1, -1), with_mel.mel_filters, 1024, 256, 1e-5)
    torch.testing.assert_close(with_mel(output, target), plain(output, target) + 0.5 * mel)
    with pytest.raises(ValueError, match="mel_weight"):
        MultiResolutionSTFTLoss(mel_weight=-1.0)


def test_mel_term_pays_for_noise_in_a_pause_that_the_stft_terms_accept():
    """Noise at -80 dB where the target is silent lies below the STFT terms' floor but far above the mel floor."""
    silent = torch.zeros(1, 1, 4096)
    hiss = _as_raw(1e-4 * _noise(length=4096, scale=1.0)).reshape(1, 1, -1)
    stft_only = MultiResolutionSTFTLoss(reduction="mean", waveform_weight=0.0, fft_sizes=(2048, 512, 128))
    with_mel = MultiResolutionSTFTLoss(reduction="mean", waveform_weight=0.0, fft_sizes=(2048, 512, 128), mel_weight=1.0)
    # Per resolution, spectral convergence (bounded by 1) plus a log term that sees the hiss only faintly.
    assert stft_only(hiss, silent).item() / 3 < 0.5
    assert with_mel(hiss, silent).item() - stft_only(hiss, silent).item() > 3.0


@pytest.mark.parametrize("n_fft", [32, 33])
def test_stft_magnitude_is_torch_stft_magnitude_and_its_gradient_is_exact(n_fft):
    """The magnitude's hand-written backward (one irfft) against finite differences, even and odd FFT sizes."""
    from dirvae.losses.spectral import stft_magnitude

    generator = torch.Generator().manual_seed(2)
    signals = (0.3 * torch.randn(2, 100, generator=generator, dtype=torch.float64)).requires_grad_()
    signals.data[1, 40:60] = 0.0  # silent frames: the offset keeps the gradient finite
    window = torch.hann_window(n_fft, dtype=torch.float64)
    for pad_mode in ("reflect", "constant"):
        power = torch.stft(signals, n_fft, 8, window=window, center=True, pad_mode=pad_mode, return_complex=True).abs() ** 2
        value = stft_magnitude(signals, n_fft, 8, window, divisor=3.0, offset=1e-4, pad_mode=pad_mode)
        torch.testing.assert_close(value, torch.sqrt(power / 3.0 + 1e-4).transpose(1, 2))
        assert torch.autograd.gradcheck(lambda s: stft_magnitude(s, n_fft, 8, window, divisor=3.0, offset=1e-4, pad_mode=pad_mode), (signals,))
    with pytest.raises(ValueError, match="offset"):
        stft_magnitude(signals, n_fft, 8, window, offset=0.0)


def _torch_stft_magnitude(signals: torch.Tensor, n_fft: int, hop: int, floor: float) -> torch.Tensor:
    """The loss's magnitudes as the module computed them before ``stft_magnitude`` (autograd through ``torch.stft``)."""
    window = torch.hann_window(n_fft, dtype=signals.dtype)
    spectrum = torch.stft(signals, n_fft, hop, window=window, center=True, return_complex=True)
    return torch.sqrt((spectrum.real**2 + spectrum.imag**2) / window.sum() ** 2 + floor**2)


def test_loss_terms_match_autograd_through_torch_stft_in_float32():
    """The speech benchmark's loss (three resolutions + the mel term) on 2^14 samples: values and gradients as before."""
    from dirvae.losses.spectral import MAGNITUDE_FLOOR, log_mel_distance

    generator = torch.Generator().manual_seed(3)
    prediction = (0.3 * torch.randn(3, 16384, generator=generator)).requires_grad_()
    target = 0.3 * torch.randn(3, 16384, generator=generator)
    target[:, 4000:6000] = 0.0  # a pause: magnitudes at the floor
    loss = MultiResolutionSTFTLoss(mel_weight=4.0)
    window = torch.hann_window(1024)
    for n_fft in (2048, 512, 128):
        predicted, expected = (_torch_stft_magnitude(s, n_fft, n_fft // 4, MAGNITUDE_FLOOR) for s in (prediction, target))
        convergence = torch.linalg.vector_norm(expected - predicted, dim=(1, 2)) / (
            torch.linalg.vector_norm(expected, dim=(1, 2)) + torch.linalg.vector_norm(predicted, dim=(1, 2))
        )
        reference = convergence + (expected.log() - predicted.log()).abs().mean(dim=(1, 2))
        value = spectral_distance(prediction, target, n_fft, n_fft // 4)
        torch.testing.assert_close(value, reference)
        torch.testing.assert_close(*(torch.autograd.grad(v.sum(), prediction)[0] for v in (value, reference)), rtol=1e-4, atol=1e-9)
    mels = [
        torch.log(
            loss.mel_filters @ torch.sqrt(torch.view_as_real(torch.stft(s, 1024, 256, window=window, return_complex=True)).square().sum(-1) + 1e-16)
            + 1e-5
        )
        for s in (prediction, target)
    ]
    reference = (mels[0] - mels[1]).abs().mean(dim=(1, 2))
    value = log_mel_distance(prediction, target, loss.mel_filters, 1024, 256, 1e-5)
    torch.testing.assert_close(value, reference)
    torch.testing.assert_close(*(torch.autograd.grad(v.sum(), prediction)[0] for v in (value, reference)), rtol=1e-4, atol=1e-9)


def _autograd_convergence_plus_log_l1(predicted: torch.Tensor, expected: torch.Tensor) -> torch.Tensor:
    difference = torch.linalg.vector_norm(expected - predicted, dim=(1, 2))
    scale = torch.linalg.vector_norm(expected, dim=(1, 2)) + torch.linalg.vector_norm(predicted, dim=(1, 2))
    return difference / scale + (expected.log() - predicted.log()).abs().mean(dim=(1, 2))


def test_convergence_plus_log_l1_backward_is_exact_for_both_inputs_and_where_they_match():
    from dirvae.losses.spectral import _ConvergencePlusLogL1

    generator = torch.Generator().manual_seed(4)
    predicted = (torch.rand(3, 5, 7, generator=generator, dtype=torch.float64) + 0.1).requires_grad_()
    expected = (torch.rand(3, 5, 7, generator=generator, dtype=torch.float64) + 0.1).requires_grad_()
    assert torch.autograd.gradcheck(_ConvergencePlusLogL1.apply, (predicted, expected))
    torch.testing.assert_close(_ConvergencePlusLogL1.apply(predicted, expected), _autograd_convergence_plus_log_l1(predicted, expected))
    # Signal 1 matched exactly: autograd's norm gradient is 0 there (no 0/0), and so must this one be.
    same = torch.cat([expected[:1].detach() * 1.5, expected[1:2].detach(), expected[2:].detach() * 0.5]).requires_grad_()
    target = expected.detach()
    fused = torch.autograd.grad(_ConvergencePlusLogL1.apply(same, target).sum(), same)[0]
    reference = torch.autograd.grad(_autograd_convergence_plus_log_l1(same, target).sum(), same)[0]
    assert torch.isfinite(fused).all()
    torch.testing.assert_close(fused, reference)
