"""Pointwise heads: a linear map along dim 1 at every latent position.

The seed's heads are Dense layers on the feature axis of whatever the encoder
returns, so an image encoder ending in a ``[B, F, H, W]`` map gets a simplex
at each of the H×W positions.  One module that moves dim 1 last, applies
``nn.Linear`` and moves it back serves every modality and rank.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class PointwiseLinear(nn.Linear):
    """``nn.Linear`` applied along dim 1 of ``[B, C, *rest]``."""

    def __init__(self, in_features: int, out_features: int, *, identity_init: bool = False) -> None:
        super().__init__(in_features, out_features)
        if identity_init:
            if in_features != out_features:
                raise ValueError("identity initialisation needs a square head")
            with torch.no_grad():  # in place, no torch.eye: also builds on the meta device (shape checks before loading)
                self.weight.zero_()
                self.weight.diagonal().fill_(1.0)
                self.bias.zero_()

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 2:
            return super().forward(x)
        return super().forward(x.movedim(1, -1)).movedim(-1, 1)
