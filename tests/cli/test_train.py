import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.cli.helpers import run_cli, write_audio, write_images, write_video

FAST = ["--save-freq", "0", "--log-every", "2", "--model-size", "4"]


def _assert_run_dir(run_dir, image=True):
    for name in ("config.json", "model.safetensors", "checkpoints/last.ckpt"):
        assert (run_dir / name).is_file(), name
    assert list(run_dir.glob("events.out.tfevents.*"))
    if image:
        assert (run_dir / "reconstructions.png").is_file()
    config = json.loads((run_dir / "config.json").read_text())
    assert config["format"] == "dirvae-run/2" and "training" in config
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
    assert config["model"]["reconstruction_options"] == {"channels": 3, "gain": 16.0, "pixel_scale": 16}  # issue 25
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
    env = {**os.environ, "PYTHONFAULTHANDLER": "1"}  # SIGABRT below prints every thread's stack
    process = subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    log = workdir / "run"
    deadline = time.time() + 120
    while time.time() < deadline and not list(log.glob("events.*")):
        time.sleep(0.2)
    time.sleep(3)
    process.send_signal(sent)
    try:
        _, stderr = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGABRT)  # a hang after the signal: fail with where each thread waits
        _, stderr = process.communicate(timeout=30)
        pytest.fail(f"no exit 120 s after signal {sent}; stacks:\n{stderr.split('Extension modules:')[0][-8000:]}")
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
    result = run_cli(
        "train", "--iterations", "4", "--run-dir", "run", "--no-gpu", "--devices", "2", "--strategy", "ddp",
        "--batches", "16", *FAST, cwd=workdir, timeout=300, check=0,
    )
    config = _assert_run_dir(workdir / "run")
    assert config["progress"]["global_step"] == 4
    said = [line for line in result.stderr.replace("\r", "\n").splitlines() if line.startswith("dirvae:")]
    assert len(said) == len(set(said)) and any("embedded scikit-learn digits" in line for line in said), said


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
    config.update(format="dirvae-run/1", dirvae_version="0.1.0")  # what 0.1.0 wrote; format 2 always holds the recipe
    path.write_text(json.dumps(config))
    run_cli("train", "--load", "old", "--iterations", "5", cwd=workdir, check=0)
    resumed = json.loads(path.read_text())
    assert resumed["progress"]["global_step"] == 5
    assert {k: resumed["model"][k] for k in ("sampler", "kl_kind", "alpha_transform", "decoder_input", "learn_prior")} == {
        "sampler": "igca", "kl_kind": "gamma", "alpha_transform": "softplus", "decoder_input": "simplex", "learn_prior": False,
    }  # fmt: skip


# ---------------------------------------------------------------- issue 13
@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A small finished digits run (3 steps, K=4), copied by each test that damages it."""
    root = tmp_path_factory.mktemp("trained")
    run_cli("train", "--iterations", "3", "--run-dir", "run", *FAST, cwd=root, check=0)
    return root / "run"


def _copy_run(trained_run, workdir):
    import shutil

    return Path(shutil.copytree(trained_run, workdir / "run"))


def _one_line(result, code=2):
    """The one line that says what went wrong (progress lines such as "resuming ..." may precede it)."""
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert result.returncode == code and "Traceback" not in result.stderr, result.stderr
    said = [line for line in lines if "error:" in line] if code else lines[-1:]
    assert len(said) == 1 and said[0] == lines[-1], result.stderr
    return said[0]


def test_resume_flags_win_caps_are_absolute_and_iterations_are_never_cut_to_one_epoch(workdir):
    write_images(workdir / "pics", n=8, size=20)
    old = os.umask(0o022)
    try:
        common = ["--data", "pics", "--image-size", "16", "--batches", "4", *FAST]  # 2 steps an epoch
        result = run_cli("train", *common, "--iterations", "5", "--run-dir", "run", cwd=workdir, check=0)
    finally:
        os.umask(old)
    assert "trained 5 steps this session" in result.stderr  # not stopped after the first epoch's 2
    for name in ("config.json", "model.safetensors", "checkpoints/last.ckpt", "reconstructions.png"):
        assert (workdir / "run" / name).stat().st_mode & 0o777 == 0o644, name  # the umask, not mkstemp's 0600

    line = _one_line(run_cli("train", "--load", "run", "--iterations", "5", cwd=workdir), code=0)
    assert "nothing to train" in line and "trained 0 steps" in line and "--iterations 5" in line

    # --epochs on the resume replaces the saved --iterations (the README's own example trained 0 steps).
    result = run_cli("train", "--load", "run", "--epochs", "4", "--learning-rate", "0.002", cwd=workdir, check=0)
    config = json.loads((workdir / "run" / "config.json").read_text())
    assert config["training"]["learning_rate"] == 0.002 and config["training"]["epochs"] == 4
    assert config["training"]["iterations"] is None
    step = config["progress"]["global_step"]
    assert step > 5 and f"trained {step - 5} steps this session (the run is at step {step})" in result.stderr


def test_a_run_whose_every_step_is_non_finite_fails_and_says_why(trained_run, workdir):
    run = _copy_run(trained_run, workdir)
    path = run / "checkpoints" / "last.ckpt"
    checkpoint = torch.load(path, weights_only=True)
    # The weights training resumes from: the raw ones beside an EMA's average (state_dict), else state_dict itself.
    for weights in (checkpoint["state_dict"], checkpoint.get("current_model_state", {})):
        for value in weights.values():
            if value.is_floating_point():
                value.fill_(float("nan"))
    torch.save(checkpoint, path)
    result = run_cli("train", "--load", "run", "--iterations", "1000", cwd=workdir)
    assert result.returncode == 1, result.stderr
    assert "failed" in result.stderr and "non-finite" in result.stderr and "done:" not in result.stderr


@pytest.mark.parametrize(
    "damage, message",
    [
        ("empty-checkpoint", "checkpoint is damaged.*model.safetensors are intact"),
        ("truncated-checkpoint", "checkpoint is damaged.*model.safetensors are intact"),
        ("random-checkpoint", "checkpoint is damaged"),
        ("foreign-checkpoint", "not a dirvae training checkpoint"),
        ("truncated-config", "config.json: unreadable configuration .*restore it, or start a new run"),
        ("list-config", "config.json: not a dirvae run configuration .*restore it, or start a new run"),
        ("wrong-type-config", "config.json.*--batches"),
        ("inconsistent-config", "does not match .*config.json"),
    ],
)
def test_loading_a_damaged_run_is_one_line_saying_what_to_do(trained_run, workdir, damage, message):
    import re

    run = _copy_run(trained_run, workdir)
    checkpoint, config = run / "checkpoints" / "last.ckpt", run / "config.json"
    if damage == "empty-checkpoint":
        checkpoint.write_bytes(b"")
    elif damage == "truncated-checkpoint":
        checkpoint.write_bytes(checkpoint.read_bytes()[:4096])
    elif damage == "random-checkpoint":
        checkpoint.write_bytes(os.urandom(100_000))
    elif damage == "foreign-checkpoint":
        torch.save({"model": torch.ones(3)}, checkpoint)
    elif damage == "truncated-config":
        config.write_text(config.read_text()[:100])
    elif damage == "list-config":
        config.write_text("[1, 2]")
    else:
        saved = json.loads(config.read_text())
        saved["training"].update(batches="many") if damage == "wrong-type-config" else saved["training"].update(model_size=5)
        config.write_text(json.dumps(saved))
    line = _one_line(run_cli("train", "--load", "run", "--iterations", "6", cwd=workdir, timeout=120))
    assert re.search(message, line), line


@pytest.mark.parametrize(
    "args, message",
    [
        (["--devices", "0"], "--devices"),
        (["--devices", "abc"], "--devices"),
        (["--strategy", "bogus"], "--strategy"),
        (["--run-dir", "afile"], "is a file"),
        (["--run-dir", "afile/run"], "--run-dir afile/run: cannot create"),
        (["--image-size", "100000"], "--image-size 100000 is too large"),
        (["--audio-size", "10^9999999"], "too large"),
        (["--audio-size", "99999999999"], "--audio-size 99999999999 is too large"),
        (["--config", "float.yaml"], "--model-size must be a whole number"),
        (["--config", "list.yaml"], "--iterations must be a number"),
        (["--config", "bool.yaml"], "--batches must be a number"),
    ],
)
def test_more_bad_values_are_one_line(workdir, args, message):
    (workdir / "afile").write_text("not a folder")
    (workdir / "float.yaml").write_text("model-size: 3.5\n")
    (workdir / "list.yaml").write_text("iterations: [1, 2]\n")
    (workdir / "bool.yaml").write_text("batches: true\n")
    line = _one_line(run_cli("train", *args, "--iterations", "2", cwd=workdir, timeout=120))
    assert message in line, line


def test_an_output_that_cannot_be_written_is_one_line(trained_run, workdir):
    _copy_run(trained_run, workdir)
    (workdir / "afile").write_text("in the way")
    line = _one_line(run_cli("sample", "run", "--n", "2", "--out", "afile/samples.png", cwd=workdir, timeout=120))
    assert "afile/samples.png" in line and "cannot write" in line, line
