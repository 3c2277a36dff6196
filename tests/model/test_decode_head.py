"""``decode_head=False``: the decoder reads the latent itself (a topic mixture θᵀβ must see θ on the simplex)."""

import pytest
import torch
from torch import nn

from dirvae import DirichletVAE, DirichletVAEConfig


class Mixture(nn.Module):
    """θ [B, K] → log(θᵀ softmax(β)): only right when θ arrives untouched."""

    def __init__(self, k: int, v: int) -> None:
        super().__init__()
        self.in_channels = k
        self.beta = nn.Parameter(torch.randn(k, v))

    def forward(self, theta):
        return (theta @ torch.softmax(self.beta, dim=1)).clamp_min(1e-12).log()


def test_without_a_head_the_decoder_sees_the_simplex_and_the_choice_round_trips(tmp_path):
    k, v = 4, 10
    model = DirichletVAE(nn.Linear(v, k), Mixture(k, v), k, decoder_input="simplex", decode_head=False, reconstruction="mse")
    assert isinstance(model.decode_head, nn.Identity)
    theta = torch.softmax(torch.randn(3, k), dim=1)
    out = model.decoder_output(theta)
    assert torch.allclose(out.exp().sum(dim=1), torch.ones(3), atol=1e-5)  # a mixture of distributions is one
    assert model.config.decode_head is False
    model(torch.rand(2, v))
    model.save_pretrained(tmp_path)
    loaded = DirichletVAE.from_pretrained(tmp_path, encoder=nn.Linear(v, k), decoder=Mixture(k, v))
    assert isinstance(loaded.decode_head, nn.Identity)


def test_a_headless_model_needs_a_decoder_of_width_k():
    with pytest.raises(ValueError, match="must be K = 4"):
        DirichletVAE(nn.Linear(10, 4), nn.Linear(8, 10), 4, decoder_size=8, decode_head=False)


def test_saved_configs_without_the_field_keep_their_head():
    assert DirichletVAEConfig.from_dict({"model_size": 3}).decode_head is True
