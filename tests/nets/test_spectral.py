"""STFT encoder and inverse-STFT decoder (nets/spectral.py): exact lengths, gradients, a run that builds by name."""

import pytest
import torch

from dirvae.nets.registry import build_networks
from dirvae.nets.spectral import ISTFTDecoder, STFTEncoder, stft_autoencoder

pytestmark = pytest.mark.usefixtures("one_thread")

SMALL = {"n_fft": 128, "hop_length": 32, "width": 16}


@pytest.mark.parametrize(("length", "channels", "stride"), [(16384, 1, 2), (4097, 1, 2), (4097, 2, 3), (1000, 1, 1), (31, 1, 2)])
def test_pair_keeps_the_exact_length(length, channels, stride):
    encoder, decoder = stft_autoencoder(length, channels, model_size=8, time_stride=stride, **SMALL)
    x = torch.randn(2, channels, length)
    features = encoder(x)
    assert features.shape == (2, 8, encoder.output_length(length))
    assert decoder.input_length == encoder.output_length(length)
    assert decoder(features).shape == x.shape


def test_default_pair_covers_256_samples_a_latent_step():
    encoder, decoder = stft_autoencoder(16384)
    assert encoder.samples_per_step == 256 and encoder.output_length(16384) == 65
    assert encoder.out_channels == decoder.in_channels == 64


def test_decoder_starts_quiet_and_every_parameter_gets_a_gradient():
    encoder, decoder = stft_autoencoder(2048, 1, model_size=8, **SMALL)
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


def test_encoder_and_decoder_refuse_wrong_shapes():
    with pytest.raises(ValueError, match="waveforms"):
        STFTEncoder(2, 8, **SMALL)(torch.randn(1, 1, 100))
    decoder = ISTFTDecoder(8, 1, sample_size=1000, **SMALL)
    with pytest.raises(ValueError, match="1000 samples"):
        decoder(torch.randn(1, 8, decoder.input_length + 1))
    with pytest.raises(ValueError, match="cannot cover"):
        ISTFTDecoder(8, 1, sample_size=1000, input_length=2, **SMALL)


def test_registered_by_name_for_run_configs():
    encoder, decoder = build_networks("stft", {"sample_size": 4097, "channels": 1, "model_size": 8, **SMALL})
    assert isinstance(encoder, STFTEncoder) and isinstance(decoder, ISTFTDecoder)
