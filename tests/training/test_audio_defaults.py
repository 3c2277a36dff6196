"""The audio defaults of ``dirvae train`` (issue 10): the ``stft`` nets and their loss; older runs keep theirs."""

from dirvae.model import DirichletVAE
from dirvae.losses import MultiResolutionSTFTLoss
from dirvae.nets.audio import WaveEncoder
from dirvae.nets.spectral import STFTEncoder
from dirvae.modalities.audio import STFT_LOSS_OPTIONS, stft_loss_options
from dirvae.nets.spectral import STFT_NET_OPTIONS
from dirvae.training.config import resolve
from dirvae.training.plan import plan_run
from dirvae.training.resume import saved_run

SHAPE = (1, 4096)


def _options(**flags):
    return resolve({"type": "audio", "audio_size": SHAPE[-1], **flags})


def _config(**flags):
    """The config.json a run of these flags on a folder writes."""
    run = plan_run(_options(**flags), "folder")
    assert run.data.item_shape == SHAPE
    return run.to_dict()


def test_audio_defaults_to_the_stft_nets_with_three_loss_resolutions():
    config = _config()
    assert config["architecture"]["name"] == "stft"
    assert config["model"]["reconstruction"] == "stft"
    assert config["model"]["reconstruction_options"] == {**STFT_LOSS_OPTIONS, "mel_fft": 1024, "mel_bands": 80, "sample_rate": 16000}
    model = DirichletVAE.from_run_config(config)
    assert isinstance(model.encoder, STFTEncoder)
    assert model.likelihood.fft_sizes == (2048, 512, 128)
    assert model.likelihood.mel_weight == 4.0 and model.decoder.level_scale == STFT_NET_OPTIONS["level_scale"] == 10.0


def test_stft_runs_saved_before_the_mel_term_and_frame_level_rebuild_without_them():
    # What a run of the stft nets recorded before 2026-11-26: no level_scale, no mel options.
    old = _config()
    old["architecture"]["options"] = {key: value for key, value in old["architecture"]["options"].items() if key != "level_scale"}
    old["model"]["reconstruction_options"] = {"fft_sizes": [2048, 512, 128]}
    model = DirichletVAE.from_run_config(old)
    assert model.decoder.level is None and model.decoder.phase == "absolute"
    assert model.likelihood.mel_weight == 0.0


def test_mel_term_fits_its_fft_to_the_sample_rate_or_is_left_out():
    assert stft_loss_options(8000)["mel_fft"] == 512 and stft_loss_options(44100)["mel_fft"] == 4096
    assert "mel_weight" not in stft_loss_options(1000)  # 80 bands over 500 Hz cannot each hold an FFT bin
    DirichletVAE.from_run_config(_config(sample_rate=8000))


def test_audio_learns_at_3e_3_unless_told_and_saved_rates_are_kept():
    assert resolve({"type": "audio"}).learning_rate == 3e-3
    assert resolve({"type": "image"}).learning_rate == resolve({"type": "video"}).learning_rate == 1e-3
    assert resolve({"type": "audio", "learning_rate": 1e-3}).learning_rate == 1e-3
    # A resumed run layers its saved options (which always hold the rate) under the flags.
    assert resolve({"type": "audio", "learning_rate": 1e-3}, {}).learning_rate == 1e-3


def test_wave_runs_keep_the_six_resolution_loss_they_were_trained_with(tmp_path):
    import json

    # What a run from before issue 10's audio default recorded: wave nets, the loss with no options.
    old = _config(architecture="wave")
    assert old["model"]["reconstruction_options"] == {}
    model = DirichletVAE.from_run_config(old)
    assert isinstance(model.encoder, WaveEncoder)
    assert model.likelihood.fft_sizes == MultiResolutionSTFTLoss().fft_sizes == (2048, 1024, 512, 256, 128, 64)
    # Resumed with today's "auto" defaults, it keeps its nets and loss.
    (tmp_path / "config.json").write_text(json.dumps(old))
    resumed = plan_run(_options(), "folder", saved=saved_run(tmp_path)).to_dict()
    assert resumed["architecture"]["name"] == "wave" and resumed["model"]["reconstruction_options"] == {}
    assert _config()["architecture"]["name"] == "stft"  # what the same flags give a new run
