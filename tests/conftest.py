import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


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
