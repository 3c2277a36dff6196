"""Crash-safe checkpoints and the run directory's exported weights.

Lightning's ``ModelCheckpoint`` writes ``checkpoints/last.ckpt`` through an
fsspec transaction (temp file, then rename), throttled to once every
``--save-freq`` seconds like the seed.  This callback adds what Lightning
does not: every checkpoint also refreshes ``config.json`` +
``model.safetensors`` (pickle-free weights for the tools), and Ctrl-C saves a
checkpoint before the process exits.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint

from dirvae.export import save_pretrained

CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = "last.ckpt"


def last_checkpoint(run_dir: str | Path) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / LAST_CHECKPOINT


def periodic_checkpoint(run_dir: str | Path, save_freq: float) -> ModelCheckpoint:
    """``last.ckpt`` every ``save_freq`` seconds (every step when 0)."""
    timing: dict[str, Any] = {"every_n_train_steps": 1} if save_freq <= 0 else {"train_time_interval": timedelta(seconds=save_freq)}
    checkpoint = ModelCheckpoint(
        dirpath=Path(run_dir) / CHECKPOINT_DIR,
        save_last=True,
        save_top_k=0,
        save_on_train_epoch_end=False,
        **timing,
    )
    checkpoint.CHECKPOINT_NAME_LAST = "last"
    return checkpoint


class RunExport(L.Callback):
    """Keeps ``config.json`` + ``model.safetensors`` in step with each checkpoint."""

    def __init__(self, run_dir: str | Path, config: dict[str, Any]) -> None:
        self.run_dir = Path(run_dir)
        self.config = config
        self.interrupted = False
        self.terminated = False

    def export(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            config = dict(self.config)
            config["progress"] = {"global_step": int(trainer.global_step), "epoch": int(trainer.current_epoch)}
            save_pretrained(pl_module.model, self.run_dir, config)

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        self.export(trainer, pl_module)

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if isinstance(exception, KeyboardInterrupt) and trainer.world_size == 1:
            self.interrupted = True
            self.terminated = type(exception).__name__ == "Terminated"  # SIGTERM (training.run.Terminated)
            trainer.save_checkpoint(last_checkpoint(self.run_dir), weights_only=False)
