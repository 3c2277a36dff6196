import pickle

import pytest
import torch

from dirvae import DirichletVAE
from dirvae.errors import RunError
from dirvae.export import WEIGHTS_NAME, save_pretrained


def _config():
    return {
        "modality": "image",
        "architecture": {"name": "mlp", "options": {"input_shape": [1, 8, 8], "model_size": 6, "hidden": [16, 16]}},
        "model": {"model_size": 6, "reconstruction": "bernoulli", "prior_alpha": 0.5},
    }


def _trained_model():
    from dirvae.builders import build_model

    torch.manual_seed(0)
    model = build_model(_config())
    model(torch.rand(2, 1, 8, 8))
    model.prior_alpha.fill_(0.7)
    return model.eval()


def test_round_trip_gives_identical_outputs(tmp_path):
    model = _trained_model()
    save_pretrained(model, tmp_path, _config())
    loaded = DirichletVAE.from_pretrained(tmp_path)
    x = torch.rand(3, 1, 8, 8)
    torch.testing.assert_close(loaded.encode(x).concentration, model.encode(x).concentration)
    torch.testing.assert_close(loaded.decode(loaded.encode(x).mean), model.decode(model.encode(x).mean))
    torch.testing.assert_close(loaded.prior_alpha, torch.full((6,), 0.7))
    assert loaded.latent_shape == model.latent_shape == ()


def test_loading_never_unpickles(tmp_path, monkeypatch):
    save_pretrained(_trained_model(), tmp_path, _config())

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
    save_pretrained(_trained_model(), tmp_path, _config())
    weights = tmp_path / WEIGHTS_NAME
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    with pytest.raises(RunError, match="corrupt or truncated"):
        DirichletVAE.from_pretrained(tmp_path)
    save_pretrained(_trained_model(), tmp_path, _config())
    config = (tmp_path / "config.json").read_text().replace('"model_size": 6', '"model_size": 7')
    (tmp_path / "config.json").write_text(config)
    with pytest.raises(RunError, match="do not match"):
        DirichletVAE.from_pretrained(tmp_path)
