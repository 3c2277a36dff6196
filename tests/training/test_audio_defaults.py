"""The audio defaults of ``dirvae train`` (issue 10): the ``stft`` nets and their loss; older runs keep theirs."""

import copy

from dirvae.builders import build_model
from dirvae.losses import MultiResolutionSTFTLoss
from dirvae.nets.audio import WaveEncoder
from dirvae.nets.spectral import STFTEncoder
from dirvae.training.config import resolve
from dirvae.training.run import STFT_LOSS_OPTIONS, keep_saved_networks, model_config

SHAPE = (1, 4096)


def _config(**flags):
    return model_config(resolve({"type": "audio", "audio_size": SHAPE[-1], **flags}), SHAPE, "folder")


def test_audio_defaults_to_the_stft_nets_with_three_loss_resolutions():
    config = _config()
    assert config["architecture"]["name"] == "stft"
    assert config["model"]["reconstruction"] == "stft"
    assert config["model"]["reconstruction_options"] == STFT_LOSS_OPTIONS
    model = build_model(config)
    assert isinstance(model.encoder, STFTEncoder)
    assert model.likelihood.fft_sizes == (2048, 512, 128)


def test_wave_runs_keep_the_six_resolution_loss_they_were_trained_with(tmp_path):
    import json

    # What a run from before issue 10's audio default recorded: wave nets, the loss with no options.
    old = _config(architecture="wave")
    assert old["model"]["reconstruction_options"] == {}
    model = build_model(old)
    assert isinstance(model.encoder, WaveEncoder)
    assert model.likelihood.fft_sizes == MultiResolutionSTFTLoss().fft_sizes == (2048, 1024, 512, 256, 128, 64)
    # Resumed with today's "auto" defaults, it keeps its nets and loss.
    (tmp_path / "config.json").write_text(json.dumps(old))
    resumed = copy.deepcopy(_config())
    keep_saved_networks(resumed, tmp_path)
    assert resumed["architecture"]["name"] == "wave" and resumed["model"]["reconstruction_options"] == {}
