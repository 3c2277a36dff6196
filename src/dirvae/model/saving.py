"""Saving and loading a model as a run directory: ``config.json`` + ``model.safetensors``, no pickle.

A mixin of :class:`~dirvae.model.DirichletVAE`; the files themselves are
:mod:`dirvae.runs.files`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from dirvae.errors import RunError
from dirvae.model.config import DirichletVAEConfig
from dirvae.runs.files import (
    BEST_WEIGHTS_NAME, CONFIG_NAME, RUN_FORMAT, WEIGHTS_NAME, RunSnapshot, read_config, read_weights, snapshot_run, weight_shapes, write_run,
)
from dirvae.version import __version__


WEIGHT_CHOICES = {"last": WEIGHTS_NAME, "best": BEST_WEIGHTS_NAME}
"""Which weights of a run to load: the last saved, or the best validation's."""


class SavingMixin:
    """``config``, ``save_pretrained`` and ``from_pretrained``: a model that rebuilds from its own description."""

    @property
    def config(self) -> DirichletVAEConfig:
        """The resolved config: rebuilds this model (with its weights from the state dict).

        Computed from the model itself, so it is right by construction: the
        recipe's fields, the feature sizes, the loss's registered name and
        options, and the latent field's shape once a forward pass fixed it.
        ``reconstruction`` is ``None`` for a loss with no registered name.
        """
        architecture, architecture_options = self._architecture
        return DirichletVAEConfig(
            model_size=self.model_size,
            architecture=architecture,
            architecture_options=dict(architecture_options),
            feature_size=self.feature_size,
            decoder_size=self.decoder_size,
            recipe=self._recipe_name,
            **self.recipe,
            latent=self.latent_kind,
            prior_alpha=self._initial_prior,
            reconstruction=getattr(self.likelihood, "config_name", None),
            reconstruction_options=self.likelihood.config_options() if hasattr(self.likelihood, "config_options") else {},
            alpha_floor=self.alpha_floor,
            prior_burn_in=self.prior_burn_in,
            latent_shape=self.latent_shape,
            decode_head=not isinstance(self.decode_head, nn.Identity),
        )

    def save_pretrained(self, run_dir: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Write ``config.json`` + ``model.safetensors`` into ``run_dir`` atomically, no pickle.

        ``extra`` adds sections to ``config.json`` (``dirvae train`` records
        its training options there).  A loss without a registered name cannot
        be rebuilt from the file, so saving refuses it rather than writing a
        run that will not load.
        """
        config, state = self.run_contents(extra)
        return write_run(run_dir, config, state)

    def run_contents(
        self, extra: dict[str, Any] | None = None, *, copy: bool = False
    ) -> tuple[dict[str, Any], dict[str, Tensor]]:
        """What :meth:`save_pretrained` writes: ``config.json``'s contents and the CPU state dict.

        Separate so a trainer can take them now and write them later, off its
        training thread (:meth:`run_snapshot`); ``copy`` makes
        the tensors copies, so later training steps do not change them.
        """
        config = self.config
        if config.reconstruction is None:
            raise ValueError(
                f"cannot save a model whose reconstruction loss ({type(self.likelihood).__name__}) has no registered name: "
                "subclass dirvae.losses.ReconstructionLoss with a config_name, or save the state_dict yourself"
            )
        full = {**(extra or {}), **config.run_sections(), "format": RUN_FORMAT, "dirvae_version": __version__}
        if "model" in (extra or {}):  # keep extra model fields a caller recorded (none are read back)
            full["model"] = {**extra["model"], **full["model"]}
        state = {name: tensor.detach().to("cpu", copy=copy).contiguous() for name, tensor in self.state_dict().items()}
        return full, state

    def run_snapshot(self, extra: dict[str, Any] | None = None) -> RunSnapshot:
        """What :meth:`save_pretrained` would write now, copied, for writing later (``snapshot.write(run_dir)``)."""
        return snapshot_run(*self.run_contents(extra, copy=True))

    @classmethod
    def from_run_config(
        cls, config: dict[str, Any], *, encoder: nn.Module | None = None, decoder: nn.Module | None = None
    ) -> "DirichletVAE":
        """A fresh (untrained) model from a run's ``config.json`` contents, old formats included."""
        return cls(DirichletVAEConfig.from_run_config(config), encoder=encoder, decoder=decoder)

    @classmethod
    def from_pretrained(
        cls,
        run_dir: str | Path,
        map_location: str | torch.device = "cpu",
        *,
        encoder: nn.Module | None = None,
        decoder: nn.Module | None = None,
        weights: str = "last",
    ) -> "DirichletVAE":
        """Load a run directory's ``config.json`` + ``model.safetensors``, with no pickle.

        ``weights="best"`` loads ``best.safetensors``, the best validation's
        weights.  Pass ``encoder``/``decoder`` for a model trained with custom
        networks that the configuration cannot rebuild.  Every problem with
        the files is one :class:`~dirvae.errors.RunError` naming the file.
        """
        run_dir = Path(run_dir)
        if weights not in WEIGHT_CHOICES:
            raise ValueError(f"weights must be one of {', '.join(WEIGHT_CHOICES)}, got {weights!r}")
        name = WEIGHT_CHOICES[weights]
        config = read_config(run_dir)
        shapes = weight_shapes(run_dir, name)
        # Shapes first, on the meta device: a damaged or hostile config.json that asks for
        # networks its weights do not fit (or no machine could hold) is one line, not an allocation.
        try:
            with torch.device("meta"):
                skeleton = cls.from_run_config(config, encoder=encoder, decoder=decoder)
        except (KeyError, TypeError, ValueError) as error:
            raise RunError(f"{run_dir / CONFIG_NAME}: configuration does not describe a model ({error})") from None
        check_shapes(skeleton, shapes, run_dir / name)
        state = read_weights(run_dir, name)
        model = cls.from_run_config(config, encoder=encoder, decoder=decoder)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as error:
            lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
            detail = lines[1] if len(lines) > 1 else lines[0] if lines else "state dict mismatch"
            detail = detail if len(detail) <= 160 else detail[:157] + "..."
            raise RunError(f"{run_dir / name}: weights do not match config.json ({detail})") from None
        return model.to(map_location).eval()


def memory_bytes() -> int | None:
    """This machine's physical memory, where the OS says (None elsewhere)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def check_shapes(skeleton: nn.Module, shapes: dict[str, tuple[int, ...]], weights: Path) -> None:
    """Every tensor the configuration builds must be in the weights file with the same shape, and fit in memory."""
    expected = {name: tuple(tensor.shape) for name, tensor in skeleton.state_dict().items()}
    missing = sorted(set(expected) - set(shapes))
    unexpected = sorted(set(shapes) - set(expected))
    wrong = [name for name in expected if name in shapes and shapes[name] != expected[name]]
    where = f"{weights}: weights do not match config.json"
    if wrong:
        name = wrong[0]
        raise RunError(f"{where} ({name} is {list(shapes[name])} in the weights, {list(expected[name])} in the configuration)")
    if missing or unexpected:
        detail = f"missing {', '.join(missing[:3])}" if missing else f"unexpected {', '.join(unexpected[:3])}"
        raise RunError(f"{where} ({detail})")
    needed = sum(4 * math.prod(shape) for shape in expected.values())  # float32 when built
    available = memory_bytes()
    if available is not None and needed > available:
        raise RunError(
            f"{weights.parent / CONFIG_NAME}: the model needs {needed / 2**30:,.1f} GiB for its parameters, "
            f"more than this machine's {available / 2**30:,.1f} GiB"
        )
