from pathlib import Path

from dirvae.training.run import tensorboard_logger


def test_new_runs_log_into_the_run_folder_and_old_runs_keep_their_tensorboard_folder(tmp_path):
    new = tmp_path / "new"
    new.mkdir()
    assert Path(tensorboard_logger(new).log_dir).resolve() == new.resolve()
    old = tmp_path / "old"
    (old / "tensorboard").mkdir(parents=True)
    assert Path(tensorboard_logger(old).log_dir).resolve() == (old / "tensorboard").resolve()
