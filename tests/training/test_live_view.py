"""The live view survives a model gone non-finite (issue 13, item 1)."""

from types import SimpleNamespace

import torch
from torch import nn
from torch.utils.tensorboard import SummaryWriter

from dirvae import DirichletVAE
from dirvae.training.live_view import LiveView
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
    trainer = SimpleNamespace(global_step=50, is_global_zero=True, logger=SimpleNamespace(experiment=writer))
    view = LiveView(tmp_path, "image", every_n_steps=50, count=4)
    view._inputs = torch.rand(4, 1, 4, 4)
    view.render(trainer, module)  # TensorBoard's add_histogram raises on an all-NaN tensor
    writer.close()
    assert view.nonfinite_values > 0
    assert (tmp_path / "reconstructions.png").is_file()
