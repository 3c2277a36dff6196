"""The thread trial times each count on the steps it ran and keeps the faster, and only runs where there is a choice."""

from types import SimpleNamespace

from torch import nn

from dirvae.training import threads
from dirvae.training.thread_trial import ThreadTrial


class FakeRun:
    """Steps whose length depends on the thread count in force, on a fake clock."""

    def __init__(self, seconds_per_step: dict[int, float]) -> None:
        self.seconds_per_step = seconds_per_step
        self.now = 0.0
        self.threads = max(seconds_per_step)
        self.set_calls: list[int] = []
        self.notes: list[str] = []

    def set_threads(self, count: int) -> None:
        self.threads = count
        self.set_calls.append(count)

    def trial(self, counts, **kwargs) -> ThreadTrial:
        return ThreadTrial(counts, clock=lambda: self.now, set_threads=self.set_threads, note=self.notes.append, **kwargs)

    def steps(self, trial: ThreadTrial, count: int, *, validate_at: int | None = None) -> None:
        trainer = SimpleNamespace(world_size=1)
        for step in range(count):
            if step == validate_at:
                trial.on_validation_start(trainer, None)
                self.now += 100.0  # a long validation pass must not count as a step
            self.now += self.seconds_per_step[self.threads]
            trial.on_train_batch_end(trainer, None, None, None, step)


def test_the_faster_count_is_kept_whichever_it_is():
    for seconds, expected in (({2: 0.12, 1: 0.18}, 2), ({2: 0.45, 1: 0.36}, 1)):
        run = FakeRun(seconds)
        trial = run.trial([2, 1], warmup=2, settle=1, timed=4)
        trial.on_train_start(SimpleNamespace(world_size=1), None)
        run.steps(trial, 2 + 1 + 4 + 1 + 3)
        assert trial.chosen is None and run.set_calls == [2, 1]  # one step short of the decision
        run.steps(trial, 1)
        assert trial.chosen == expected and run.threads == expected
        assert {count: [round(t, 9) for t in times] for count, times in trial.step_seconds.items()} == {2: [seconds[2]] * 4, 1: [seconds[1]] * 4}
        assert run.notes == [f"kept {expected} CPU thread{'s' if expected != 1 else ''} beside the data workers (steps/s timed at "
                             f"2 threads {1 / seconds[2]:.1f}, 1 thread {1 / seconds[1]:.1f}); --threads N to choose"]
        run.steps(trial, 20)
        assert run.set_calls[-1] == expected and len(run.set_calls) == 3  # decided once


def test_a_validation_pass_is_not_a_step_and_ddp_runs_no_trial():
    run = FakeRun({2: 0.1, 1: 0.2})
    trial = run.trial([2, 1], warmup=0, settle=0, timed=3)
    trial.on_train_start(SimpleNamespace(world_size=1), None)
    run.steps(trial, 8, validate_at=2)
    assert max(max(seconds) for seconds in trial.step_seconds.values()) < 1.0
    assert trial.chosen == 2
    ddp = FakeRun({2: 0.1, 1: 0.2})
    trial = ddp.trial([2, 1], warmup=0, settle=0, timed=1)
    trial.on_train_start(SimpleNamespace(world_size=2), None)
    ddp.steps(trial, 10)
    assert trial.chosen is None and ddp.set_calls == []


def test_counts_are_tried_only_where_there_is_a_choice(monkeypatch):
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)
    big, small = nn.Linear(3000, 2000), nn.Linear(4, 4)
    shape = (3, 64, 64)
    assert threads.thread_counts_to_try(None, 1, big, shape, load=0.0, workers=1) == [2, 1]  # idle: both cores first
    assert threads.thread_counts_to_try(None, 1, big, shape, load=1.2, workers=1) == [1]  # a core is busy: nothing to try
    assert threads.thread_counts_to_try(2, 2, big, shape, load=0.0, workers=1) == [2]  # --threads
    assert threads.thread_counts_to_try(None, 2, big, shape, load=0.0, workers=0) == [2]  # data in memory
    assert threads.thread_counts_to_try(None, 1, small, (1, 28, 28), load=0.0, workers=1) == [1]  # dispatch-bound
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 16)
    assert threads.thread_counts_to_try(None, 8, big, shape, load=0.0, workers=8) == [16, 8]


def test_a_cpu_run_with_a_decoding_worker_and_an_idle_core_times_both_counts_and_keeps_one(tmp_path, monkeypatch, capsys):
    import torch

    from dirvae.training import run as run_module
    from dirvae.training.config import resolve
    from tests.cli.helpers import write_images

    made: list[ThreadTrial] = []

    def short_trial(counts):
        made.append(ThreadTrial(counts, warmup=1, settle=0, timed=2))
        return made[-1]

    monkeypatch.setattr(threads.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(run_module, "busy_cores_now", lambda: 0.0)  # an idle machine
    monkeypatch.setattr(threads, "small_model", lambda model, shape: False)  # as a 64×64 image model is
    monkeypatch.setattr(run_module, "ThreadTrial", short_trial)
    data = write_images(tmp_path / "images", n=16, size=8)
    options = resolve({"data": str(data), "image_size": 8, "architecture": "resnet", "model_size": 4, "batches": 4, "iterations": 8,
                       "val_fraction": 0, "no_gpu": True})  # fmt: skip
    before = torch.get_num_threads()
    try:
        run_module.train(options, tmp_path / "run")
        after = torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    err = capsys.readouterr().err
    assert "2 then 1 CPU threads timed over the first" in err and "1 data worker decoding" in err
    (trial,) = made
    assert trial.counts == [2, 1] and trial.chosen in (1, 2) and after == trial.chosen
    assert [len(seconds) for seconds in trial.step_seconds.values()] == [2, 2]
    assert f"kept {trial.chosen} CPU thread" in err
