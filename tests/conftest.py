import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """Tiny nets and signals are dispatch-bound: extra intra-op threads only add
    spin-waiting, which turns into 10x slowdowns when other processes share the cores."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
