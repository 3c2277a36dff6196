import pytest

from dirvae.errors import DirvaeError
from dirvae.training.config import read_config_file, resolve


def test_layers_override_in_order_and_defaults_fill_the_rest():
    config = resolve({"batches": 8, "model_size": 10}, {"batches": 4})
    assert config.batches == 4 and config.model_size == 10 and config.learning_rate == 1e-3


def test_yaml_and_json_files(tmp_path):
    (tmp_path / "a.yaml").write_text("batches: 3\nlearning-rate: 0.01\n")
    (tmp_path / "b.json").write_text('{"model_size": 5}')
    assert read_config_file(tmp_path / "a.yaml") == {"batches": 3, "learning_rate": 0.01}
    assert read_config_file(tmp_path / "b.json") == {"model_size": 5}


@pytest.mark.parametrize(
    "text, message",
    [("batches: [1\n", "not a readable"), ("- 1\n- 2\n", "mapping"), ("colour: red\n", "unknown option")],
)
def test_bad_config_files_give_one_clear_error(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(DirvaeError, match=message):
        read_config_file(path)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"batches": 0}, "--batches"),
        ({"learning_rate": -1.0}, "--learning-rate"),
        ({"type": "smell"}, "--type"),
        ({"model_size": 1}, "--model-size"),
        ({"type": "audio", "architecture": "resnet"}, "--architecture resnet does not take audio items; audio uses stft, wave, melresnet"),
        ({"type": "image", "architecture": "stft"}, "--architecture stft does not take image items; image uses resblock, resnet, mlp"),
        ({"sampler": "magic"}, "--sampler"),
    ],
)
def test_bad_values_are_user_errors(options, message):
    with pytest.raises(DirvaeError, match=message):
        resolve(options)


def test_recipe_flags_resolve_over_the_named_preset():
    from dirvae.latent.recipe import RECIPES

    assert resolve().latent_recipe() == RECIPES["default"]
    assert resolve({"recipe": "paper"}).latent_recipe() == RECIPES["paper"]
    config = resolve({"recipe": "paper"}, {"decoder_input": "scaled", "learn_prior": True})
    assert config.latent_recipe() == {**RECIPES["paper"], "decoder_input": "scaled", "learn_prior": True}
    with pytest.raises(DirvaeError, match="--alpha-transform must be one of softplus"):
        resolve({"alpha_transform": "relu"})
    with pytest.raises(DirvaeError, match="--recipe"):
        resolve({"recipe": "fancy"})


def legacy_training_options(saved):
    """A format-1 run's saved training options as they are read today (:func:`dirvae.runs.upgrade.upgrade`)."""
    from dirvae.runs.upgrade import FORMAT_1, upgrade

    return upgrade({"format": FORMAT_1, "training": saved})["training"]


def test_a_run_saved_before_recipes_resumes_with_the_paper_recipe_and_k64():
    from dirvae.latent.recipe import RECIPES

    old = {"type": "image", "sampler": "igca", "model_size": 64, "batches": 8}
    config = resolve(legacy_training_options(old))
    assert config.latent_recipe() == RECIPES["paper"] and config.model_size == 64
    assert resolve(legacy_training_options({"type": "image"})).model_size == 64
    new = {"type": "image", "recipe": "default", "decoder_input": "log", "model_size": 10}
    assert resolve(legacy_training_options(new)).latent_recipe()["decoder_input"] == "log"


def test_cpu_threads_never_oversubscribe(monkeypatch):
    import torch

    from dirvae.training import threads

    def count(options, item_shape, **busy):
        return threads.cpu_threads(options.threads, small, item_shape, **busy)[0]  # (threads, the line that says why)

    small = torch.nn.Linear(10, 10)
    assert count(resolve(), (1, 28, 28)) == 1
    assert count(resolve({"threads": 3}), (1, 28, 28)) == 3
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 4)
    assert count(resolve(), (3, 64, 64), busy=lambda: 3.0) == 1
    assert count(resolve(), (3, 64, 64), busy=lambda: 0.2) == 4
    with pytest.raises(DirvaeError, match="--threads"):
        resolve({"threads": 0})


def test_config_file_values_take_their_option_types(tmp_path):
    """YAML 1.1 reads 3e-4 as a string: the README's own example must still work."""
    path = tmp_path / "options.yaml"
    path.write_text("learning-rate: 3e-4\nbatches: '64'\nepochs: 2.0\nview: 'no'\ndevices: 1\n")
    values = read_config_file(path)
    assert values == {"learning_rate": 3e-4, "batches": 64, "epochs": 2, "view": False, "devices": "1"}
    assert resolve(values).learning_rate == 3e-4
    for text, message in (("batches: many\n", "--batches must be a number"), ("epochs: 1.5\n", "whole number"), ("view: maybe\n", "true or false")):
        path.write_text(text)
        with pytest.raises(DirvaeError, match=message):
            read_config_file(path)


@pytest.mark.parametrize(
    "values, message",
    [({"learning_rate": float("nan")}, "--learning-rate"), ({"save_freq": float("nan")}, "--save-freq"),
     ({"seed": -1}, "--seed"), ({"prior_alpha": float("inf")}, "--prior-alpha"), ({"kl_weight": float("inf")}, "--kl-weight")],
)  # fmt: skip
def test_non_finite_and_out_of_range_values_are_one_clear_error(values, message):
    with pytest.raises(DirvaeError, match=message):
        resolve(values)


def test_session_only_options_are_not_resumed():
    saved = {"recipe": "default", "view": True, "load": "runs/x", "batches": 8, "val_fraction": 0.05}
    assert legacy_training_options(saved) == {"recipe": "default", "batches": 8, "val_fraction": 0.05, "shuffle_all": False, "pad_last": "none", "ema_decay": 0.0}
    assert resolve(legacy_training_options(saved)).view is False


def test_images_validate_an_ema_of_the_weights_by_default_and_runs_saved_before_keep_their_raw_weights():
    assert resolve({}).ema_decay == 0.99 and resolve({"type": "image", "ema_decay": 0}).ema_decay == 0.0
    assert resolve({"type": "audio"}).ema_decay == 0.0 and resolve({"type": "text"}).ema_decay == 0.0
    with pytest.raises(DirvaeError, match="--ema-decay"):
        resolve({"ema_decay": 1.0})


def test_reading_order_and_padding_defaults_and_old_runs():
    assert resolve({"type": "audio"}).mixes_files() and resolve({"type": "video"}).mixes_files()
    assert not resolve({"type": "image"}).mixes_files()
    # --shuffle / --shuffle-dir keep the seed's file-by-file meaning; --shuffle-all wins when given.
    assert not resolve({"type": "audio", "shuffle": True}).mixes_files()
    assert not resolve({"type": "video", "shuffle_dir": True}).mixes_files()
    assert resolve({"type": "audio", "shuffle_dir": True, "shuffle_all": True}).mixes_files()
    assert resolve({"type": "audio"}).pad_last == "short"
    with pytest.raises(DirvaeError, match="--pad-last must be one of none, short, all"):
        resolve({"type": "audio", "pad_last": "every"})
    # A run saved before these options read file by file and dropped short files.
    old = resolve(legacy_training_options({"type": "audio", "recipe": "default"}))
    assert not old.mixes_files() and old.pad_last == "none"
    new = resolve(legacy_training_options({"type": "audio", "recipe": "default", "shuffle_all": True, "pad_last": "all"}))
    assert new.mixes_files() and new.pad_last == "all"


def test_runs_saved_before_validation_resume_training_on_every_item():
    assert resolve(legacy_training_options({"recipe": "default", "batches": 8})).val_fraction == 0.0
    assert resolve(legacy_training_options({"batches": 8})).val_fraction == 0.0  # pre-recipe runs too
    assert resolve({}).val_fraction == 0.05


@pytest.mark.parametrize("value", [-0.1, 1.0, float("nan")])
def test_val_fraction_out_of_range_is_one_clear_error(value):
    with pytest.raises(DirvaeError, match="--val-fraction"):
        resolve({"val_fraction": value})
