"""What `dirvae train` logs: TensorBoard tags, validation, and output for a log file."""

import json

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.cli.helpers import run_cli, write_images


def _events(folder):
    events = EventAccumulator(str(folder), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    events.Reload()
    return events


def test_digits_run_logs_running_means_validation_lr_and_hparams_under_the_run_name(workdir):
    result = run_cli("train", "--iterations", "60", "--run-dir", "runs/first", "--model-size", "4", "--save-freq", "0", cwd=workdir, check=0)
    run_dir = workdir / "runs" / "first"
    # Event files sit in the run folder itself: `tensorboard --logdir runs` names the run "first".
    assert list(run_dir.glob("events.out.tfevents.*")) and not (run_dir / "tensorboard").exists()
    events = _events(run_dir)
    scalars = set(events.Tags()["scalars"])
    expected = {
        "train/loss", "train/reconstruction", "train/kl", "train/elbo", "train/kl_weight", "train/loss_epoch",
        "train/elbo_epoch", "val/elbo", "val/reconstruction", "val/kl", "val/psnr", "lr-Adam", "alpha/mean",
        "health/sanitized_gradients", "samples_per_s", "hp_metric",
    }  # fmt: skip
    assert expected <= scalars, expected - scalars
    steps = [event.step for event in events.Scalars("train/loss")]
    assert steps[0] == 1 and 10 in steps and 50 in steps and len(steps) >= 7
    assert "val/reconstructions" in events.Tags()["images"]
    assert all(event.value < 0 for event in events.Scalars("val/elbo"))
    # Hyperparameters for TensorBoard's HParams tab (and hparams.yaml).
    assert "_hparams_/session_start_info" in events.PluginTagToContent("hparams")
    assert "learning_rate" in (run_dir / "hparams.yaml").read_text()
    # Output to a file, not a terminal: one line per epoch, no carriage-return bar.
    assert "\r" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("dirvae: epoch")]
    # --iterations alone caps steps, not epochs: the line counts steps against the cap.
    assert len(lines) == 2 and "epoch 1," in lines[0] and "step 54/60" in lines[0]
    # The digits' 54-step epochs are shorter than the validation interval: a
    # 60-step run validates once, at its last step.
    assert [event.step for event in events.Scalars("val/elbo")] == [59]  # Lightning logs it at the last finished step
    assert "val/elbo" not in lines[0] and "val/elbo" in lines[1]
    saved = json.loads((run_dir / "config.json").read_text())["training"]
    assert saved["val_fraction"] == 0.05


def test_separate_validation_folder(workdir):
    write_images(workdir / "pics", n=12, size=20)
    write_images(workdir / "held", n=4, size=24)
    run_cli(
        "train", "--data", "pics", "--val-data", "held", "--image-size", "16", "--batches", "4", "--iterations", "3",
        "--run-dir", "run", "--model-size", "4", "--save-freq", "0", cwd=workdir, check=0,
    )  # fmt: skip
    events = _events(workdir / "run")
    # 12 training images in batches of 4: one epoch of 3 steps, validated on the 4 held images.
    assert [event.step for event in events.Scalars("val/elbo")] == [2]
    assert "val/psnr" in events.Tags()["scalars"]


def test_missing_validation_folder_is_one_clear_error(workdir):
    result = run_cli("train", "--iterations", "2", "--val-data", "nowhere", "--run-dir", "run", cwd=workdir, check=2)
    assert "nowhere" in result.stderr and "Traceback" not in result.stderr


def test_val_fraction_zero_trains_without_validation(workdir):
    run_cli("train", "--iterations", "55", "--val-fraction", "0", "--run-dir", "run", "--model-size", "4", "--save-freq", "0", cwd=workdir, check=0)
    scalars = set(_events(workdir / "run").Tags()["scalars"])
    assert "train/loss" in scalars and not any(tag.startswith("val/") for tag in scalars)
