import json
import pickle

import pytest
import torch

from dirvae import DirichletVAE
from dirvae.errors import RunError
from dirvae.runs.files import WEIGHTS_NAME


def _config():
    return {
        "modality": "image",
        "architecture": {"name": "mlp", "options": {"input_shape": [1, 8, 8], "model_size": 6, "hidden": [16, 16]}},
        "model": {"model_size": 6, "reconstruction": "bernoulli", "prior_alpha": 0.5},
    }


def _trained_model():
    from dirvae.model import DirichletVAE

    torch.manual_seed(0)
    model = DirichletVAE.from_run_config(_config())
    model(torch.rand(2, 1, 8, 8))
    model.prior_alpha.fill_(0.7)
    return model.eval()


def test_round_trip_gives_identical_outputs(tmp_path):
    model = _trained_model()
    model.save_pretrained(tmp_path, extra=_config())
    loaded = DirichletVAE.from_pretrained(tmp_path)
    x = torch.rand(3, 1, 8, 8)
    torch.testing.assert_close(loaded.encode(x).concentration, model.encode(x).concentration)
    torch.testing.assert_close(loaded.decode(loaded.encode(x).mean), model.decode(model.encode(x).mean))
    torch.testing.assert_close(loaded.prior_alpha, torch.full((6,), 0.7))
    assert loaded.latent_shape == model.latent_shape == ()


def test_loading_never_unpickles(tmp_path, monkeypatch):
    _trained_model().save_pretrained(tmp_path, extra=_config())

    def refuse(*args, **kwargs):
        raise AssertionError("unpickling attempted")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(torch, "load", refuse)
    DirichletVAE.from_pretrained(tmp_path)


def test_not_a_run_truncated_and_mismatched_weights_are_run_errors(tmp_path):
    with pytest.raises(RunError, match="not a run directory"):
        DirichletVAE.from_pretrained(tmp_path / "nowhere")
    with pytest.raises(RunError, match="not a run directory"):
        DirichletVAE.from_pretrained(tmp_path)
    _trained_model().save_pretrained(tmp_path, extra=_config())
    weights = tmp_path / WEIGHTS_NAME
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(RunError, match="corrupt or truncated"):
        DirichletVAE.from_pretrained(tmp_path)
    _trained_model().save_pretrained(tmp_path, extra=_config())
    config = (tmp_path / "config.json").read_text().replace('"model_size": 6', '"model_size": 7')
    (tmp_path / "config.json").write_text(config)
    with pytest.raises(RunError, match="do not match"):
        DirichletVAE.from_pretrained(tmp_path)


@pytest.mark.parametrize("reconstruction", ["gaussian", "logistic"])
def test_resblock_runs_with_a_per_channel_likelihood_round_trip(tmp_path, reconstruction):
    from dirvae.model import DirichletVAE

    config = {
        "modality": "image",
        "architecture": {"name": "resblock", "options": {"image_size": [10, 14], "in_channels": 3, "model_size": 4, "widths": [4, 8]}},
        "model": {"model_size": 4, "reconstruction": reconstruction, "reconstruction_options": {"channels": 3, "gain": 16.0}},
    }
    torch.manual_seed(0)
    model = DirichletVAE.from_run_config(config)
    x = torch.rand(2, 3, 10, 14)
    model(x)
    with torch.no_grad():
        model.likelihood.log_scale.copy_(torch.tensor([-0.1, -0.2, -0.3]))
    model.eval().save_pretrained(tmp_path, extra=config)
    saved = json.loads((tmp_path / "config.json").read_text())["model"]
    assert saved["reconstruction"] == reconstruction and saved["reconstruction_options"]["channels"] == 3
    loaded = DirichletVAE.from_pretrained(tmp_path)
    assert type(loaded.likelihood) is type(model.likelihood) and loaded.likelihood.gain == 16.0
    torch.testing.assert_close(loaded.likelihood.scale_log(), torch.tensor([-1.6, -3.2, -4.8]))
    posterior = loaded.encode(x)
    output = torch.rand(2, 3, 10, 14)
    torch.testing.assert_close(loaded.likelihood(output, x), model.likelihood(output, x))
    torch.testing.assert_close(loaded.decode(posterior.mean), model.decode(model.encode(x).mean))


def test_a_per_pixel_scale_round_trips_and_its_net_is_in_the_weights(tmp_path):
    from dirvae.model import DirichletVAE

    options = {"channels": 3, "gain": 16.0, "pixel_scale": 4}
    config = {
        "modality": "image",
        "architecture": {"name": "resblock", "options": {"image_size": [8, 8], "in_channels": 3, "model_size": 4, "widths": [4, 8]}},
        "model": {"model_size": 4, "reconstruction": "gaussian", "reconstruction_options": options},
    }
    torch.manual_seed(0)
    model = DirichletVAE.from_run_config(config)
    with torch.no_grad():
        model.likelihood.scale_net[2].bias.copy_(torch.tensor([0.5, -0.5, 0.1]))
    model.eval().save_pretrained(tmp_path, extra=config)
    assert json.loads((tmp_path / "config.json").read_text())["model"]["reconstruction_options"] == options
    loaded = DirichletVAE.from_pretrained(tmp_path)
    output, x = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 8, 8)
    torch.testing.assert_close(loaded.likelihood(output, x), model.likelihood(output, x))
    assert loaded.likelihood.pixel_scale == 4


def test_a_gaussian_run_saved_without_loss_options_keeps_one_slow_scale(tmp_path):
    config = {
        "modality": "image",
        "architecture": {"name": "mlp", "options": {"input_shape": [1, 8, 8], "model_size": 6, "hidden": [16, 16]}},
        "model": {"model_size": 6, "reconstruction": "gaussian"},
    }
    from dirvae.model import DirichletVAE

    model = DirichletVAE.from_run_config(config)
    model(torch.rand(2, 1, 8, 8))
    model.save_pretrained(tmp_path, extra=config)
    # Drop what this version adds: a run written before loss options existed.
    path = tmp_path / "config.json"
    old = json.loads(path.read_text())
    old["model"].pop("reconstruction_options")
    path.write_text(json.dumps(old))
    loaded = DirichletVAE.from_pretrained(tmp_path)
    assert loaded.likelihood.log_scale.shape == () and loaded.likelihood.gain == 1.0


def test_a_snapshot_writes_what_save_pretrained_writes_at_the_moment_it_was_taken(tmp_path):
    from dirvae.runs.files import CONFIG_NAME

    model = _trained_model()
    model.save_pretrained(tmp_path / "direct", extra=_config())
    snapshot = model.run_snapshot(_config())
    with torch.no_grad():
        model.prior_alpha.fill_(3.0)  # training goes on while the snapshot waits for its writer
        next(model.parameters()).add_(1.0)
    snapshot.write(tmp_path / "later")
    for name in (WEIGHTS_NAME, CONFIG_NAME):
        assert (tmp_path / "later" / name).read_bytes() == (tmp_path / "direct" / name).read_bytes()
    torch.testing.assert_close(DirichletVAE.from_pretrained(tmp_path / "later").prior_alpha, torch.full((6,), 0.7))
