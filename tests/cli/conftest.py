"""The CLI tests' fixtures: a working folder, and tiny trained runs shared by the use commands' tests.

Each modality is trained once per test session, all four at the same time
(a few steps, K = 4, tiny items): digits (MLP, one simplex), RGB images at
14 px (the resblock nets, a 2×2 field of simplices), audio windows of 2048 samples at
8 kHz (a field of 8 along time) and video frames at 16 px.

Commands run in-process through ``dirvae.cli.main.main`` (a fresh Python per
call would cost seconds each); the error cases that must show exactly what a
user sees run as real ``python -m dirvae`` processes, all started at once.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tests.cli.helpers import AUDIO_SIZE, IMAGE_SIZE, K, SAMPLE_RATE, VIDEO_FRAMES, VIDEO_SIZE, Result, write_audio, write_images, write_video

TRAIN = ["--save-freq", "0", "--model-size", str(K), "--batches", "2", "--log-every", "1000"]
# The waveform nets are the slowest by far on a CPU: one step is enough there.
RUN_ARGS = {
    "digits": ["--iterations", "2"],
    "image": ["--data", "pics", "--image-size", str(IMAGE_SIZE), "--iterations", "2"],
    "audio": ["--type", "audio", "--data", "sounds", "--audio-size", str(AUDIO_SIZE), "--sample-rate", str(SAMPLE_RATE), "--iterations", "1"],
    "video": ["--type", "video", "--data", "clips", "--image-size", str(VIDEO_SIZE), "--iterations", "2"],
}


@pytest.fixture
def workdir(tmp_path):
    """A fresh current directory for a CLI run (no data/ folder, so digits is the default)."""
    return tmp_path


def _env() -> dict:
    env = dict(os.environ)
    # Four trainings share two cores: one thread each avoids oversubscription.
    env.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"})
    return env


class Background:
    """``python -m dirvae ARGS`` for each named command, all started now; ``results()`` waits."""

    def __init__(self, commands: dict[str, list[str]], cwd: Path) -> None:
        # Output goes to files, not pipes: a full pipe would stall a process nobody reads yet.
        self.processes = {}
        for name, args in commands.items():
            out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
            process = subprocess.Popen(
                [sys.executable, "-m", "dirvae", *map(str, args)], cwd=cwd, stdout=out, stderr=err, text=True, env=_env()
            )
            self.processes[name] = (process, out, err)
        self._results: dict[str, Result] | None = None

    def results(self, timeout: float = 300) -> dict[str, Result]:
        if self._results is None:
            done = {}
            for name, (process, out, err) in self.processes.items():
                process.wait(timeout=timeout)
                texts = []
                for handle in (out, err):
                    handle.seek(0)
                    texts.append(handle.read())
                    handle.close()
                done[name] = Result(process.returncode, *texts)
            self._results = done
        return self._results


@dataclass
class UseRuns:
    """The data folders and the trained runs (``runs["digits" | "image" | "audio" | "video"]``)."""

    base: Path
    runs: dict[str, Path] = field(default_factory=dict)

    def run(self, name: str) -> Path:
        return self.runs[name]


def _make_data(base: Path) -> None:
    write_images(base / "pics", n=6, size=20)
    write_audio(base / "sounds", n=3, seconds=1.0, rate=SAMPLE_RATE)
    write_video(base / "clips" / "a.mp4", frames=VIDEO_FRAMES, size=32)
    (base / "broken.png").write_bytes(b"this is not a picture")
    (base / "broken.wav").write_bytes(b"RIFF....WAVEfmt garbage")
    (base / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 garbage")
    (base / "notes.txt").write_text("not data\n")
    mixed = base / "mixed"
    mixed.mkdir()
    for name in ("img000.png", "img001.png"):
        shutil.copy(base / "pics" / name, mixed / name)
    (mixed / "zz_broken.png").write_bytes(b"not a picture either")


def _train_all(base: Path) -> UseRuns:
    _make_data(base)
    commands = {name: ["train", *args, *TRAIN, "--run-dir", f"run_{name}"] for name, args in RUN_ARGS.items()}
    results = Background(commands, base).results()
    for name, result in results.items():
        assert result.returncode == 0, f"training {name} failed:\n{result.stderr[-3000:]}"
    return UseRuns(base, {name: base / f"run_{name}" for name in RUN_ARGS})


@dataclass
class UseSession:
    """What ``_use_session`` made: the runs, their broken copies, and the error processes started on them."""

    use: UseRuns
    broken: dict[str, Path]
    commands: dict[str, tuple[list[str], str]]
    errors: Background


@pytest.fixture(scope="session")
def _use_session(tmp_path_factory) -> Iterator[UseSession]:
    """Train the four tiny runs once per session (in parallel).

    The broken copies are made right away and the error processes started
    in the background, so they run while the in-process tests do.
    """
    use = _train_all(tmp_path_factory.mktemp("use-runs"))
    broken = _broken_runs(use)
    commands = process_errors(use, broken)
    errors = Background({name: args for name, (args, _) in commands.items()}, use.base)
    yield UseSession(use, broken, commands, errors)
    errors.results()  # never leave them running past the session


@pytest.fixture(scope="session")
def use_runs(_use_session) -> UseRuns:
    """The data folders and the four trained runs."""
    return _use_session.use


def _broken_runs(use: UseRuns) -> dict[str, Path]:
    """Copies of the image run with one thing wrong each."""
    base = use.base / "broken_runs"
    source = use.run("image")
    made: dict[str, Path] = {}

    def copy(name: str) -> Path:
        target = base / name
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("checkpoints", "tensorboard"))
        made[name] = target
        return target

    (base / "not_a_run").mkdir(parents=True)
    made["not_a_run"] = base / "not_a_run"
    weights = copy("corrupt") / "model.safetensors"
    weights.write_bytes(np.random.default_rng(0).bytes(200))
    weights = copy("truncated") / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    config_path = copy("wrong_size") / "config.json"
    config = json.loads(config_path.read_text())
    config["model"]["model_size"] = K + 2
    config_path.write_text(json.dumps(config))
    config_path = copy("wrong_data") / "config.json"
    config = json.loads(config_path.read_text())
    config["data"]["image_size"] = config["data"]["image_size"] * 2
    config_path.write_text(json.dumps(config))
    config_path = copy("wrong_shape") / "config.json"
    config = json.loads(config_path.read_text())
    size = config["data"]["image_size"] * 2
    config["data"].update(image_size=size, item_shape=[3, size, size])
    config_path.write_text(json.dumps(config))
    return made


@pytest.fixture(scope="session")
def broken_runs(_use_session) -> dict[str, Path]:
    """Not a run, corrupt or truncated weights, and three kinds of mismatched config."""
    return _use_session.broken


def process_errors(use: UseRuns, broken: dict[str, Path]) -> dict[str, tuple[list[str], str]]:
    """The issue's user errors, each through a real process: name → (args, text the line must hold).

    One per kind of error the issue lists, since every process costs a
    Python and torch start-up; the other error cases run in-process, through
    the same ``main`` (a traceback there would fail the test just the same).
    """
    b = use.base
    image = use.run("image")
    return {
        "not_a_run": (["sample", broken["not_a_run"]], "not a run directory"),
        "truncated_weights": (
            ["interpolate", broken["truncated"], b / "pics/img000.png", b / "pics/img001.png"],
            "corrupt or truncated weights",
        ),
        "mismatched_config": (["traverse", broken["wrong_shape"]], "mismatched configuration"),
        "wrong_modality_file": (["reconstruct", image, b / "sounds/tone0.wav"], "this run models image"),
    }


@pytest.fixture(scope="session")
def cli_errors(_use_session) -> dict[str, tuple[Result, str]]:
    """The error processes' results (started with the runs) with the text each must show."""
    results = _use_session.errors.results()
    return {name: (results[name], text) for name, (_, text) in _use_session.commands.items()}
