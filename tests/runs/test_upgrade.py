"""Every run format earlier versions wrote (``tests/fixtures/runs/``, real runs of those versions) reads as today's."""

import json
from pathlib import Path

import pytest
import torch

from dirvae import DirichletVAE
from dirvae.latent.recipe import RECIPES
from dirvae.runs.files import read_config
from dirvae.runs.record import RunConfig, read_run
from dirvae.runs.upgrade import FORMAT_1, RUN_FORMAT, tensorboard_folder, upgrade
from dirvae.training.config import resolve
from dirvae.training.plan import plan_run

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runs"
RUNS = sorted(path for path in FIXTURES.iterdir() if (path / "config.json").is_file())
WITH_WEIGHTS = [path for path in RUNS if (path / "model.safetensors").is_file()]


def _raw(path: Path) -> dict:
    return json.loads((path / "config.json").read_text())


def test_there_is_a_fixture_of_every_version_that_changed_the_format():
    commits = {path.name.split("-")[3] for path in RUNS}
    assert {"a042d4d", "f032a3a", "07169d9", "f2c42b1", "ec1a41c", "168704b", "245dc8f", "47e541d", "913a5a4", "88b2569"} <= commits
    assert all(_raw(path)["format"] == FORMAT_1 for path in RUNS if path.name < "2026-12-07")
    assert _raw(FIXTURES / "2026-12-07-2c08c6a-image")["format"] == RUN_FORMAT


def test_runs_saved_before_weight_averaging_keep_their_raw_weights():
    for run in RUNS:
        assert "ema_decay" not in _raw(run)["training"] and read_run(run).training.ema_decay == 0.0
    assert resolve({"type": "image"}).ema_decay > 0  # today's default differs: the upgrade, not the default, decides


@pytest.mark.parametrize("run", RUNS, ids=lambda path: path.name)
def test_each_old_run_reads_as_a_typed_record_and_round_trips(run):
    record = read_run(run)
    assert record.data.item_shape == tuple(_raw(run)["data"]["item_shape"])
    assert record.training is not None and record.model.reconstruction
    again = RunConfig.from_dict(record.to_dict())
    assert again == record and again.to_dict()["format"] == RUN_FORMAT
    DirichletVAE.from_run_config(record.to_dict())  # its networks still build


@pytest.mark.parametrize("run", WITH_WEIGHTS, ids=lambda path: path.name)
def test_old_weights_load_and_decode(run):
    model = DirichletVAE.from_pretrained(run)
    with torch.no_grad():
        out = model.decode(model.sample_latent(2))
    assert out.shape[1:] == read_run(run).data.item_shape and torch.isfinite(out).all()


def test_runs_before_recipes_read_with_the_papers_recipe_and_their_own_k():
    record = read_run(FIXTURES / "2026-11-24-a042d4d-image")
    paper = {key: value for key, value in RECIPES["paper"].items()}
    assert {key: getattr(record.model, key) for key in paper} == paper
    assert record.training.recipe == "paper" and record.training.model_size == 4  # the K it was trained with
    assert record.training.val_fraction == 0.0  # it trained on every item: a resume must not hold any out
    half = read_run(FIXTURES / "2026-11-25-f032a3a-image")  # some recipe fields in the model, none in training
    assert half.model.sampler == "igca" and half.training.recipe == "paper"


def test_audio_runs_before_file_mixing_keep_the_seeds_order_and_drop_short_files():
    for name in ("2026-11-24-a042d4d-audio", "2026-11-25-07169d9-audio"):
        record = read_run(FIXTURES / name)
        assert record.training.shuffle_all is False and record.training.pad_last == "none" and record.data.pad_last == "none"
    mixed = read_run(FIXTURES / "2026-11-25-f2c42b1-audio")
    assert mixed.training.shuffle_all == _raw(FIXTURES / "2026-11-25-f2c42b1-audio")["training"]["shuffle_all"]


def test_session_options_and_removed_options_are_dropped():
    old = _raw(FIXTURES / "2026-11-24-a042d4d-audio")
    assert "load" in old["training"] and "view" in old["training"]
    upgraded = upgrade(old)
    assert "load" not in upgraded["training"] and "view" not in upgraded["training"]
    removed = read_run(FIXTURES / "2026-11-26-913a5a4-audio")  # the one version with training.lr_schedule
    assert not hasattr(removed.training, "lr_schedule")


def test_format_1_data_sections_lose_the_other_modalities_nulls():
    record = read_config(FIXTURES / "2026-11-26-88b2569-image")
    assert record["format"] == RUN_FORMAT and "sample_rate" not in record["data"] and record["data"]["image_size"] == 8


def test_stft_runs_from_before_the_mel_term_rebuild_without_it():
    model = DirichletVAE.from_run_config(read_config(FIXTURES / "2026-11-25-47e541d-audio"))
    assert model.decoder.level is None and model.likelihood.mel_weight == 0.0


def test_old_tensorboard_folders_are_kept_on_resume(tmp_path):
    assert tensorboard_folder(FIXTURES / "2026-11-24-a042d4d-image") == ("tensorboard", "")
    assert tensorboard_folder(FIXTURES / "2026-11-26-88b2569-image") == ("", "")


def test_a_resumed_old_run_keeps_its_networks_and_likelihood_whatever_todays_defaults():
    saved = read_run(FIXTURES / "2026-11-24-a042d4d-image")
    options = resolve(saved.training.to_dict())
    resumed = plan_run(options, saved.data.source, saved)
    assert resumed.model.architecture == "resnet" and resumed.model.reconstruction == "bernoulli"
    assert resumed.data == saved.data and resumed.model.recipe == "paper"
