import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from tests.cli.fixtures import run_cli, write_audio, write_images, write_video

FAST = ["--save-freq", "0", "--log-every", "2", "--model-size", "4"]


def _assert_run_dir(run_dir, image=True):
    for name in ("config.json", "model.safetensors", "checkpoints/last.ckpt"):
        assert (run_dir / name).is_file(), name
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    if image:
        assert (run_dir / "reconstructions.png").is_file()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["format"] == "dirvae-run/1" and "training" in config
    return config


def test_no_data_default_trains_on_digits(workdir):
    result = run_cli("train", "--iterations", "6", "--run-dir", "run", *FAST, cwd=workdir, check=0)
    assert "digits" in result.stderr
    assert "results in run" in result.stderr
    config = _assert_run_dir(workdir / "run")
    assert config["data"]["source"] == "digits" and config["architecture"]["name"] == "mlp"
    assert config["progress"]["global_step"] == 6


def test_image_folder_with_resblock(workdir):
    write_images(workdir / "pics", n=8, size=20)
    run_cli("train", "--data", "pics", "--image-size", "16", "--batches", "4", "--iterations", "3", "--run-dir", "run", *FAST, cwd=workdir, check=0)
    config = _assert_run_dir(workdir / "run")
    assert config["architecture"]["name"] == "resblock"  # issue 10: the photo default
    assert config["model"]["reconstruction"] == "gaussian"
    assert config["model"]["reconstruction_options"] == {"channels": 3, "gain": 16.0}
    assert config["data"]["item_shape"] == [3, 16, 16]


def test_an_image_run_from_before_resblock_resumes_with_its_resnet_and_bernoulli(workdir):
    write_images(workdir / "pics", n=8, size=20)
    args = ["--data", "pics", "--image-size", "16", "--batches", "4", "--epochs", "5", "--run-dir", "old", *FAST]
    run_cli("train", *args, "--iterations", "2", "--architecture", "resnet", "--reconstruction", "bernoulli", cwd=workdir, check=0)
    # What dirvae wrote before issue 10: "auto" in the training options, no loss options.
    path = workdir / "old" / "config.json"
    config = json.loads(path.read_text())
    config["training"].update(architecture="auto", reconstruction="auto")
    config["model"].pop("reconstruction_options")
    path.write_text(json.dumps(config))
    run_cli("train", "--load", "old", "--iterations", "4", cwd=workdir, check=0)
    resumed = json.loads(path.read_text())
    assert resumed["progress"]["global_step"] == 4
    assert resumed["architecture"]["name"] == "resnet" and resumed["model"]["reconstruction"] == "bernoulli"


def test_audio_folder(workdir):
    write_audio(workdir / "sounds")
    run_cli(
        "train", "--type", "audio", "--data", "sounds", "--audio-size", "2^11", "--sample-rate", "8000",
        "--batches", "2", "--iterations", "3", "--run-dir", "run", *FAST, cwd=workdir, check=0,
    )
    config = _assert_run_dir(workdir / "run", image=False)
    assert (workdir / "run" / "reconstructions.wav").is_file()
    assert config["data"]["item_shape"] == [1, 2048]
    assert config["architecture"]["name"] == "stft"  # issue 10: the audio default


def test_video_folder(workdir):
    write_video(workdir / "clips" / "a.mp4")
    run_cli("train", "--type", "video", "--data", "clips", "--image-size", "16", "--batches", "4", "--iterations", "3", "--run-dir", "run", *FAST, cwd=workdir, check=0)
    _assert_run_dir(workdir / "run")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "empty"], "empty"),
        (["--data", "missing"], "missing"),
        (["--data", "sounds"], "audio"),
        (["--batches", "0"], "--batches"),
        (["--load", "nowhere"], "nowhere"),
        (["--learning-rate", "nan"], "--learning-rate"),
        (["--save-freq", "nan"], "--save-freq"),
        (["--seed", "-1"], "--seed"),
    ],
)
def test_user_errors_are_one_line_without_traceback(workdir, args, message):
    (workdir / "empty").mkdir()
    write_audio(workdir / "sounds", n=1)
    result = run_cli("train", *args, cwd=workdir, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], result.stderr


def test_sigkill_then_resume_continues_the_step_count(workdir):
    command = [sys.executable, "-m", "dirvae", "train", "--iterations", "100000", "--run-dir", "run", "--save-freq", "0", "--model-size", "4", "--prior-burn-in", "3"]
    process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    checkpoint = workdir / "run" / "checkpoints" / "last.ckpt"
    deadline = time.time() + 120
    try:
        while time.time() < deadline:
            if checkpoint.exists() and (workdir / "run" / "model.safetensors").exists():
                time.sleep(1.5)
                break
            time.sleep(0.2)
        else:
            pytest.fail("no checkpoint appeared")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    killed_at = torch.load(checkpoint, map_location="cpu", weights_only=True)["global_step"]
    assert killed_at > 0
    prior_before = load_file(workdir / "run" / "model.safetensors")["prior_alpha"]
    target = killed_at + 5
    result = run_cli("train", "--load", "run", "--iterations", str(target), cwd=workdir, check=0)
    assert "resuming" in result.stderr
    resumed = torch.load(checkpoint, map_location="cpu", weights_only=True)
    assert resumed["global_step"] == target
    config = json.loads((workdir / "run" / "config.json").read_text())
    assert config["progress"]["global_step"] == target
    assert not torch.equal(load_file(workdir / "run" / "model.safetensors")["prior_alpha"], prior_before) or killed_at <= 3


@pytest.mark.parametrize("sent, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_and_sigterm_save_before_exiting(workdir, sent, code):
    command = [sys.executable, "-m", "dirvae", "train", "--iterations", "100000", "--run-dir", "run", "--save-freq", "3600", "--model-size", "4"]
    process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = workdir / "run" / "tensorboard"
    deadline = time.time() + 120
    while time.time() < deadline and not list(log.glob("events.*")):
        time.sleep(0.2)
    time.sleep(3)
    process.send_signal(sent)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    assert "resume with" in stderr
    assert (workdir / "run" / "checkpoints" / "last.ckpt").is_file()
    assert torch.load(workdir / "run" / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] > 0


def test_config_file_and_resolved_config_saved(workdir):
    (workdir / "opts.yaml").write_text("iterations: 2\nmodel-size: 3\nlearning_rate: 0.005\n")
    run_cli("train", "--config", "opts.yaml", "--run-dir", "run", "--save-freq", "0", cwd=workdir, check=0)
    training = json.loads((workdir / "run" / "config.json").read_text())["training"]
    assert training["iterations"] == 2 and training["model_size"] == 3 and training["learning_rate"] == 0.005


def test_two_process_ddp_on_cpu(workdir):
    run_cli(
        "train", "--iterations", "4", "--run-dir", "run", "--no-gpu", "--devices", "2", "--strategy", "ddp",
        "--batches", "16", *FAST, cwd=workdir, timeout=300, check=0,
    )
    config = _assert_run_dir(workdir / "run")
    assert config["progress"]["global_step"] == 4


def test_two_process_ddp_speaks_once_from_rank_zero(workdir):
    write_audio(workdir / "sounds", n=4, seconds=1.0, rate=8000)
    result = run_cli(
        "train", "--type", "audio", "--data", "sounds", "--audio-size", "2048", "--sample-rate", "8000",
        "--iterations", "2", "--run-dir", "run", "--no-gpu", "--devices", "2", "--strategy", "ddp", "--batches", "2",
        "--save-freq", "0", "--model-size", "4", cwd=workdir, timeout=300, check=0,
    )  # fmt: skip
    text = result.stderr.replace("\r", "\n")
    done = [line for line in text.splitlines() if line.startswith("dirvae: done:")]
    assert len(done) == 1 and text.count("dirvae: results in") == 1, result.stderr[-3000:]
    assert "log_every_n_steps" not in text and "Grad strides do not match" not in text


def test_bf16_mixed_precision_keeps_dirichlet_math_in_float32(workdir):
    run_cli("train", "--iterations", "3", "--run-dir", "run", "--precision", "bf16-mixed", "--no-gpu", *FAST, cwd=workdir, check=0)
    weights = load_file(workdir / "run" / "model.safetensors")
    assert all(torch.isfinite(t).all() for t in weights.values() if t.is_floating_point())


def test_a_malformed_flag_is_one_line(workdir):
    result = run_cli("train", "--batches", "many", cwd=workdir, timeout=60)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--batches" in lines[0] and "Traceback" not in result.stderr


def test_recipe_flags_are_saved_and_a_pre_recipe_run_resumes_with_its_old_meaning(workdir):
    run_cli("train", "--iterations", "3", "--run-dir", "new", "--learn-prior", "--kl-schedule", "linear", "--kl-warmup-steps", "2",
            "--alpha-transform", "exp", *FAST, cwd=workdir, check=0)  # fmt: skip
    config = json.loads((workdir / "new" / "config.json").read_text())
    assert config["model"]["sampler"] == "implicit" and config["model"]["kl_kind"] == "dirichlet"
    assert config["model"]["alpha_transform"] == "exp" and config["model"]["learn_prior"] is True
    assert config["model"]["prior_burn_in"] is None  # the learned prior replaces the moment re-estimate
    assert "view" not in config["training"] and "load" not in config["training"]  # session-only, never resumed
    assert "prior_log_alpha" in load_file(workdir / "new" / "model.safetensors")

    # A run written by dirvae 0.1.0 (paper recipe, no recipe fields saved) keeps its recipe on resume.
    run_cli("train", "--iterations", "3", "--run-dir", "old", "--recipe", "paper", *FAST, cwd=workdir, check=0)
    path = workdir / "old" / "config.json"
    config = json.loads(path.read_text())
    for key in ("recipe", "kl_kind", "alpha_transform", "decoder_input", "learn_prior"):
        config["training"].pop(key)
        if key != "recipe":
            config["model"].pop(key, None) if key != "kl_kind" else None
    config["training"]["sampler"] = "igca"
    path.write_text(json.dumps(config))
    run_cli("train", "--load", "old", "--iterations", "5", cwd=workdir, check=0)
    resumed = json.loads(path.read_text())
    assert resumed["progress"]["global_step"] == 5
    assert {k: resumed["model"][k] for k in ("sampler", "kl_kind", "alpha_transform", "decoder_input", "learn_prior")} == {
        "sampler": "igca", "kl_kind": "gamma", "alpha_transform": "softplus", "decoder_input": "simplex", "learn_prior": False,
    }  # fmt: skip
