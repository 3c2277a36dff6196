import lightning as L
import torch

from dirvae.training.profiler import NullProfiler


def test_the_null_profiler_runs_the_wrapped_code_and_nests():
    profiler = NullProfiler()
    ran = []
    with profiler.profile("outer"):
        with profiler.profile("inner"):
            ran.append(1)
    assert ran == [1]


def test_an_error_inside_a_profiled_hook_propagates():
    profiler = NullProfiler()
    try:
        with profiler.profile("hook"):
            raise ValueError("from the hook")
    except ValueError as error:
        assert str(error) == "from the hook"
    else:  # pragma: no cover - the assertion is the test
        raise AssertionError("the error was swallowed")


def test_a_trainer_with_it_fits(tmp_path, tiny_lightning_module):
    trainer = L.Trainer(
        accelerator="cpu", max_steps=3, logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, profiler=NullProfiler(), default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(tiny_lightning_module(), torch.utils.data.DataLoader(torch.randn(8, 2), batch_size=2))
    assert trainer.global_step == 3
