"""The EMA of the weights: what is validated and exported, what a checkpoint keeps, and an interrupted validation."""

from pathlib import Path

import lightning as L
import pytest
import torch
from safetensors.torch import load_file

from dirvae import DirichletVAE
from dirvae.training.averaging import EMA_EVERY, WeightEMA, ema_callbacks, exported_model
from dirvae.training.config import resolve
from dirvae.training.run import train
from tests.cli.helpers import write_images

DECAY = 0.5  # large steps between averages: the average differs clearly from the last weights


class RawWeights(L.Callback):
    """The module's own parameters after every optimiser step, and what ``exported_model`` gives meanwhile."""

    def __init__(self) -> None:
        self.steps: list[dict[str, torch.Tensor]] = []
        self.exported_is_raw: list[bool] = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.steps.append({name: value.detach().clone() for name, value in pl_module.model.named_parameters()})
        self.exported_is_raw.append(exported_model(trainer, pl_module) is pl_module.model)


def _options(tmp_path: Path, **extra):
    data = write_images(tmp_path / "images", n=16, size=8)
    return resolve({"data": str(data), "image_size": 8, "architecture": "resnet", "model_size": 4, "batches": 4, "iterations": 6,
                    "val_fraction": 0.25, "val_every": 3, "no_gpu": True, "threads": 1, "num_workers": 0, **extra})  # fmt: skip


def test_exported_weights_are_the_ema_of_the_raw_weights_and_the_checkpoint_keeps_both(tmp_path):
    recorder = RawWeights()
    train(_options(tmp_path, ema_decay=DECAY), tmp_path / "run", callbacks=[recorder])
    updates = recorder.steps[::EMA_EVERY]  # after steps 1, 1 + EMA_EVERY, ...
    assert len(updates) >= 2
    expected = dict(updates[0])  # AveragedModel's first update copies the weights
    for step in updates[1:]:
        expected = {name: DECAY**EMA_EVERY * expected[name] + (1 - DECAY**EMA_EVERY) * value for name, value in step.items()}
    exported = DirichletVAE.from_pretrained(tmp_path / "run")
    for name, value in exported.named_parameters():
        torch.testing.assert_close(value, expected[name], rtol=1e-5, atol=1e-6)
    assert any(not torch.allclose(expected[name], recorder.steps[-1][name]) for name in expected)  # the average is not the last step
    assert not any(recorder.exported_is_raw)  # the live view and every export took the average
    checkpoint = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
    assert {"current_model_state", "averaging_state"} <= set(checkpoint)
    saved = load_file(tmp_path / "run" / "best.safetensors")
    assert set(saved) == set(load_file(tmp_path / "run" / "model.safetensors"))


def test_a_run_with_an_ema_resumes_and_keeps_averaging(tmp_path):
    options = _options(tmp_path, ema_decay=DECAY)
    train(options, tmp_path / "run")
    before = load_file(tmp_path / "run" / "model.safetensors")
    result = train(resolve({**options.__dict__, "iterations": 9}), tmp_path / "run", resume_from=tmp_path / "run" / "checkpoints" / "last.ckpt")
    assert result.global_step == 9
    after = load_file(tmp_path / "run" / "model.safetensors")
    assert any(not torch.equal(before[name], after[name]) for name in before)


def test_without_an_ema_the_raw_weights_are_exported(tmp_path):
    recorder = RawWeights()
    train(_options(tmp_path, ema_decay=0.0), tmp_path / "run", callbacks=[recorder])
    exported = DirichletVAE.from_pretrained(tmp_path / "run")
    for name, value in exported.named_parameters():
        torch.testing.assert_close(value, recorder.steps[-1][name])
    assert all(recorder.exported_is_raw) and ema_callbacks(0.0) == []


def test_an_interrupted_validation_swaps_the_raw_weights_back_before_the_save():
    module = L.LightningModule()
    module.model = torch.nn.Linear(2, 2)
    callback = WeightEMA(0.9)
    callback.setup(trainer=None, pl_module=module, stage="fit")
    raw = module.model.weight.detach().clone()
    with torch.no_grad():
        callback.averaged().weight.add_(1.0)
    callback.on_validation_epoch_start(trainer=None, pl_module=module)
    assert torch.equal(module.model.weight, raw + 1.0) and callback.averaged() is None
    callback.on_exception(trainer=None, pl_module=module, exception=KeyboardInterrupt())
    assert torch.equal(module.model.weight, raw) and torch.equal(callback.averaged().weight, raw + 1.0)


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.1])
def test_a_decay_outside_zero_to_one_is_refused(decay):
    with pytest.raises(ValueError, match="decay"):
        WeightEMA(decay)


def test_updates_every_few_steps_decay_by_the_per_step_decay_to_that_power():
    callback = WeightEMA(0.99, every=4)
    assert [callback.should_update(step_idx=i) for i in range(6)] == [True, False, False, False, True, False]
    assert not callback.should_update(epoch_idx=0)
