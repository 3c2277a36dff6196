"""The best weights so far by held-out ELBO: ``checkpoints/best.ckpt`` and ``best.safetensors``.

Held-out figures swing as a model overfits or a learning rate overshoots,
and a run stopped at the wrong moment otherwise keeps only its last (worse)
weights.  Lightning's ``ModelCheckpoint`` decides when a validation is the
best so far (``val/elbo``, higher is better); this subclass also writes that
step's weights as safetensors beside ``model.safetensors``, so every tool can
load them without pickle (``--weights best``).  Both files are written
atomically, off the training thread, like ``last.ckpt``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint

from dirvae.runs.files import BEST_WEIGHTS_NAME
from dirvae.training.averaging import exported_model
from dirvae.training.background import BackgroundWriter
from dirvae.training.checkpoints import moved_with_the_run

MONITOR = "val/elbo"
BEST_NAME = "best"


class BestCheckpoint(ModelCheckpoint):
    """``best.ckpt`` (resumable) and ``best.safetensors`` (for the tools) at each new best ``val/elbo``."""

    def __init__(self, run_dir: str | Path, writer: BackgroundWriter | None = None) -> None:
        super().__init__(
            dirpath=Path(run_dir) / "checkpoints", filename=BEST_NAME, monitor=MONITOR, mode="max", save_top_k=1,
            save_last=False, auto_insert_metric_name=False, enable_version_counter=False, save_on_train_epoch_end=False,
        )  # fmt: skip
        self.run_dir = Path(run_dir)
        self.writer = writer
        self.best_step: int | None = None

    @property
    def state_key(self) -> str:
        return "BestCheckpoint"  # one name in checkpoints whatever the settings, so a resume finds its best score

    def _save_checkpoint(self, trainer: L.Trainer, filepath: str) -> None:
        super()._save_checkpoint(trainer, filepath)
        self.best_step = int(trainer.global_step)
        if trainer.is_global_zero:
            snapshot = exported_model(trainer, trainer.lightning_module).run_snapshot()  # copied now: this step's weights (or their EMA)
            job = lambda: snapshot.write_weights(self.run_dir, BEST_WEIGHTS_NAME)  # noqa: E731
            job() if self.writer is None else self.writer.submit(job)

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "best_step": self.best_step}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(moved_with_the_run(state_dict, self.dirpath))
        self.best_step = state_dict.get("best_step")

    def summary(self) -> str | None:
        """The closing line's part about the best weights, or None when nothing was validated."""
        if self.best_step is None or self.best_model_score is None:
            return None
        return f"best {MONITOR} {float(self.best_model_score):.2f} at step {self.best_step} ({BEST_WEIGHTS_NAME}; tools take --weights best)"
