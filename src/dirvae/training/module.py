"""The Lightning wrapper: one training step of a ``DirichletVAE`` plus its logs.

Lightning owns devices, DDP, precision, clipping and checkpoints; this module
only adds what is specific to a Dirichlet VAE: the KL schedule, the prior
update after burn-in, the gradient sanitiser (which runs before Lightning's
clip-norm), and the numbers a user watches in TensorBoard.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import lightning as L
import torch
from torch import Tensor

from dirvae.model import DirichletVAE
from dirvae.optim import make_optimizer, sanitize_gradients


def batch_data(batch: Any) -> tuple[Tensor, int]:
    """The data tensor and the count of skipped files from any batch layout."""
    if isinstance(batch, Tensor):
        return batch, 0
    data = getattr(batch, "data", None)
    if data is not None:
        return data, int(getattr(batch, "skipped", 0))
    return batch[0], 0


NONFINITE_PATIENCE = 50
"""Consecutive non-finite losses after which training stops: the weights or the options are ruined."""


class DirichletVAEModule(L.LightningModule):
    """Trains a :class:`DirichletVAE`; counters survive checkpoints."""

    def __init__(
        self,
        model: DirichletVAE,
        *,
        learning_rate: float = 1e-3,
        kl_schedule: Callable[[int], float] | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.learning_rate = learning_rate
        self.kl_schedule = kl_schedule or (lambda step: 1.0)
        self.skipped_files = 0
        """Distinct unreadable files met by this run, over all sessions (see :meth:`track_bad_files`)."""
        self.skipped_items = 0
        self.bad_files: set[str] = set()
        self._bad_file_names: Callable[[], list[str]] = list
        self.nonfinite_losses = 0
        self.sanitized_gradients = 0
        self.consecutive_nonfinite = 0
        self.stopped_nonfinite = False
        self._last_latent: Tensor | None = None
        self._step_started: float | None = None

    def forward(self, x: Tensor):  # noqa: D401 - Lightning's convention
        return self.model(x)

    def training_step(self, batch: Any, batch_idx: int) -> Tensor | None:
        data, skipped = batch_data(batch)
        self.skipped_items += skipped
        if skipped or self.global_step == 0:
            self.skipped_files = len(self.bad_files.union(self._bad_file_names()))
        if data.shape[0] == 0:
            return None
        weight = self.kl_schedule(self.global_step)
        terms = self.model.loss(data, kl_weight=weight)
        if not torch.isfinite(terms.total):
            # Counted and reported, never zeroed: returning None skips the step.
            self.nonfinite_losses += 1
            self.consecutive_nonfinite += 1
            self.log("health/nonfinite_losses", float(self.nonfinite_losses), sync_dist=False)
            if self.consecutive_nonfinite >= NONFINITE_PATIENCE:
                self.stopped_nonfinite = True
                if self._trainer is not None:
                    self.trainer.should_stop = True
            return None
        self.consecutive_nonfinite = 0
        now = time.perf_counter()
        batch_size = data.shape[0]
        log = dict(batch_size=batch_size, on_step=True, on_epoch=False)
        self.log("train/loss", terms.total.detach(), prog_bar=True, **log)
        self.log("train/reconstruction", terms.reconstruction.detach(), **log)
        self.log("train/kl", terms.kl.detach(), **log)
        self.log("train/kl_weight", weight, **log)
        # With IGCA draws the reconstruction term is taken under an approximation
        # of q(z|x), so −(reconstruction + KL) bounds nothing: log it under its own name.
        elbo_name = "train/igca_objective" if self.model.latent_kind == "dirichlet" and self.model.sampler == "igca" else "train/elbo"
        self.log(elbo_name, terms.elbo.detach(), **log)
        self.log("health/nonfinite_samples", float(terms.nonfinite), **log)
        self.log("health/skipped_files", float(self.skipped_files), **log)
        if self._step_started is not None and now > self._step_started:
            self.log("samples_per_s", batch_size / (now - self._step_started), prog_bar=True, **log)
        self._step_started = now
        alpha = terms.output.alpha
        if alpha is not None:
            alpha = alpha.detach()
            self.log("alpha/mean", alpha.mean(), **log)
            self.log("alpha/min", alpha.min(), **log)
            self.log("alpha/max", alpha.max(), **log)
            self.log("alpha/prior_mean", self.model.prior_alpha.mean(), **log)
        self._last_latent = terms.output.latent.detach()
        return terms.total

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self._last_latent is not None:
            self.model.update_prior(self._last_latent)
            self._last_latent = None

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        # Runs before Lightning's gradient clipping, so the clip norm is finite.
        count = sanitize_gradients(self.parameters())
        self.sanitized_gradients += count
        self.log("health/sanitized_gradients", float(self.sanitized_gradients), on_step=True, on_epoch=False)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        mixed_precision = str(self.trainer.precision).endswith("-mixed")
        return make_optimizer(self.parameters(), self.learning_rate, fused=not mixed_precision)

    def component_usage(self, latent: Tensor) -> Tensor:
        """Mean latent value per component over a batch and its positions, ``[K]``."""
        return latent.detach().float().movedim(1, -1).reshape(-1, latent.shape[1]).mean(0)

    def track_bad_files(self, names: Callable[[], list[str]]) -> None:
        """Count the distinct files ``names()`` reports unreadable, not the windows or frames they cost."""
        self._bad_file_names = names

    def bad_file_names(self) -> list[str]:
        return sorted(self.bad_files.union(self._bad_file_names()))

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        names = self.bad_file_names()
        self.skipped_files = len(names)
        checkpoint["dirvae_counters"] = {
            "skipped_files": self.skipped_files,
            "bad_files": names,
            "skipped_items": self.skipped_items,
            "nonfinite_losses": self.nonfinite_losses,
            "sanitized_gradients": self.sanitized_gradients,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        counters = checkpoint.get("dirvae_counters", {})
        self.bad_files = {str(name) for name in counters.get("bad_files", [])}
        self.skipped_items = int(counters.get("skipped_items", 0))
        self.skipped_files = len(self.bad_files)
        self.nonfinite_losses = int(counters.get("nonfinite_losses", 0))
        self.sanitized_gradients = int(counters.get("sanitized_gradients", 0))
