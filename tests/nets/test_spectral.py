"""STFT encoder and inverse-STFT decoder (nets/spectral.py): exact lengths, gradients, a run that builds by name."""

import pytest
import torch

from dirvae.nets.registry import build_networks
from dirvae.nets.spectral import ISTFTDecoder, STFTEncoder, stft_autoencoder

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {"n_fft": 128, "hop_length": 32, "width": 16}


@pytest.mark.parametrize("decoder_options", [{}, {"phase": "accumulated"}, {"phase": "vector"}, {"level_scale": 10.0}])
@pytest.mark.parametrize(("length", "channels", "stride"), [(16384, 1, 2), (4097, 1, 2), (4097, 2, 3), (1000, 1, 1), (31, 1, 2)])
def test_pair_keeps_the_exact_length(length, channels, stride, decoder_options):
    encoder, decoder = stft_autoencoder(length, channels, model_size=8, time_stride=stride, **decoder_options, **SMALL)
    x = torch.randn(2, channels, length)
    features = encoder(x)
    assert features.shape == (2, 8, encoder.output_length(length))
    assert decoder.input_length == encoder.output_length(length)
    assert decoder(features).shape == x.shape


def test_default_pair_covers_256_samples_a_latent_step():
    encoder, decoder = stft_autoencoder(16384)
    assert encoder.samples_per_step == 256 and encoder.output_length(16384) == 65
    assert encoder.out_channels == decoder.in_channels == 64


@pytest.mark.parametrize("decoder_options", [{}, {"level_scale": 10.0}, {"phase": "vector"}])
def test_decoder_starts_quiet_and_every_parameter_gets_a_gradient(decoder_options):
    encoder, decoder = stft_autoencoder(2048, 1, model_size=8, **decoder_options, **SMALL)
    output = decoder(encoder(0.3 * torch.randn(2, 1, 2048)))
    assert output.pow(2).mean().sqrt() < 0.05  # a loud random start would saturate the loss's tanh
    output.pow(2).sum().backward()
    for module in (encoder, decoder):
        for name, parameter in module.named_parameters():
            assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_decoder_can_produce_a_tone_it_is_given_as_a_spectrum():
    """The head's magnitude and phase really are an STFT: one bin at the tone's frequency gives the tone."""
    decoder = ISTFTDecoder(8, 1, sample_size=1024, n_fft=128, hop_length=32, width=16, time_stride=1)
    bins, frames = 65, decoder.frames
    with torch.no_grad():
        decoder.head.weight.zero_()
        decoder.head.bias.fill_(-30.0)  # silent magnitudes
        decoder.head.bias[8] = torch.log(torch.tensor(0.5 * 128 / 4))  # bin 8 at half scale
        decoder.head.bias[bins:] = 0.0  # phase 0 everywhere
    with torch.no_grad():
        wave = decoder(torch.zeros(1, 8, frames))[0, 0]
    spectrum = torch.fft.rfft(wave[256:768])
    assert int(spectrum.abs().argmax()) == 8 * 512 // 128
    assert 0.2 < float(wave[256:768].abs().max()) < 1.0  # a tone at about half scale (one bin, not a windowed sine's three)


def _one_bin_tone(phase: str, bin_index: int) -> torch.Tensor:
    """The decoder's output when its head asks for one bin at half scale and phase (or phase advance offset) 0."""
    decoder = ISTFTDecoder(8, 1, sample_size=2048, n_fft=128, hop_length=32, width=16, time_stride=1, phase=phase)
    with torch.no_grad():
        decoder.head.weight.zero_()
        decoder.head.bias.fill_(-30.0)
        decoder.head.bias[bin_index] = torch.log(torch.tensor(0.5 * 128 / 4))
        decoder.head.bias[65:] = 0.0
        return decoder(torch.zeros(1, 8, decoder.frames))[0, 0, 512:1536]


def test_head_starts_quiet_on_every_channel_and_accumulated_phases_start_coherent():
    decoder = ISTFTDecoder(8, 2, sample_size=1000, phase="accumulated", **SMALL)
    bias = decoder.head.bias.detach().reshape(2, 2, 65)
    assert torch.all(bias[:, 0] == torch.log(torch.tensor(1e-2 * 128 / 4)))  # both channels' magnitudes
    assert torch.all(bias[:, 1] == 0) and torch.all(decoder.head.weight.detach().reshape(2, 2, 65, -1)[:, 1] == 0)
    # Absolute phases keep their random start (what runs saved before the option had).
    assert decoder.head.weight.detach().reshape(2, 2, 65, -1)[:, 0].abs().sum() > 0
    assert ISTFTDecoder(8, 2, sample_size=1000, **SMALL).head.weight.detach().reshape(2, 2, 65, -1)[:, 1].abs().sum() > 0


def test_accumulated_phase_makes_a_steady_partial_coherent_across_frames():
    """Bin 6 of 128 turns by 3π/2 per 32-sample hop: absolute phase 0 in every frame cancels in the
    overlap-add, while a phase advance offset of 0 accumulates to exactly the bin's sine."""
    frequency = 6 * 1024 // 128
    coherent, frozen = (torch.fft.rfft(_one_bin_tone(phase, 6)).abs() for phase in ("accumulated", "absolute"))
    assert int(coherent.argmax()) == frequency
    assert coherent[frequency - 1 : frequency + 2].pow(2).sum() > 0.95 * coherent.pow(2).sum()  # one clean partial
    assert coherent.pow(2).sum() > 4 * frozen.pow(2).sum()


def test_vector_phase_is_the_direction_of_the_head_s_2_vector():
    """Rows (a, b) = (c, 0) give the tone of absolute phase 0 at any c well above the floor, and (0, c) turns it by π/2."""
    torch.manual_seed(0)
    decoder = ISTFTDecoder(8, 1, sample_size=1024, n_fft=128, hop_length=32, width=16, time_stride=1, phase="vector")
    assert decoder.head.out_channels == 3 * 65
    reference = ISTFTDecoder(8, 1, sample_size=1024, n_fft=128, hop_length=32, width=16, time_stride=1)
    tones = []
    for model, phase_rows in ((reference, {65: 0.0}), (decoder, {65: 1.0, 130: 0.0}), (decoder, {65: 7.0, 130: 0.0}), (decoder, {65: 0.0, 130: 3.0})):
        with torch.no_grad():
            model.head.weight.zero_()
            model.head.bias.fill_(-30.0)
            model.head.bias[8] = torch.log(torch.tensor(0.5 * 128 / 4))
            model.head.bias[65:] = 0.0
            for start, value in phase_rows.items():
                model.head.bias[start + 8] = value
            tones.append(model(torch.zeros(1, 8, model.frames))[0, 0])
    torch.testing.assert_close(tones[1], tones[0], rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(tones[2], tones[0], rtol=1e-3, atol=1e-4)
    # Bin 8 of 128 has a 16-sample period, a whole number per hop: phase π/2 is the same tone 4 samples earlier.
    torch.testing.assert_close(tones[3][300:700], tones[0][304:704], rtol=1e-3, atol=1e-4)


def test_frame_level_moves_every_bin_by_level_scale_nats_a_unit():
    torch.manual_seed(0)
    decoder = ISTFTDecoder(8, 2, sample_size=1000, level_scale=10.0, **SMALL)
    assert decoder.level is not None and ISTFTDecoder(8, 2, sample_size=1000, **SMALL).level is None
    h = torch.randn(1, 8, decoder.input_length)
    with torch.no_grad():
        loud = decoder(h)
        decoder.level.bias.fill_(-0.5)  # -5 nats on every bin of every frame: the waveform scales by e^-5
        quiet = decoder(h)
    torch.testing.assert_close(quiet, loud * torch.exp(torch.tensor(-5.0)), rtol=1e-4, atol=1e-9)


def test_encoder_and_decoder_refuse_wrong_shapes():
    with pytest.raises(ValueError, match="waveforms"):
        STFTEncoder(2, 8, **SMALL)(torch.randn(1, 1, 100))
    decoder = ISTFTDecoder(8, 1, sample_size=1000, **SMALL)
    with pytest.raises(ValueError, match="1000 samples"):
        decoder(torch.randn(1, 8, decoder.input_length + 1))
    with pytest.raises(ValueError, match="cannot cover"):
        ISTFTDecoder(8, 1, sample_size=1000, input_length=2, **SMALL)
    with pytest.raises(ValueError, match="phase"):
        ISTFTDecoder(8, 1, sample_size=1000, phase="instantaneous", **SMALL)
    with pytest.raises(ValueError, match="level_scale"):
        ISTFTDecoder(8, 1, sample_size=1000, level_scale=-1.0, **SMALL)


def test_registered_by_name_for_run_configs():
    encoder, decoder = build_networks("stft", {"sample_size": 4097, "channels": 1, "model_size": 8, **SMALL})
    assert isinstance(encoder, STFTEncoder) and isinstance(decoder, ISTFTDecoder)
