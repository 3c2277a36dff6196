import json

import pytest
import torch
from torch import nn

from dirvae import DirichletVAE, DirichletVAEConfig
from dirvae.losses import ReconstructionLoss

pytestmark = pytest.mark.usefixtures("one_thread")

ARCHITECTURES = {
    "mlp": ({"input_shape": [1, 8, 8], "model_size": 4, "hidden": [16]}, (2, 1, 8, 8)),
    "resnet": ({"image_size": [16, 12], "in_channels": 3, "model_size": 4, "depth": 2, "width": 4}, (2, 3, 16, 12)),
    "resblock": ({"image_size": [16, 16], "in_channels": 3, "model_size": 4, "widths": [4, 8], "blocks": 1}, (2, 3, 16, 16)),
    "wave": ({"sample_size": 256, "channels": 1, "model_size": 4, "widths": [4, 8], "strides": [4, 4]}, (2, 1, 256)),
    "melresnet": ({"sample_size": 1024, "channels": 1, "model_size": 4, "sample_rate": 8000}, (2, 1, 1024)),
    "stft": (
        {"sample_size": 1000, "channels": 1, "model_size": 4, "n_fft": 128, "hop_length": 32, "width": 8, "phase": "accumulated", "level_scale": 10.0},
        (2, 1, 1000),
    ),
}
LOSSES = {
    "mse": {},
    "bernoulli": {},
    "gaussian": {"channels": 3, "gain": 4.0},
    "logistic": {"channels": 3, "gain": 2.0, "bins": 16},
    "stft": {"fft_sizes": [64, 32], "hop_fraction": 0.5, "waveform_weight": 0.5, "waveform_norm": "l2", "reduction": "sum", "squash": False, "magnitude_floor": 1e-6,
             "mel_weight": 2.0, "mel_fft": 256, "mel_bands": 20, "mel_floor": 1e-4, "sample_rate": 8000},
}


@pytest.mark.parametrize("architecture", sorted(ARCHITECTURES))
def test_save_then_load_rebuilds_every_architecture_with_its_weights(architecture, tmp_path):
    options, shape = ARCHITECTURES[architecture]
    config = DirichletVAEConfig(model_size=4, architecture=architecture, architecture_options=options, recipe="paper", learn_prior=True)
    torch.manual_seed(0)
    model = DirichletVAE(config).eval()
    x = torch.rand(*shape)
    model(x)  # fixes the latent field's shape
    model.save_pretrained(tmp_path)
    loaded = DirichletVAE.from_pretrained(tmp_path)
    assert loaded.config == model.config
    assert loaded.config.architecture_options == options and loaded.recipe == model.recipe
    torch.testing.assert_close(loaded.encode(x).mean, model.encode(x).mean)


@pytest.mark.parametrize("loss", sorted(LOSSES))
def test_every_loss_and_its_options_round_trip(loss, tmp_path):
    options, shape = ARCHITECTURES["resblock"]
    config = DirichletVAEConfig(model_size=4, architecture="resblock", architecture_options=options, reconstruction=loss, reconstruction_options=LOSSES[loss])
    model = DirichletVAE(config)
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model"]["reconstruction"] == loss and saved["architecture"]["name"] == "resblock"
    loaded = DirichletVAE.from_pretrained(tmp_path)
    assert type(loaded.likelihood) is type(model.likelihood)
    assert loaded.likelihood.config_options() == model.likelihood.config_options()
    for name, value in LOSSES[loss].items():
        assert loaded.config.reconstruction_options[name] == value


def test_keyword_form_and_config_form_resolve_to_the_same_config():
    encoder, decoder = nn.Linear(8, 4), nn.Linear(4, 8)
    by_keywords = DirichletVAE(encoder, decoder, 4, recipe="paper", reconstruction="bernoulli", prior_alpha=0.5)
    by_config = DirichletVAE(DirichletVAEConfig(model_size=4, recipe="paper", reconstruction="bernoulli", prior_alpha=0.5), encoder=encoder, decoder=decoder)
    assert by_keywords.config == by_config.config
    assert by_config.config.sampler == "igca" and by_config.config.feature_size == 4
    assert DirichletVAE(by_config.config, encoder=encoder, decoder=decoder).config == by_config.config


def test_options_beside_a_config_and_missing_networks_are_errors():
    config = DirichletVAEConfig(model_size=4)
    with pytest.raises(TypeError, match="recipe"):
        DirichletVAE(config, encoder=nn.Linear(8, 4), decoder=nn.Linear(4, 8), recipe="paper")
    with pytest.raises(ValueError, match="names no architecture"):
        DirichletVAE(config)
    with pytest.raises(ValueError, match="unknown architecture 'nope'"):
        DirichletVAE(config.replace(architecture="nope"))
    with pytest.raises(ValueError, match="unknown model option"):
        DirichletVAEConfig.from_dict({"model_size": 4, "beta": 1})


def test_a_plain_callable_loss_fails_clearly_at_save_time_and_a_named_subclass_saves(tmp_path):
    encoder, decoder = nn.Sequential(nn.Flatten(), nn.Linear(8, 4)), nn.Linear(4, 8)
    model = DirichletVAE(encoder, decoder, 4, reconstruction=lambda out, x: (out - x).abs().sum(1))
    with pytest.raises(ValueError, match="no registered name"):
        model.save_pretrained(tmp_path / "callable")
    assert not (tmp_path / "callable" / "config.json").exists()

    class AbsoluteLoss(ReconstructionLoss):
        config_name = "test-absolute"

        def forward(self, output, target):
            return (output - target).abs().flatten(1).sum(1)

    named = DirichletVAE(encoder, decoder, 4, reconstruction=AbsoluteLoss())
    named.save_pretrained(tmp_path / "named")
    loaded = DirichletVAE.from_pretrained(tmp_path / "named", encoder=encoder, decoder=decoder)
    assert isinstance(loaded.likelihood, AbsoluteLoss)


def test_a_run_saved_before_recipes_reads_with_the_paper_recipe():
    old = {"architecture": {"name": "mlp", "options": {"input_shape": [1, 8, 8], "model_size": 4, "hidden": [8]}},
           "model": {"model_size": 4, "latent": "dirichlet", "reconstruction": "bernoulli", "prior_burn_in": None}}
    config = DirichletVAEConfig.from_run_config(old)
    assert (config.sampler, config.kl_kind, config.decoder_input) == ("igca", "gamma", "simplex")
    assert DirichletVAE(config).recipe["sampler"] == "igca"
