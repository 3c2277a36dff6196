"""The live view survives a model gone non-finite (issue 13, item 1)."""

from types import SimpleNamespace

import torch
from torch import nn
from torch.utils.tensorboard import SummaryWriter

from dirvae import DirichletVAE
from dirvae.modalities import MODALITIES
from dirvae.modalities.image import ImageData
from dirvae.training.live_view import LiveView

IMAGE = MODALITIES["image"]
DATA = ImageData("test", (1, 4, 4), image_size=4, grayscale=True)
from dirvae.training.module import DirichletVAEModule


def test_a_nan_model_renders_what_is_finite_and_counts_the_rest(tmp_path):
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(16, 6))
    decoder = nn.Sequential(nn.Linear(6, 16), nn.Unflatten(1, (1, 4, 4)))
    module = DirichletVAEModule(DirichletVAE(encoder, decoder, 6, reconstruction="bernoulli"))
    with torch.no_grad():
        for tensor in module.state_dict().values():  # the prior's α too
            if tensor.is_floating_point():
                tensor.fill_(float("nan"))
    writer = SummaryWriter(str(tmp_path / "tb"))
    trainer = SimpleNamespace(global_step=50, is_global_zero=True, logger=SimpleNamespace(experiment=writer), callbacks=[])
    view = LiveView(tmp_path, IMAGE, DATA, every_n_steps=50, count=4)
    view._inputs = torch.rand(4, 1, 4, 4)
    view.render(trainer, module)  # TensorBoard's add_histogram raises on an all-NaN tensor
    writer.close()
    assert view.nonfinite_values > 0
    assert (tmp_path / "reconstructions.png").is_file()


def test_renders_are_at_most_one_per_min_seconds_but_the_last_step_always_renders(tmp_path, monkeypatch):
    view = LiveView(tmp_path, IMAGE, DATA, every_n_steps=10, min_seconds=5.0, count=2)
    view._inputs = torch.rand(2, 1, 4, 4)
    rendered = []
    monkeypatch.setattr(view, "render", lambda trainer, module: (rendered.append(trainer.global_step), setattr(view, "_last_logged", trainer.global_step), setattr(view, "_last_render_time", clock[0])))
    clock = [100.0]
    monkeypatch.setattr("dirvae.training.live_view.time.monotonic", lambda: clock[0])
    for step in range(1, 61):
        clock[0] = 100.0 + step * 0.2  # 5 steps a second: a multiple of 10 every 2 s
        view.on_train_batch_end(SimpleNamespace(global_step=step), None, None, None, step)
    assert rendered == [10, 40]  # 10 at t=102, then nothing until 5 s later (step 40 at t=108)
    view.on_train_end(SimpleNamespace(global_step=60), None)
    assert rendered[-1] == 60
    # min_seconds=0 renders at every multiple of every_n_steps.
    eager = LiveView(tmp_path, IMAGE, DATA, every_n_steps=10, count=2)
    eager._inputs = torch.rand(2, 1, 4, 4)
    steps = []
    monkeypatch.setattr(eager, "render", lambda trainer, module: (steps.append(trainer.global_step), setattr(eager, "_last_render_time", clock[0])))
    for step in range(1, 31):
        eager.on_train_batch_end(SimpleNamespace(global_step=step), None, None, None, step)
    assert steps == [10, 20, 30]
