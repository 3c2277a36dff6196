"""What a user watches: reconstructions sharpening, prior samples, latent usage.

Every ``every_n_steps`` optimiser steps (and at the end) the callback decodes
a fixed set of inputs and some prior samples, logs them to TensorBoard and
rewrites ``reconstructions.png`` (or what the modality draws, such as
``reconstructions.wav``) in the run directory, so "watch the blurry images" works with or without a
browser.  A render costs ~25 ms on the digits, so fast runs are capped at one
render per ``min_seconds`` (5 s: TensorBoard itself reloads every 30 s);
rendering every 50 steps regardless cost the digits trainer 4-5% of its time.
Given a background writer, only the forward passes run on the training
thread; drawing, PNG encoding and the TensorBoard summaries run on the
writer's thread.  The last render (at the end of training) is waited for.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import Tensor

from dirvae.modalities.spec import DataConfig, Modality
from dirvae.training.averaging import exported_model
from dirvae.training.background import BackgroundWriter
from dirvae.training.module import DirichletVAEModule, batch_data


def finite(tensor: Tensor) -> tuple[Tensor, int]:
    """The tensor with NaN/inf zeroed, and how many there were.

    A model gone non-finite must still be watchable (and must not crash the
    run: TensorBoard's histogram of an all-NaN tensor raises), so what is
    finite is drawn and the rest counted.
    """
    bad = ~torch.isfinite(tensor)
    count = int(bad.sum())
    return (tensor.masked_fill(bad, 0.0) if count else tensor), count


class LiveView(L.Callback):
    """``inputs``: fixed items to reconstruct, validation items when there are any, so the
    grid shows generalisation, not memorisation; else the first training batch's."""

    COUNT = 16

    def __init__(
        self, run_dir: str | Path, modality: Modality, data: DataConfig, *, every_n_steps: int = 50, min_seconds: float = 0.0,
        count: int = COUNT, inputs: Tensor | None = None, writer: BackgroundWriter | None = None,
    ) -> None:  # fmt: skip
        """``modality`` draws the view (:meth:`~dirvae.modalities.Modality.draw_view`) of items read as ``data`` says."""
        self.run_dir = Path(run_dir)
        self.writer = writer
        self.modality = modality
        self.data = data
        self.every_n_steps = every_n_steps
        self.min_seconds = float(min_seconds)
        self._last_render_time = -math.inf
        self.count = count
        self._inputs: Tensor | None = None if inputs is None else inputs[:count].detach().cpu().clone()
        self.held_out = inputs is not None
        self._last_logged = -1
        self.nonfinite_values = 0
        """NaN/inf values met in what the view drew, summed over renders (also logged)."""

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self._inputs is None:
            data, _ = batch_data(batch)
            if data.shape[0]:
                data = data.to_dense() if data.layout != torch.strided else data  # sparse batches (bags of words)
                self._inputs = data[: self.count].detach().cpu().clone()
        step = trainer.global_step
        if step and step % self.every_n_steps == 0 and step != self._last_logged:
            if time.monotonic() - self._last_render_time >= self.min_seconds:
                self.render(trainer, pl_module)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.global_step != self._last_logged:
            self.render(trainer, pl_module)
        self._settle()  # before Lightning closes the logger the drawing writes to

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        self._settle()

    def _settle(self) -> None:
        if self.writer is not None:
            self.writer.settle()  # a failed picture must not stop a run that is ending anyway

    @torch.no_grad()
    def render(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._inputs is None or not trainer.is_global_zero:
            return
        assert isinstance(pl_module, DirichletVAEModule)
        model = exported_model(trainer, pl_module)  # what the tools will load
        step = trainer.global_step
        self._last_logged = step
        self._last_render_time = time.monotonic()
        was_training = model.training
        model.eval()
        try:
            inputs = self._inputs.to(pl_module.device)
            posterior = model.encode(inputs)
            reconstructions = model.decode(posterior.mean).float().cpu()
            prior = model.prior_alpha
            prior_ok = model.latent_kind != "dirichlet" or bool(torch.isfinite(prior).all() and (prior > 0).all())
            if prior_ok:
                samples = model.sample(self.count).float().cpu()
            else:  # a NaN prior cannot be sampled: draw blanks, count the prior as non-finite
                samples = torch.zeros(self.count, *reconstructions.shape[1:])
            usage = pl_module.component_usage(posterior.mean)
            state = self.modality.view_state(model, posterior.mean.detach().float().cpu())
        finally:
            model.train(was_training)
        experiment = getattr(trainer.logger, "experiment", None)
        reconstructions, bad_reconstructions = finite(reconstructions)
        samples, bad_samples = finite(samples)
        finite_usage = usage[torch.isfinite(usage)]
        bad = bad_reconstructions + bad_samples + (usage.numel() - finite_usage.numel()) + (0 if prior_ok else prior.numel())
        self.nonfinite_values += bad
        inputs = inputs.float().cpu()
        active = float((finite_usage > 0.5 / usage.numel()).sum())

        def draw() -> None:
            self.modality.draw_view(
                self.run_dir, experiment, inputs, reconstructions, samples, step, held_out=self.held_out, data=self.data, state=state
            )
            if experiment is not None:
                if finite_usage.numel():
                    experiment.add_histogram("latent/component_usage", finite_usage, step)
                experiment.add_scalar("latent/active_components", active, step)
                experiment.add_scalar("health/nonfinite_view_values", float(bad), step)

        if self.writer is None:
            draw()
        else:
            self.writer.submit(draw)
