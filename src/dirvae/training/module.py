"""The Lightning wrapper: one training step of a ``DirichletVAE`` plus its logs.

Lightning owns devices, DDP, precision, clipping and checkpoints; this module
only adds what is specific to a Dirichlet VAE: the KL schedule, the prior
update after burn-in, the gradient sanitiser (which runs before Lightning's
clip-norm), and the numbers a user watches in TensorBoard.
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable

import lightning as L
import torch
from torch import Tensor

from dirvae.model import DirichletVAE
from dirvae.training.optim import BETAS, LEARNING_RATE, make_optimizer, sanitize_and_clip, sanitize_gradients
from dirvae.training.running_means import SCALAR_EVERY, RunningMeans


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

PLAIN_ATTRIBUTES = frozenset(
    {"_current_fx_name", "_last_latent", "_interval_samples", "_interval_nonfinite", "_interval_started", "_last_point", "last_loss"}
)
"""Attributes set every step that are never parameters, buffers or submodules (see ``__setattr__``)."""


class DirichletVAEModule(L.LightningModule):
    """Trains a :class:`DirichletVAE`; validates it when given validation data; counters survive checkpoints.

    Training scalars are running means over ``scalar_every`` steps (plus a
    first point after step 1) and epoch means (``<tag>_epoch``); validation
    logs ``val/elbo``, ``val/reconstruction``, ``val/kl`` and, for images
    (``psnr=True``), ``val/psnr`` in dB.  ``hparams`` (the run's options) are
    saved with checkpoints and shown in TensorBoard's HParams tab, whose
    ``hp_metric`` is the latest validation ELBO (the epoch's training ELBO
    without validation data).
    """

    def __init__(
        self,
        model: DirichletVAE,
        *,
        learning_rate: float = LEARNING_RATE,
        betas: tuple[float, float] = BETAS,
        kl_schedule: Callable[[int], float] | None = None,
        scalar_every: int = SCALAR_EVERY,
        psnr: bool = False,
        hparams: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.learning_rate = learning_rate
        self.betas = (float(betas[0]), float(betas[1]))
        self.kl_schedule = kl_schedule or (lambda step: 1.0)
        self.scalar_every = max(1, int(scalar_every))
        self.psnr = psnr
        self.save_hyperparameters(hparams if hparams is not None else {"learning_rate": learning_rate})
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
        # With IGCA draws the reconstruction term is taken under an approximation
        # of q(z|x), so −(reconstruction + KL) bounds nothing: log it under its own name.
        igca = model.latent_kind == "dirichlet" and model.sampler == "igca"
        names = ["train/loss", "train/reconstruction", "train/kl", "train/igca_objective" if igca else "train/elbo"]
        if model.latent_kind == "dirichlet":
            names += ["alpha/mean", "alpha/min", "alpha/max"]
        self._interval = RunningMeans(names)
        self._epoch = RunningMeans(names)
        self._interval_samples = 0
        self._interval_nonfinite = 0
        self._interval_started: float | None = None
        self._last_point = -1
        self._last_steady: dict[str, float] = {}
        self.last_loss: float | None = None
        self._val_sums: Tensor | None = None

    def __setattr__(self, name: str, value: Any) -> None:
        """Plain per-step attributes skip ``nn.Module.__setattr__``'s checks.

        Why: Lightning sets ``_current_fx_name`` before and after every hook
        call, about fifty times a training step, and each assignment to an
        ``nn.Module`` goes through checks for parameters, buffers and
        submodules: about 3.7 µs each on the project's machine, 1–2% of a
        digits step.  These names never hold any of those, so the result is
        the same attribute in ``__dict__``.
        """
        if name in PLAIN_ATTRIBUTES:
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def forward(self, x: Tensor):  # noqa: D401 - Lightning's convention
        return self.model(x)

    # ------------------------------------------------------------------ training
    def training_step(self, batch: Any, batch_idx: int) -> Tensor | None:
        data, skipped = batch_data(batch)
        # Counters are only assigned when they change: each assignment to an
        # nn.Module attribute goes through Module.__setattr__'s checks.
        if skipped:
            self.skipped_items += skipped
        if skipped or self.global_step == 0:
            self.skipped_files = len(self.bad_files.union(self._bad_file_names()))
        if data.shape[0] == 0:
            return None
        if self._interval_started is None:
            self._interval_started = time.perf_counter()
        weight = self.kl_schedule(self.global_step)
        terms = self.model.loss(data, kl_weight=weight)
        if not math.isfinite(terms.total.item()):  # one read of the scalar: torch.isfinite is four ops and a read
            # Counted and reported, never zeroed: returning None skips the step.
            self.nonfinite_losses += 1
            self.consecutive_nonfinite += 1
            if self.consecutive_nonfinite >= NONFINITE_PATIENCE:
                self.stopped_nonfinite = True
                if self._trainer is not None:
                    self.trainer.should_stop = True
            return None
        if self.consecutive_nonfinite:
            self.consecutive_nonfinite = 0
        with torch.no_grad():  # no graph for the curves' values, and no detach per value
            values = [terms.total, terms.reconstruction, terms.kl, terms.elbo]
            alpha = terms.output.alpha
            if alpha is not None:
                smallest, largest = torch.aminmax(alpha)
                values += [alpha.mean(), smallest, largest]
            stacked = torch.stack(values).float()
        self._interval.add(stacked)
        self._epoch.add(stacked)
        self._interval_samples += data.shape[0]
        if terms.nonfinite:
            self._interval_nonfinite += terms.nonfinite
        self._last_latent = terms.output.latent.detach()
        return terms.total

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self._last_latent is not None:
            self.model.update_prior(self._last_latent)
            self._last_latent = None
        step = self.global_step
        if step != self._last_point and (step == 1 or step % self.scalar_every == 0):
            self._write_point(step)

    def _write_point(self, step: int, *, every_scalar: bool = False) -> None:
        """One point of every training curve: the means since the last point.

        Scalars that rarely change (the health counters, a fixed prior) are
        written when they change, at the first point and at each epoch's end
        (``every_scalar``): each TensorBoard scalar costs ~0.1 ms of the
        training thread's time (a pure-Python CRC in the event writer).
        """
        means = self._interval.take()
        if not means:
            return
        now = time.perf_counter()
        if self._interval_started is not None and now > self._interval_started:
            means["samples_per_s"] = self._interval_samples / (now - self._interval_started)
        means["train/kl_weight"] = float(self.kl_schedule(max(0, step - 1)))
        steady = {
            "health/nonfinite_samples": float(self._interval_nonfinite),
            "health/nonfinite_losses": float(self.nonfinite_losses),
            "health/skipped_files": float(self.skipped_files),
            "health/sanitized_gradients": float(self.sanitized_gradients),
        }
        if self.model.latent_kind == "dirichlet":
            steady["alpha/prior_mean"] = float(self.model.prior_alpha.mean())
        for name, value in steady.items():
            if every_scalar or self._last_steady.get(name) != value:
                means[name] = self._last_steady[name] = value
        self._interval_samples, self._interval_nonfinite, self._interval_started = 0, 0, now
        self._last_point = step
        # Written straight to the loggers: Lightning's on_step logging would log one
        # batch's value, not the mean, and repeat stale values at its own interval.
        for logger in self.loggers:
            logger.log_metrics(means, step=step)
        self.last_loss = means["train/loss"]  # shown by the progress bar (training.progress.LossBar)

    def on_train_epoch_start(self) -> None:
        self._epoch.take()

    def epoch_means(self) -> dict[str, float]:
        """This epoch's training means so far (for progress lines; logged at the epoch's end)."""
        return self._epoch.peek()

    def on_train_epoch_end(self) -> None:
        self._write_point(self.global_step, every_scalar=True)  # the interval's remainder
        means = self._epoch_means_over_ranks()
        if means:
            # Straight to the loggers: self.log costs ~1 ms a value, which on the
            # digits was 2% of the training time at every epoch's end.
            metrics = {f"{name}_epoch": value for name, value in means.items()}
            if not self._has_validation():
                metrics["hp_metric"] = means.get("train/elbo", means.get("train/igca_objective"))
            for logger in self.loggers:
                logger.log_metrics(metrics, step=self.global_step)

    def _epoch_means_over_ranks(self) -> dict[str, float]:
        """The epoch's means, averaged over DDP ranks (each rank's share is the same size)."""
        if self._trainer is None or self.trainer.world_size <= 1:
            return self._epoch.peek()
        local = self._epoch.peek()
        names = self._epoch.names
        vector = torch.tensor([local.get(name, float("nan")) for name in names], device=self.device)
        vector = self.trainer.strategy.reduce(vector, reduce_op="mean")
        return dict(zip(names, vector.tolist()))

    def _has_validation(self) -> bool:
        trainer = self._trainer
        return bool(trainer is not None and trainer.num_val_batches and sum(trainer.num_val_batches) > 0)

    def configure_gradient_clipping(
        self, optimizer: torch.optim.Optimizer, gradient_clip_val: float | None = None, gradient_clip_algorithm: str | None = None
    ) -> None:
        """Sanitise (zero and count NaN/Inf entries), then clip, with one norm computation.

        The parameters come from the optimiser's groups, as in Lightning's own
        clipping: ``self.parameters()`` walks the module tree, about a hundred
        Python calls a step on the digits MLP.
        """
        parameters = [parameter for group in optimizer.param_groups for parameter in group["params"]]
        if gradient_clip_val and gradient_clip_algorithm not in (None, "norm"):
            self.sanitized_gradients += sanitize_gradients(parameters)
            self.clip_gradients(optimizer, gradient_clip_val, gradient_clip_algorithm)
            return
        count, _ = sanitize_and_clip(parameters, gradient_clip_val or None)
        if count:
            self.sanitized_gradients += count

    # ---------------------------------------------------------------- validation
    def on_validation_epoch_start(self) -> None:
        self._val_sums = None

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        """The ELBO on held-out data, with exact posterior draws whatever the training sampler.

        Per-item sums are kept on the device and logged once per pass
        (:meth:`on_validation_epoch_end`): a ``self.log`` call costs about a
        millisecond, and five per batch made validation cost as much as
        training on the digits.
        """
        data, _ = batch_data(batch)
        if data.shape[0] == 0:
            return
        model = self.model
        output = model(data, sampler="implicit") if model.latent_kind == "dirichlet" else model(data)
        reconstruction = model.reconstruction_loss(output.decoder_output, data)
        kl = model.kl_of(output)
        values = [reconstruction.sum(), kl.sum(), torch.tensor(float(data.shape[0]), device=data.device)]
        if self.psnr:
            mean = model.decode(output.posterior.mean).float().clamp(0, 1)
            error = (mean - data.float()).pow(2).flatten(1).mean(1).clamp_min(1e-10)
            values.append((-10 * torch.log10(error)).sum())
        sums = torch.stack([value.detach().float() for value in values])
        self._val_sums = sums if self._val_sums is None else self._val_sums + sums

    def on_validation_epoch_end(self) -> None:
        """Item-weighted means over every rank's share, logged as one point."""
        sums = self._val_sums
        if self._trainer is not None and self.trainer.world_size > 1:
            # Every rank must join the reduction, even one whose share was empty.
            local = sums if sums is not None else torch.zeros(4 if self.psnr else 3, device=self.device)
            sums = self.trainer.strategy.reduce(local, reduce_op="sum")
        if sums is None or float(sums[2]) <= 0:
            return
        means = (sums / sums[2]).float()
        elbo = -(means[0] + means[1])
        metrics = {"val/elbo": elbo, "hp_metric": elbo, "val/reconstruction": means[0], "val/kl": means[1]}
        if self.psnr:
            metrics["val/psnr"] = means[3]
        self.log_dict(metrics, on_step=False, on_epoch=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        mixed_precision = str(self.trainer.precision).endswith("-mixed")
        return make_optimizer(self.parameters(), self.learning_rate, betas=self.betas, fused=not mixed_precision)

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
