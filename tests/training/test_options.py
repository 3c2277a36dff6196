import argparse
import dataclasses

import pytest

from dirvae.errors import DirvaeError
from dirvae.training.config import TrainConfig, normalise_keys, resolve
from dirvae.training.options import add_flags, flag_of, spec_of


def _parser():
    parser = argparse.ArgumentParser()
    add_flags(parser, TrainConfig)
    return parser


def test_every_option_is_declared_once_with_help_and_becomes_a_flag():
    parser = _parser()
    flags = {action.dest: action for action in parser._actions if action.dest != "help"}
    for item in dataclasses.fields(TrainConfig):
        spec = spec_of(item)
        assert spec is not None and spec.help, item.name
        if spec.in_cli:
            assert item.name in flags, item.name
            assert flags[item.name].default is None  # only typed flags override a config file or a resumed run
    assert flag_of(next(f for f in dataclasses.fields(TrainConfig) if f.name == "scalars_every")) == "--log-scalars-every"


def test_flags_parse_to_their_fields_and_negations_to_false():
    parsed = vars(_parser().parse_args(["--batches", "8", "--no-shuffle", "--pad-last", "--audio-size", "2^12", "--learn-prior"]))
    assert parsed["batches"] == 8 and parsed["shuffle"] is False and parsed["pad_last"] == "all"
    assert parsed["audio_size"] == 4096 and parsed["learn_prior"] is True and parsed["epochs"] is None


@pytest.mark.parametrize(
    "values, message",
    [
        ({"batches": 0}, "--batches must be a positive number"),
        ({"model_size": 1}, "--model-size must be at least 2"),
        ({"model_size": 3.5}, "--model-size must be a whole number"),
        ({"seed": 2**32}, "--seed must be a whole number from 0 to 2\\^32 - 1"),
        ({"val_fraction": 1.0}, "--val-fraction must be from 0"),
        ({"learning_rate": float("nan")}, "--learning-rate must be a finite number"),
        ({"image_size": 100_000}, "--image-size 100000 is too large"),
        ({"sampler": "exactish"}, "--sampler must be one of igca, implicit"),
        ({"scalars_every": 0}, "--log-scalars-every must be a positive number"),
        ({"num_workers": -1}, "--num-workers must be zero or more"),
    ],
)
def test_declared_ranges_and_choices_are_one_clear_error(values, message):
    with pytest.raises(DirvaeError, match=message):
        resolve(values)


def test_a_config_file_value_goes_through_the_options_own_parser():
    assert normalise_keys({"audio-size": "2^14"}, "opts.yaml") == {"audio_size": 16384}
    with pytest.raises(DirvaeError, match="opts.yaml: --audio-size"):
        normalise_keys({"audio-size": "2^99"}, "opts.yaml")
