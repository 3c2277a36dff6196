from pathlib import Path

from dirvae.training.trainer import tensorboard_logger


def test_new_runs_log_into_the_run_folder_and_old_runs_keep_their_tensorboard_folder(tmp_path):
    new = tmp_path / "new"
    new.mkdir()
    assert Path(tensorboard_logger(new).log_dir).resolve() == new.resolve()
    old = tmp_path / "old"
    (old / "tensorboard").mkdir(parents=True)
    assert Path(tensorboard_logger(old).log_dir).resolve() == (old / "tensorboard").resolve()


def test_validation_runs_at_epoch_ends_unless_epochs_are_short():
    from dirvae.training.trainer import MIN_VALIDATION_STEPS, validation_schedule

    assert validation_schedule(500, 1000, 5000, True) == {"val_check_interval": 500}
    # Long epochs also validate every --val-every steps within them.
    assert validation_schedule(5000, 1000, 50_000, True) == {"val_check_interval": 1000}
    # Short epochs (the digits) validate every MIN_VALIDATION_STEPS steps across epochs ...
    assert validation_schedule(54, 1000, 1620, True) == {"val_check_interval": MIN_VALIDATION_STEPS, "check_val_every_n_epoch": None}
    # ... a run shorter than that at its last step, and an explicit --val-every below an epoch wins.
    assert validation_schedule(54, 1000, 60, True) == {"val_check_interval": 60, "check_val_every_n_epoch": None}
    assert validation_schedule(54, 20, 1620, True) == {"val_check_interval": 20}
    assert validation_schedule(54, 1000, 1620, False) == {"val_check_interval": None}


def test_a_short_default_run_on_a_folder_gets_a_hint_and_explicit_caps_or_digits_do_not():
    from dirvae.training.config import resolve
    from dirvae.training.trainer import SHORT_RUN_STEPS, short_run_hint

    # ``embedded``: the source is an embedded set (the digits), not a folder.
    hint = short_run_hint(resolve({}), False, 47)
    assert hint is not None and "47 steps" in hint and "--epochs N" in hint
    assert short_run_hint(resolve({"epochs": 1}), False, 47) is None
    assert short_run_hint(resolve({"iterations": 40}), False, 40) is None
    assert short_run_hint(resolve({}), True, 47) is None
    assert short_run_hint(resolve({}), False, SHORT_RUN_STEPS) is None
