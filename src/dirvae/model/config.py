"""``DirichletVAEConfig``: everything that defines a model except its weights.

In the manner of pythae's per-model config and diffusers' ``register_to_config``:
a model built from a config keeps it as ``model.config``, with every default
resolved (the recipe's fields, the feature sizes, the loss's name and
options), and ``save_pretrained`` writes exactly that.  So a saved model
rebuilds by construction, and a field a future version adds is read from an
old run with the meaning the run was trained with.

The run format (``config.json``) keeps two sections: ``architecture`` (a
registered network factory and its options) and ``model`` (the rest).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from dirvae.latent.dirichlet import ALPHA_FLOOR
from dirvae.latent.recipe import PRIOR_ALPHA
from dirvae.runs.upgrade import FORMAT_1, RUN_FORMAT, upgrade

ARCHITECTURE_FIELDS = ("architecture", "architecture_options")


@dataclass
class DirichletVAEConfig:
    """The options of :class:`dirvae.DirichletVAE` (see its docstring for each).

    ``architecture`` names a network pair registered in
    :data:`dirvae.nets.registry.ARCHITECTURES` (``None`` when you pass your own
    encoder and decoder); ``reconstruction`` names a loss registered in
    :data:`dirvae.losses.LOSSES` with ``reconstruction_options``.
    """

    model_size: int
    architecture: str | None = None
    architecture_options: dict[str, Any] = field(default_factory=dict)
    feature_size: int | None = None
    decoder_size: int | None = None
    recipe: str = "default"
    sampler: str | None = None
    kl_kind: str | None = None
    alpha_transform: str | None = None
    decoder_input: str | None = None
    learn_prior: bool | None = None
    latent: str = "dirichlet"
    prior_alpha: float | list[float] = PRIOR_ALPHA
    reconstruction: str | None = "mse"
    reconstruction_options: dict[str, Any] = field(default_factory=dict)
    alpha_floor: float = ALPHA_FLOOR
    prior_burn_in: int | None = None
    latent_shape: tuple[int, ...] | None = None
    decode_head: bool = True
    """A learned K → F' linear map before the decoder (False: the decoder reads the latent itself; runs saved before it had one)."""

    def __post_init__(self) -> None:
        if self.latent_shape is not None:
            self.latent_shape = tuple(int(n) for n in self.latent_shape)

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["latent_shape"] = list(self.latent_shape) if self.latent_shape is not None else None
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "DirichletVAEConfig":
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"unknown model option(s) {', '.join(unknown)}")
        return cls(**values)

    def replace(self, **changes: Any) -> "DirichletVAEConfig":
        return dataclasses.replace(self, **changes)

    # ------------------------------------------------------------ run format
    def run_sections(self) -> dict[str, Any]:
        """The ``architecture`` and ``model`` sections of a run's ``config.json``."""
        values = self.to_dict()
        sections: dict[str, Any] = {"model": {k: v for k, v in values.items() if k not in ARCHITECTURE_FIELDS}}
        if self.architecture is not None:
            sections["architecture"] = {"name": self.architecture, "options": dict(self.architecture_options)}
        return sections

    @classmethod
    def from_run_config(cls, config: dict[str, Any]) -> "DirichletVAEConfig":
        """Read a run's ``config.json``, including runs saved by older versions (:mod:`dirvae.runs.upgrade`).

        A mapping with no ``format`` is read as format 1, the oldest.
        """
        config = upgrade(config if config.get("format") in (FORMAT_1, RUN_FORMAT) else {**config, "format": FORMAT_1})
        model = config.get("model")
        if not isinstance(model, dict) or "model_size" not in model:
            raise ValueError("no 'model' section with a model_size")
        values = dict(model)
        values["reconstruction_options"] = values.get("reconstruction_options") or {}
        architecture = config.get("architecture")
        if isinstance(architecture, dict):
            values["architecture"] = architecture.get("name")
            values["architecture_options"] = dict(architecture.get("options") or {})
        return cls.from_dict(values)
