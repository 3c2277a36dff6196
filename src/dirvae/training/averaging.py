"""An exponential moving average of the weights, used for validation and for every export.

Held-out figures of the raw weights swing from one validation to the next as
each step moves them; an average over the last ~1/(1 − decay) steps swings
less and, on the photo benchmark, scored better held-out PSNR and ELBO on
most seeds (BENCHMARKS.md, issue 25).  Lightning's ``WeightAveraging`` keeps
the average and swaps it in for validation.  It is given torch's multi-tensor
EMA update: the per-tensor one of ``EMAWeightAveraging`` took 33 ms a step for
the digits MLP's 1.3M weights on a loaded CPU, ``_foreach_lerp_`` 2.7 ms.
This subclass also hands the average to the exports (``model.safetensors``,
``best.safetensors``, the live view), so what a user validates is what every
tool loads; ``last.ckpt`` keeps both (the raw weights to resume from, the
average in ``state_dict``).
"""

from __future__ import annotations

from typing import Any

import lightning as L
from lightning.pytorch.callbacks import WeightAveraging
from torch.optim.swa_utils import get_ema_multi_avg_fn

from dirvae.model import DirichletVAE


EMA_EVERY = 4
"""Steps between updates of ``dirvae train``'s EMA: updating every step cost the digits 5% of their samples/s on a
loaded CPU, every 4 steps nothing measurable (BENCHMARKS.md, issue 25); big models pay the same few ms a step."""


class WeightEMA(WeightAveraging):
    """EMA of the module's parameters and buffers, updated every ``every`` optimiser steps.

    ``decay`` is per step: an update every ``every`` steps decays by
    ``decay ** every``, so the average spans the same ~1/(1 − decay) steps.
    """

    def __init__(self, decay: float, every: int = 1) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"an EMA decay is between 0 and 1, got {decay}")
        if every < 1:
            raise ValueError(f"an EMA updates every 1 or more steps, got {every}")
        super().__init__(use_buffers=True, multi_avg_fn=get_ema_multi_avg_fn(decay**every))
        self.decay = float(decay)
        self.every = int(every)
        self._swapped = False

    def should_update(self, step_idx: int | None = None, epoch_idx: int | None = None) -> bool:
        return step_idx is not None and step_idx % self.every == 0

    def averaged(self) -> DirichletVAE | None:
        """The averaged model while fitting (None before ``setup``); the raw one while validation has swapped them."""
        if self._average_model is None or self._swapped:
            return None
        return self._average_model.module.model

    def _swap_models(self, pl_module: L.LightningModule) -> None:
        super()._swap_models(pl_module)
        self._swapped = not self._swapped

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        """Interrupted mid-validation: swap back first, so the save on the way out keeps each set of weights in its place."""
        if self._swapped:
            self._swap_models(pl_module)


def exported_model(trainer: L.Trainer, pl_module: L.LightningModule) -> DirichletVAE:
    """The weights a run exports: the EMA's when the run keeps one, else the module's own.

    During validation the EMA's weights sit in ``pl_module`` itself, so the
    module's own model is the average then, too.
    """
    for callback in trainer.callbacks:
        if isinstance(callback, WeightEMA):
            averaged = callback.averaged()
            if averaged is not None:
                return averaged
    return pl_module.model  # type: ignore[return-value]


def ema_callbacks(decay: float, every: int = EMA_EVERY) -> list[Any]:
    """The callback for ``--ema-decay`` (none at 0)."""
    return [WeightEMA(decay, every)] if decay > 0 else []
