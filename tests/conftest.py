import importlib.util
import os
import tempfile
from pathlib import Path
from types import ModuleType

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _subprocesses_import_this_dirvae() -> None:
    """``python -m dirvae`` started by a test must run the dirvae this test process imports.

    A relative ``PYTHONPATH=src`` (a worktree's checkout) stops applying once a
    subprocess runs in a temporary folder, and the interpreter's installed copy
    would be tested instead; so the tested copy's folder goes first, absolute.
    """
    spec = importlib.util.find_spec("dirvae")
    if spec is None or not spec.submodule_search_locations:
        return
    root = str(Path(list(spec.submodule_search_locations)[0]).resolve().parent)
    rest = [part for part in os.environ.get("PYTHONPATH", "").split(os.pathsep) if part and Path(part).resolve() != Path(root)]
    os.environ["PYTHONPATH"] = os.pathsep.join([root, *rest])


_subprocesses_import_this_dirvae()

# Vectorised text corpora are cached per user (~/.cache/dirvae); the tests keep theirs in a temporary folder.
os.environ.setdefault("DIRVAE_CACHE", tempfile.mkdtemp(prefix="dirvae-test-cache-"))

SLOW = (
    # Whole files: they train runs through the command line, or run benchmarks' smoke modes.
    "tests/cli/",
    "tests/test_benchmarks.py",
    "tests/test_speech_benchmark.py",
    "tests/test_video_benchmark.py",
    "tests/training/test_digits_quality.py",
    # Single tests that fork interpreters, kill processes or train for seconds.
    "tests/test_imports.py::test_every_module_imports_alone",
    "tests/training/test_checkpoints.py::test_killed_at_random_moments",
    "tests/training/test_module.py::test_bad_files_count_once",
    "tests/training/test_data_module.py::test_data_module_trains_and_validates",
    "tests/nets/test_image.py::test_resblock_dirvae_learns",
    "tests/training/test_thread_trial.py::test_a_cpu_run_with_a_decoding_worker_and_an_idle_core_times_both_counts_and_keeps_one",
)
"""Tests left out of ``pytest -m "not slow"``, the under-90-second loop to work in; CI and the README's command run all.
Node-id prefixes, so one list says what is slow and why, besides ``@pytest.mark.slow`` where a test is written."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = Path(__file__).resolve().parents[1]
    for item in items:
        node = Path(item.fspath).resolve().relative_to(root).as_posix() + "::" + item.name
        if node.startswith(SLOW):
            item.add_marker(pytest.mark.slow)


def load_benchmark(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` as a module: the scripts are not a package, and some put benchmarks/ on sys.path themselves."""
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def one_thread():
    """Tiny nets and signals are dispatch-bound: extra intra-op threads only add
    spin-waiting, which turns into 10x slowdowns when other processes share the cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def tiny_lightning_module():
    """A one-layer ``LightningModule`` class; ``Tiny(step_seconds)`` makes each training step last at least that long."""
    import time

    import lightning as L

    class Tiny(L.LightningModule):
        def __init__(self, step_seconds: float = 0.0):
            super().__init__()
            self.layer = torch.nn.Linear(2, 1)
            self.step_seconds = step_seconds

        def training_step(self, batch, batch_idx):
            if self.step_seconds:
                time.sleep(self.step_seconds)
            return self.layer(batch).pow(2).mean()

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    return Tiny
