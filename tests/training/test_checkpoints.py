"""Checkpoints survive kills at any moment, on any file-system layout (issue 13, items 2, 3, 10, 14)."""

import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from dirvae.errors import RunError
from dirvae.training.checkpoints import AtomicCheckpointIO, newest_checkpoint, read_progress

# Runs dirvae with every rename that would cross folders (so, possibly, devices)
# failing as it does across file systems, logged so the test can prove none was tried.
CROSS_DEVICE_LAUNCHER = """
import errno, os, sys
log = os.environ["CROSS_DEVICE_LOG"]
def guard(real):
    def move(src, dst, *args, **kwargs):
        if os.path.dirname(os.path.abspath(src)) != os.path.dirname(os.path.abspath(dst)):
            with open(log, "a") as handle:
                handle.write(f"{src} -> {dst}\\n")
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real(src, dst, *args, **kwargs)
    return move
os.replace = guard(os.replace)
os.rename = guard(os.rename)
from dirvae.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def _other_tmpdir(workdir: Path) -> Path:
    """A temp folder on another file system than the run when the machine has one (tmpfs /dev/shm)."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shm.stat().st_dev != workdir.stat().st_dev:
        folder = shm / f"dirvae-test-{os.getpid()}-{random.randrange(10**9)}"
    else:
        folder = workdir / "othertmp"
    folder.mkdir()
    return folder


def _checkpoints(run: Path) -> list[Path]:
    return sorted((run / "checkpoints").glob("*.ckpt"))


def test_atomic_checkpoint_io_writes_beside_the_target_and_respects_the_umask(tmp_path, monkeypatch):
    moves = []
    real_replace = os.replace

    def replace(src, dst):
        moves.append((Path(src).parent, Path(dst).parent))
        if Path(src).parent != Path(dst).parent:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "elsewhere"))
    old = os.umask(0o022)
    try:
        target = tmp_path / "run" / "checkpoints" / "last.ckpt"
        AtomicCheckpointIO().save_checkpoint({"state_dict": {"w": torch.ones(3)}, "global_step": 7}, target)
    finally:
        os.umask(old)
    assert moves == [(target.parent, target.parent)]
    assert read_progress(target)["global_step"] == 7
    assert target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["last.ckpt"]


def test_killed_at_random_moments_with_tmpdir_elsewhere_every_resume_continues_from_the_newest_step(tmp_path):
    workdir = tmp_path
    other_tmp = _other_tmpdir(workdir)
    log = workdir / "cross-device.log"
    env = {**os.environ, "TMPDIR": str(other_tmp), "CROSS_DEVICE_LOG": str(log), "PYTHONUNBUFFERED": "1"}
    run = workdir / "run"
    launcher = [sys.executable, "-c", CROSS_DEVICE_LAUNCHER, "train", "--model-size", "4"]
    base = [*launcher, "--iterations", "100000"]
    rng = random.Random(13)
    newest = 0
    try:
        for round_ in range(3):
            # Alternate --save-freq: a changed value on resume must not divert progress to another file.
            freq = ["--save-freq", "0" if round_ % 2 == 0 else "0.05"]
            args = ["--run-dir", "run", *freq] if round_ == 0 else ["--load", "run", *freq]
            process = subprocess.Popen([*base, *args], cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            deadline = time.time() + 120
            while time.time() < deadline:
                steps = [read_progress(p)["global_step"] for p in _checkpoints(run) if p.stat().st_size]
                if steps and max(steps) > newest:
                    break
                assert process.poll() is None, process.stderr.read().decode()
                time.sleep(0.05)
            else:
                pytest.fail("training made no progress")
            time.sleep(rng.uniform(0.0, 1.5))  # then kill mid-whatever: a step, a checkpoint write, a rename
            process.send_signal(signal.SIGKILL)
            process.wait()
            process.stderr.close()
            assert [p.name for p in _checkpoints(run)] == ["last.ckpt"]
            step = read_progress(run / "checkpoints" / "last.ckpt")["global_step"]  # whole, never truncated
            assert step >= newest
            newest = step
        target = newest + 2
        command = [*launcher, "--load", "run", "--iterations", str(target), "--save-freq", "3600"]
        result = subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0 and "trained 2 steps this session" in result.stderr, result.stderr
        assert json.loads((run / "config.json").read_text())["progress"]["global_step"] == target
        assert not list(run.rglob("*.dirvae-tmp")), "orphan temp files survived the restart"
        assert not log.exists() or log.read_text() == "", log.read_text()
        assert not [p for p in other_tmp.rglob("*") if p.is_file()], "dirvae wrote into $TMPDIR"
    finally:
        if other_tmp.parent == Path("/dev/shm"):
            for path in sorted(other_tmp.rglob("*"), reverse=True):
                path.rmdir() if path.is_dir() else path.unlink()
            other_tmp.rmdir()


def _save(path: Path, step: int) -> None:
    AtomicCheckpointIO().save_checkpoint({"state_dict": {"w": torch.ones(1)}, "global_step": step, "epoch": 0}, path)


def test_the_newest_step_wins_over_the_name(tmp_path):
    # What older versions left after a --save-freq change: progress in last-v1.ckpt, a stale last.ckpt.
    _save(tmp_path / "checkpoints" / "last.ckpt", 40)
    _save(tmp_path / "checkpoints" / "last-v1.ckpt", 200)
    path, progress = newest_checkpoint(tmp_path)
    assert path.name == "last-v1.ckpt" and progress["global_step"] == 200
    (tmp_path / "checkpoints" / "last-v1.ckpt").write_bytes(b"")  # damaged: the other one still resumes
    assert newest_checkpoint(tmp_path)[0].name == "last.ckpt"


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "checkpoint is damaged"),
        (b"\x8f" * 5000, "checkpoint is damaged"),
        ("truncate", "checkpoint is damaged"),
        ("foreign", "not a dirvae training checkpoint"),
    ],
)
def test_a_damaged_checkpoint_is_one_error_that_says_what_is_intact(tmp_path, content, message):
    from safetensors.torch import save_file

    path = tmp_path / "checkpoints" / "last.ckpt"
    _save(path, 5)
    if content == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif content == "foreign":
        torch.save({"weights": torch.ones(2)}, path)
    else:
        path.write_bytes(content)
    with pytest.raises(RunError, match=f"{message}.*start a new run"):
        newest_checkpoint(tmp_path)
    save_file({"w": torch.ones(1)}, tmp_path / "model.safetensors")
    with pytest.raises(RunError, match="model.safetensors are intact"):
        newest_checkpoint(tmp_path)


def test_a_crash_saves_the_last_finished_step_unless_the_weights_are_ruined(tmp_path):
    from types import SimpleNamespace

    from dirvae.training.checkpoints import RunExport

    saved = []
    trainer = SimpleNamespace(world_size=1, global_step=7, save_checkpoint=lambda path, weights_only: saved.append(path))
    module = torch.nn.Linear(2, 2)
    export = RunExport(tmp_path, {})
    export.on_exception(trainer, module, RuntimeError("a bug mid-run"))
    assert saved == [tmp_path / "checkpoints" / "last.ckpt"] and export.saved_on_crash and not export.interrupted
    with torch.no_grad():
        module.weight.fill_(float("nan"))
    export.on_exception(trainer, module, RuntimeError("again"))
    assert len(saved) == 1  # NaN weights would overwrite a good checkpoint


def test_a_background_checkpoint_holds_the_step_it_was_taken_at_and_is_on_disk_after_teardown(tmp_path):
    from dirvae.training.background import BackgroundWriter

    gate = __import__("threading").Event()
    writer = BackgroundWriter()
    writer.submit(gate.wait)  # a slow disk: the write waits behind another job
    io = AtomicCheckpointIO(writer)
    weights = torch.ones(3)
    target = tmp_path / "checkpoints" / "last.ckpt"
    io.save_checkpoint({"state_dict": {"w": weights}, "global_step": 7, "epoch": 0}, target)
    weights.fill_(5.0)  # the next optimiser step
    assert not target.exists()  # the training thread did not wait for the disk
    gate.set()
    io.teardown()
    assert read_progress(target)["global_step"] == 7
    assert torch.equal(torch.load(target, weights_only=True)["state_dict"]["w"], torch.ones(3))
    assert [p.name for p in target.parent.iterdir()] == ["last.ckpt"]


def test_the_save_on_the_way_out_waits_for_its_write(tmp_path):
    from types import SimpleNamespace

    from dirvae.training.background import BackgroundWriter
    from dirvae.training.checkpoints import RunExport

    writer = BackgroundWriter()
    io = AtomicCheckpointIO(writer)
    path = tmp_path / "checkpoints" / "last.ckpt"

    def save_checkpoint(target, weights_only):
        io.save_checkpoint({"state_dict": {"w": torch.ones(1)}, "global_step": 3, "epoch": 0}, target)

    trainer = SimpleNamespace(world_size=1, global_step=3, save_checkpoint=save_checkpoint)
    export = RunExport(tmp_path, {}, writer)
    writer.submit(lambda: (_ for _ in ()).throw(OSError("an earlier picture failed")))
    export.on_exception(trainer, torch.nn.Linear(1, 1), KeyboardInterrupt())
    assert export.interrupted and read_progress(path)["global_step"] == 3  # written before on_exception returned


def test_detached_copy_copies_every_tensor_and_keeps_container_types():
    from collections import OrderedDict

    from lightning.fabric.utilities.data import AttributeDict

    from dirvae.training.checkpoints import detached_copy

    weights = torch.ones(2, requires_grad=True)
    moments = torch.zeros(2)
    original = {
        "state_dict": OrderedDict(w=weights),
        "optimizer_states": [{"state": {0: {"exp_avg": moments, "step": torch.tensor(3.0)}}, "param_groups": [{"lr": 0.1, "params": [0]}]}],
        "hyper_parameters": AttributeDict(lr=0.1),
        "shape": (2, 3),
        "global_step": 7,
    }
    copied = detached_copy(original)
    with torch.no_grad():
        weights.add_(1)
    moments.add_(1)
    assert type(copied["state_dict"]) is OrderedDict and type(copied["hyper_parameters"]) is AttributeDict
    assert torch.equal(copied["state_dict"]["w"], torch.ones(2)) and not copied["state_dict"]["w"].requires_grad
    assert torch.equal(copied["optimizer_states"][0]["state"][0]["exp_avg"], torch.zeros(2))
    assert copied["shape"] == (2, 3) and copied["global_step"] == 7 and copied["hyper_parameters"].lr == 0.1


def test_timed_checkpoints_are_written_once_per_interval(tmp_path, tiny_lightning_module):
    import lightning as L

    from dirvae.training.checkpoints import periodic_checkpoint

    class Saves(L.Callback):
        times: list = []

        def on_save_checkpoint(self, trainer, pl_module, checkpoint):
            self.times.append(time.monotonic())

    saves = Saves()
    trainer = L.Trainer(
        accelerator="cpu", max_steps=20, logger=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[periodic_checkpoint(tmp_path, 0.15), saves], default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(tiny_lightning_module(step_seconds=0.03), torch.utils.data.DataLoader(torch.randn(40, 2), batch_size=2))
    assert len(saves.times) >= 1  # 20 steps of >= 30 ms pass at least one 0.15 s interval
    # Saves are timed from Lightning's check, a little before this hook: allow that, but not a save every 30 ms step.
    assert all(later - earlier >= 0.1 for earlier, later in zip(saves.times, saves.times[1:]))
    assert read_progress(tmp_path / "checkpoints" / "last.ckpt")["global_step"] >= 5


def test_a_moved_run_folder_keeps_its_checkpoint_record_and_a_run_in_place_is_unchanged(tmp_path):
    from dirvae.training.checkpoints import moved_with_the_run

    saved = {"dirpath": "/old/run/checkpoints", "best_model_path": "/old/run/checkpoints/best.ckpt", "best_model_score": 1.0,
             "best_k_models": {"/old/run/checkpoints/best.ckpt": 1.0}, "kth_best_model_path": "", "last_model_path": ""}  # fmt: skip
    moved = moved_with_the_run(saved, tmp_path / "checkpoints")
    assert moved["dirpath"] == str(tmp_path / "checkpoints") and moved["best_model_score"] == 1.0
    assert moved["best_model_path"] == str(tmp_path / "checkpoints" / "best.ckpt")
    assert moved["best_k_models"] == {str(tmp_path / "checkpoints" / "best.ckpt"): 1.0} and moved["last_model_path"] == ""
    assert moved_with_the_run(saved, "/old/run/checkpoints") is saved
