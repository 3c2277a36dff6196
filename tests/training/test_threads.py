"""CPU threads follow what the machine does now, not the lagging 1-minute load average, and the choice is said."""

import os

import torch
from torch import nn

from dirvae.training import threads


def test_an_idle_machine_with_a_high_load_average_gets_every_core(monkeypatch):
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(threads.os, "getloadavg", lambda: (3.9, 3.9, 3.9))  # another job just ended
    big = nn.Linear(3000, 2000)  # 6M parameters: not a small model
    chosen, line = threads.cpu_threads(None, big, (3, 64, 64), busy=lambda: 0.1)
    assert chosen == 4
    assert line == "4 CPU threads (4 cores, 0.1 busy); --threads N to choose"


def test_busy_cores_are_left_alone_and_small_models_or_flags_say_why(monkeypatch):
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 4)
    big = nn.Linear(3000, 2000)
    assert threads.cpu_threads(None, big, (3, 64, 64), busy=lambda: 2.6)[0] == 1
    assert threads.cpu_threads(None, big, (3, 64, 64), busy=lambda: 9.0)[0] == 1
    small, line = threads.cpu_threads(None, nn.Linear(4, 4), (1, 28, 28), busy=lambda: 0.0)
    assert small == 1 and "small model" in line
    assert threads.cpu_threads(3, big, (3, 64, 64), busy=lambda: 4.0) == (3, "3 CPU threads (--threads; 4 cores)")


def test_the_sample_reads_this_machine_and_stays_in_range():
    busy = threads.busy_cores_now(0.05)
    assert 0.0 <= busy <= (os.cpu_count() or 1) + 0.5
    torch.set_num_threads(torch.get_num_threads())  # nothing changed


def test_data_workers_none_for_memory_auto_for_decoding_and_a_flag_wins(monkeypatch):
    from dirvae.data.digits import DigitsDataset
    from dirvae.text.corpus import SparseCorpus
    from dirvae.text.dataset import TextCorpus
    from torch.utils.data import Subset

    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)
    assert not DigitsDataset.decodes_items and not SparseCorpus.decodes_items and not TextCorpus.decodes_items
    class Folder:  # any reader without the attribute decodes (image files, audio, video, shards)
        pass
    memory = Subset(DigitsDataset.__new__(DigitsDataset), [0])
    assert not threads.decodes_items(memory) and threads.decodes_items(Subset(Folder(), [0]))
    assert threads.data_workers(None, False, busy=lambda: 0.0)[0] == 0
    workers, line = threads.data_workers(None, True, busy=lambda: 3.0)  # a busy 2-core machine: 1 worker + 1 thread
    assert workers == 1 and "--num-workers N" in line
    big = nn.Linear(3000, 2000)
    assert threads.cpu_threads(None, big, (3, 64, 64), busy=lambda: 0.0, workers=workers)[0] == 1
    assert threads.data_workers(3, True)[0] == 3 and threads.data_workers(0, True)[0] == 0
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 16)
    assert threads.data_workers(None, True, busy=lambda: 0.0)[0] == 8
    assert threads.data_workers(None, True, gpu=True)[0] == 8
