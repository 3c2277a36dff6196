"""Crash-safe checkpoints and the run directory's exported weights.

Lightning's ``ModelCheckpoint`` decides when to write ``checkpoints/last.ckpt``
(once every ``--save-freq`` seconds, like the seed).  How it is written is
ours (:class:`AtomicCheckpointIO`): Lightning's own route stages the file in
``$TMPDIR`` and moves it, which on a tmpfs ``/tmp`` is a copy that a kill
truncates.  :class:`RunExport` adds what Lightning does not: every checkpoint
also refreshes ``config.json`` + ``model.safetensors`` (pickle-free weights
for the tools), and Ctrl-C, SIGTERM or a crash save a checkpoint on the way
out.

Given a :class:`~dirvae.training.background.BackgroundWriter`, both write
their files off the training thread: the training thread copies the state
(so the files hold one step, whatever the optimiser does next) and the writer
thread serialises, writes, fsyncs and renames.  The saves on the way out wait for their
writes.
"""

from __future__ import annotations

import copy
import io
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.plugins.io import TorchCheckpointIO
from safetensors import safe_open

from dirvae.io.atomic import atomic_write
from dirvae.errors import RunError
from dirvae.training.averaging import exported_model
from dirvae.training.background import BackgroundWriter
from dirvae.training.signals import saving_ignores_ctrl_c

CHECKPOINT_DIR = "checkpoints"
LAST_CHECKPOINT = "last.ckpt"


def last_checkpoint(run_dir: str | Path) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / LAST_CHECKPOINT


def detached_copy(value: Any) -> Any:
    """``value`` with every tensor copied to the CPU and every dict, list and tuple rebuilt.

    What a checkpoint must be before it is written off the training thread:
    the next optimiser step changes the weights and the optimiser's moments in
    place.  Other values (numbers, strings, settings) are not copied.
    """
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        copied = copy.copy(value)  # keeps the mapping's type (OrderedDict, Lightning's AttributeDict)
        for key, item in value.items():
            copied[key] = detached_copy(item)
        return copied
    if isinstance(value, list):
        return [detached_copy(item) for item in value]
    if type(value) is tuple:
        return tuple(detached_copy(item) for item in value)
    return value


def _write_checkpoint(checkpoint: dict[str, Any], path: Any) -> None:
    buffer = io.BytesIO()
    torch.save(checkpoint, buffer)  # before the temp file exists: a pickling error leaves nothing behind

    def write(tmp: str) -> None:
        with open(tmp, "wb") as handle:
            handle.write(buffer.getbuffer())

    atomic_write(path, write)


class AtomicCheckpointIO(TorchCheckpointIO):
    """``torch.save`` into a temp file beside the target, fsync, rename, fsync the folder.

    With a ``writer`` the file is written on its thread; :meth:`teardown`
    (Lightning calls it when ``fit`` ends) waits for the write.
    """

    def __init__(self, writer: BackgroundWriter | None = None) -> None:
        super().__init__()
        self.writer = writer

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError("AtomicCheckpointIO takes no storage_options")
        if self.writer is not None:
            # Copies now (a few ms), pickling and writing on the writer's thread (tens of ms).
            snapshot = detached_copy(checkpoint)
            self.writer.submit(lambda: _write_checkpoint(snapshot, path))
        else:
            _write_checkpoint(checkpoint, path)

    def remove_checkpoint(self, path: Any) -> None:
        self.flush()  # a queued write must not recreate what is removed
        super().remove_checkpoint(path)

    def flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()

    def teardown(self) -> None:
        self.flush()


def moved_with_the_run(state_dict: dict[str, Any], dirpath: str | Path | None) -> dict[str, Any]:
    """A ``ModelCheckpoint``'s saved state, its paths moved to ``dirpath``: a run folder moved or copied keeps its record.

    Lightning compares the saved ``dirpath`` with today's and, when a user has
    moved the run folder, forgets the best score (and warns with its source
    path), so the next validation would replace ``best.ckpt`` even if worse.
    The checkpoints live inside the run folder and moved with it.
    """
    saved = state_dict.get("dirpath")
    if dirpath is None or saved is None or str(saved) == str(dirpath):
        return state_dict
    moved = dict(state_dict, dirpath=str(dirpath))
    for key in ("best_model_path", "kth_best_model_path", "last_model_path"):
        if moved.get(key):
            moved[key] = str(Path(dirpath) / Path(moved[key]).name)
    if isinstance(moved.get("best_k_models"), dict):
        moved["best_k_models"] = {str(Path(dirpath) / Path(path).name): score for path, score in moved["best_k_models"].items()}
    return moved


class PeriodicCheckpoint(ModelCheckpoint):
    """Lightning's ``ModelCheckpoint`` with its ``state_key`` computed once.

    Lightning names every callback hook call by ``state_key``, which
    ``ModelCheckpoint`` rebuilds from its settings with ``repr`` each time:
    about 70 µs a step on the digits trainer.  The settings never change
    after construction, so the string (which also keys the callback's state
    in checkpoints, and so must stay the same) is computed once.
    """

    @property
    def state_key(self) -> str:
        key = self.__dict__.get("_cached_state_key")
        if key is None:
            key = self.__dict__["_cached_state_key"] = super().state_key
        return key

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(moved_with_the_run(state_dict, self.dirpath))

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        """Return at once between timed saves, as Lightning would after its per-step checks (~40 µs).

        Only on one process: under DDP, Lightning broadcasts rank 0's decision
        so that every rank saves at the same step.
        """
        interval = self._train_time_interval
        if interval is not None and self._every_n_train_steps < 1 and trainer.world_size == 1 and pl_module.automatic_optimization:
            last = self._last_time_checked
            if last is None or time.monotonic() - last < interval.total_seconds():
                return
        super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)


def periodic_checkpoint(run_dir: str | Path, save_freq: float) -> ModelCheckpoint:
    """``last.ckpt`` every ``save_freq`` seconds (every step when 0)."""
    timing: dict[str, Any] = {"every_n_train_steps": 1} if save_freq <= 0 else {"train_time_interval": timedelta(seconds=save_freq)}
    checkpoint = PeriodicCheckpoint(
        dirpath=Path(run_dir) / CHECKPOINT_DIR,
        save_last=True,
        save_top_k=0,
        save_on_train_epoch_end=False,
        # One name, always: a changed --save-freq on resume must not divert progress to last-v1.ckpt.
        enable_version_counter=False,
        **timing,
    )
    checkpoint.CHECKPOINT_NAME_LAST = "last"
    return checkpoint


class RunExport(L.Callback):
    """Keeps ``config.json`` + ``model.safetensors`` in step with each checkpoint."""

    def __init__(self, run_dir: str | Path, run: Any, writer: BackgroundWriter | None = None) -> None:
        """``run`` is the :class:`~dirvae.runs.record.RunConfig` written as ``config.json`` with each export."""
        self.run_dir = Path(run_dir)
        self.run = run
        self.writer = writer
        self.interrupted = False
        self.terminated = False
        self.saved_on_crash = False

    def export(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if trainer.is_global_zero:
            config = self.run.with_progress(trainer.global_step, trainer.current_epoch).to_dict()
            snapshot = exported_model(trainer, pl_module).run_snapshot(config)  # copied now: this step's weights (or their EMA)
            if self.writer is None:
                snapshot.write(self.run_dir)
            else:
                self.writer.submit(lambda: snapshot.write(self.run_dir))

    def on_save_checkpoint(self, trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]) -> None:
        self.export(trainer, pl_module)

    def on_exception(self, trainer: L.Trainer, pl_module: L.LightningModule, exception: BaseException) -> None:
        if trainer.world_size != 1:
            return
        self._settle()
        if isinstance(exception, KeyboardInterrupt):
            self.interrupted = True
            self.terminated = type(exception).__name__ == "Terminated"  # SIGTERM (training.signals.Terminated)
            with saving_ignores_ctrl_c():
                trainer.save_checkpoint(last_checkpoint(self.run_dir), weights_only=False)
                self._flush()
        elif trainer.global_step > 0 and all(torch.isfinite(p).all() for p in pl_module.parameters()):
            # A crash: keep the last finished step, unless the weights themselves are already ruined.
            try:
                trainer.save_checkpoint(last_checkpoint(self.run_dir), weights_only=False)
                self._flush()
                self.saved_on_crash = True
            except Exception:  # the original error is the one to report
                pass

    def _settle(self) -> None:
        """Let earlier writes finish before the save on the way out; their errors yield to the one being handled."""
        if self.writer is not None:
            self.writer.settle()

    def _flush(self) -> None:
        if self.writer is not None:
            self.writer.flush()


def read_progress(path: Path) -> dict[str, int]:
    """``global_step`` and ``epoch`` of a checkpoint, or :class:`RunError` if it is not a usable one.

    Any failure to unpickle (truncated, zero bytes, random bytes, a forbidden
    pickle, another program's file) means the same thing to a user: this file
    cannot be resumed from.  ``mmap`` keeps this cheap for large models.
    """
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as error:  # noqa: BLE001 - every unpickling failure is "damaged"
        reason = str(error).strip().splitlines()[0][:120] if str(error).strip() else type(error).__name__
        raise RunError(f"{path}: checkpoint is damaged ({reason})") from None
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("state_dict"), dict) or "global_step" not in checkpoint:
        raise RunError(f"{path}: not a dirvae training checkpoint")
    return {"global_step": int(checkpoint["global_step"]), "epoch": int(checkpoint.get("epoch", 0))}


def newest_checkpoint(run_dir: str | Path) -> tuple[Path, dict[str, int]]:
    """The readable ``last*.ckpt`` with the most steps, and its progress.

    Runs trained before the version counter was switched off may hold
    ``last-v1.ckpt`` beside a stale ``last.ckpt``; the newest step wins, never
    the name.  When none is readable the error says what is still intact.
    """
    run_dir = Path(run_dir)
    candidates = sorted((run_dir / CHECKPOINT_DIR).glob("last*.ckpt"))
    if not candidates:
        raise RunError(f"{run_dir}: no checkpoint to resume ({last_checkpoint(run_dir)} is missing)")
    readable, problems = [], []
    for path in candidates:
        try:
            readable.append((read_progress(path), path))
        except RunError as error:
            problems.append(str(error))
    if not readable:
        weights = run_dir / "model.safetensors"
        hint = (
            f"the weights in {weights} are intact (use them with sample/evaluate) but training cannot resume; start a new run"
            if _weights_readable(weights)
            else "start a new run"
        )
        raise RunError(f"{problems[0]}; {hint}")
    progress, path = max(readable, key=lambda item: (item[0]["global_step"], item[1].stat().st_mtime))
    return path, progress


def _weights_readable(path: Path) -> bool:
    try:
        with safe_open(str(path), framework="pt") as weights:
            return bool(list(weights.keys()))
    except Exception:  # noqa: BLE001 - any failure means "not intact"
        return False


def check_matches(path: Path, module: L.LightningModule, config_path: Path) -> None:
    """Refuse a checkpoint whose tensors do not fit the networks ``config.json`` describes."""
    saved = torch.load(path, map_location="cpu", weights_only=True, mmap=True)["state_dict"]
    expected = module.state_dict()
    for key, tensor in expected.items():
        if key not in saved:
            problem = f"{key} is missing"
        elif tuple(saved[key].shape) != tuple(tensor.shape):
            problem = f"{key} is {tuple(saved[key].shape)}, expected {tuple(tensor.shape)}"
        else:
            continue
        raise RunError(
            f"{path}: does not match {config_path} ({problem}); config.json was edited or belongs to another run"
        )
