"""Waveform nets (audio.py) and the MelResNet encoder that pairs with them (melresnet.py)."""

import math

import pytest
import torch
from torch import nn

from dirvae.nets.audio import (
    WaveDecoder,
    WaveEncoder,
    downsampled_length,
    split_stride,
    stride_geometry,
    wave_autoencoder,
)
from dirvae.nets.melresnet import LogMelSpectrogram, MelResNetEncoder, hz_to_mel, mel_filterbank, mel_to_hz

SMALL = {"widths": (4, 8), "strides": (4, 4), "dilations": (1, 3)}


pytestmark = pytest.mark.usefixtures("one_thread")


def _small_mel(**kwargs) -> MelResNetEncoder:
    options = {"n_fft": 256, "hop_length": 64, "n_mels": 32, "channels": (8, 16, 32), "out_channels": 8}
    return MelResNetEncoder(16000, **{**options, **kwargs})


# --------------------------------------------------------------------------- waveform pair
@pytest.mark.parametrize(("length", "channels"), [(16000, 1), (4097, 1), (4097, 2), (1, 1), (15, 2)])
def test_wave_pair_round_trips_exactly(length, channels):
    encoder, decoder = wave_autoencoder(length, channels, model_size=8, **SMALL)
    x = torch.randn(1, channels, length)
    features = encoder(x)
    assert features.shape == (1, 8, encoder.output_length(length))
    assert decoder.input_length == encoder.output_length(length)
    assert decoder(features).shape == x.shape


def test_default_wave_pair_mirrors_and_hops_256_samples():
    encoder, decoder = wave_autoencoder(16000, 1, model_size=64)
    assert encoder.out_channels == decoder.in_channels == 64
    assert encoder.hop_length == 256 and encoder.output_length(16000) == 63
    assert decoder.strides == (4, 4, 4, 4)
    assert [level.conv.out_channels for level in decoder.levels] == [128, 64, 32, 16]


def test_length_arithmetic():
    assert downsampled_length(4097, (4, 4)) == 257
    assert downsampled_length(4097, (8, 8, 8)) == math.ceil(4097 / 512)
    for stride in (1, 2, 3, 4, 5, 8):
        kernel, padding = stride_geometry(stride)
        conv = nn.Conv1d(1, 1, kernel, stride=stride, padding=padding)
        transposed = nn.ConvTranspose1d(1, 1, kernel, stride=stride, padding=padding)
        assert conv(torch.randn(1, 1, 7 * stride)).shape[-1] == 7
        assert transposed(torch.randn(1, 1, 7)).shape[-1] == 7 * stride
    assert split_stride(4096) == (8, 8, 8, 8)
    assert split_stride(1280) == (8, 8, 5, 4)
    assert math.prod(split_stride(441)) == 441


def test_decoder_refuses_wrong_lengths():
    decoder = WaveDecoder(8, (8, 4), (4, 4), 1, sample_size=4097)
    with pytest.raises(ValueError, match="4097"):
        decoder(torch.randn(1, 8, 256))
    with pytest.raises(ValueError, match="cannot cover"):
        WaveDecoder(8, (8, 4), (4, 4), 1, sample_size=4097, input_length=256)
    with pytest.raises(ValueError):
        WaveEncoder(1, (4, 8), (4,))


# --------------------------------------------------------------------------- mel front end
def test_mel_filters_are_nonnegative_triangles_covering_the_range():
    sample_rate, n_fft, n_mels, f_min, f_max = 16000, 512, 40, 50.0, 7000.0
    filters = mel_filterbank(n_fft, n_mels, sample_rate, f_min, f_max)
    assert filters.shape == (n_mels, n_fft // 2 + 1)
    assert (filters >= 0).all() and filters.max() <= 1
    for row in filters:
        support = row.nonzero().flatten()
        peak = int(row.argmax())
        assert (row[: peak + 1].diff() >= 0).all() and (row[peak:].diff() <= 0).all()
        assert (support.diff() == 1).all()  # one contiguous bump
    freqs = torch.linspace(0, sample_rate / 2, n_fft // 2 + 1)
    inside = (freqs > f_min) & (freqs < f_max)
    assert (filters[:, inside].sum(dim=0) > 0).all()
    assert (filters[:, ~inside].sum(dim=0) == 0).all()
    # Peaks are evenly spaced in mel, i.e. denser in Hz at low frequencies (fine bins to see it).
    fine = mel_filterbank(16384, n_mels, sample_rate, f_min, f_max)
    centres = hz_to_mel(torch.linspace(0, sample_rate / 2, 16384 // 2 + 1)[fine.argmax(dim=1)])
    assert torch.allclose(centres.diff(), centres.diff().mean(), atol=2.0)


def test_mel_scale_round_trips_and_empty_filters_are_refused():
    hz = torch.tensor([0.0, 700.0, 8000.0], dtype=torch.float64)
    torch.testing.assert_close(mel_to_hz(hz_to_mel(hz)), hz)
    with pytest.raises(ValueError, match="between FFT bins"):
        mel_filterbank(64, 64, 16000)
    with pytest.raises(ValueError):
        mel_filterbank(512, 40, 16000, f_max=9000.0)


def test_log_mel_of_a_sine_peaks_in_the_band_of_its_frequency():
    spectrogram = LogMelSpectrogram(16000, n_fft=512, hop_length=128, n_mels=40)
    t = torch.arange(4000) / 16000
    log_mel = spectrogram(torch.sin(2 * math.pi * 1000.0 * t).reshape(1, 1, -1))
    assert log_mel.shape == (1, 1, 40, 1 + 4000 // 128)
    freqs = torch.linspace(0, 8000, 257)
    centres = freqs[spectrogram.filters.argmax(dim=1)]
    band = int(log_mel[0, 0].mean(dim=1).argmax())
    assert band == int((centres - 1000.0).abs().argmin())


def test_log_mel_stays_float32_under_autocast():
    spectrogram = LogMelSpectrogram(16000, n_fft=256, hop_length=64, n_mels=32)
    x = torch.randn(2, 1, 1000)
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        autocast = spectrogram(x.bfloat16())
    assert autocast.dtype == torch.float32
    torch.testing.assert_close(autocast, spectrogram(x.bfloat16().float()))


# --------------------------------------------------------------------------- MelResNet
@pytest.mark.parametrize("length", [16000, 4097, 100])
def test_melresnet_output_length_is_as_documented(length):
    encoder = _small_mel()
    frames = 1 + length // 64
    expected = math.ceil(math.ceil(frames / 2) / 2)  # two strided stages
    assert encoder.output_length(length) == expected
    assert encoder.hop_length == 64 * 4
    assert encoder(torch.randn(1, 1, length)).shape == (1, 8, expected)


def test_melresnet_pooled_output_is_one_step():
    encoder = _small_mel(pool_time=True, in_channels=2)
    assert encoder.output_length(4097) == 1
    assert encoder(torch.randn(3, 2, 4097)).shape == (3, 8, 1)


@pytest.mark.parametrize(("length", "pool_time"), [(16000, False), (4097, False), (300, False), (4097, True)])
def test_melresnet_pair_round_trips_exactly(length, pool_time):
    encoder, decoder = wave_autoencoder(length, 1, model_size=8, encoder=_small_mel(pool_time=pool_time), **SMALL)
    if not pool_time:
        # Latent step j decodes the samples it was computed from.
        assert math.prod(decoder.strides) == encoder.hop_length
    x = torch.randn(1, 1, length)
    assert decoder(encoder(x)).shape == x.shape


def test_default_melresnet_pair_is_the_seeds_encoder():
    encoder, decoder = wave_autoencoder(16000, 1, model_size=64, encoder="melresnet")
    assert isinstance(encoder, MelResNetEncoder)
    assert [stage[0].expand.out_channels for stage in encoder.stages] == [64, 128, 256, 512, 1024]
    assert encoder.stem[0].kernel_size == (7, 7)
    x = torch.randn(1, 1, 16000)
    assert decoder(encoder(x)).shape == x.shape


def test_melresnet_pair_from_json_options():
    options = {"n_fft": 256, "hop_length": 64, "n_mels": 32, "channels": [8, 16], "time_stride": 4}
    encoder, decoder = wave_autoencoder(3000, 2, model_size=8, encoder="melresnet", melresnet=options, **SMALL)
    assert isinstance(encoder, MelResNetEncoder)
    assert encoder.hop_length == 256 and math.prod(decoder.strides) == 256
    x = torch.randn(2, 2, 3000)
    assert decoder(encoder(x)).shape == x.shape


def test_mismatched_melresnet_is_refused():
    with pytest.raises(ValueError, match="output channels"):
        wave_autoencoder(4000, 1, model_size=16, encoder=_small_mel())
    with pytest.raises(ValueError):
        wave_autoencoder(4000, 1, encoder="wavenet")
