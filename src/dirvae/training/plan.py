"""From training options to the run record: which data, which networks, which likelihood.

Everything ``dirvae train`` decides before it builds anything happens here,
asking the run's modality and the architecture registry rather than naming
either, so a new modality or architecture needs no change here.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from dirvae import printer
from dirvae.losses.reconstruction import default_loss_options
from dirvae.model import DirichletVAEConfig
from dirvae.modalities.spec import DataConfig
from dirvae.nets.registry import architecture_spec
from dirvae.runs.record import RunConfig
from dirvae.training.config import AUTO, TrainConfig

DATA_FOLDER = Path("data")
"""Without ``--data``, a run reads ``data/<type>/`` (the seed's layout)."""


def has_files(directory: Path) -> bool:
    if not directory.is_dir():
        return False
    for _root, _dirs, files in os.walk(directory):
        if any(not name.startswith(".") for name in files):
            return True
    return False


def data_source(options: TrainConfig, *, announce: bool = True) -> str:
    """``--data``, else ``data/<type>/``, else (when that folder is empty) the modality's embedded set, if it has one."""
    if options.data is not None:
        return options.data
    spec = options.modality()
    default = DATA_FOLDER / spec.name
    fallback = spec.fallback(options)
    if fallback is None or has_files(default):
        return str(default)
    if announce:
        printer.note(f"no data given and {default}/ has no files: training on {spec.describe(spec.data_from_options(options, fallback))}")
    return fallback


def plan_run(options: TrainConfig, source: str, saved: RunConfig | None = None, *, prepare: bool = True) -> RunConfig:
    """The run record ``options`` ask for on ``source``; a resumed run (``saved``) keeps its data section, networks and likelihood.

    ``--architecture auto`` and ``--reconstruction auto`` resolve to today's
    defaults, which change between versions; a run records what they resolved
    to, and resuming it must rebuild the same networks and read the same items
    (a text run its vocabulary).  ``prepare`` lets the modality learn what it
    needs from the training data first (:meth:`~dirvae.modalities.Modality.prepare`);
    without it the data section is only what the options say.
    """
    spec = options.modality()
    if saved is not None and saved.modality == spec.name:
        data = saved.data
    else:
        data = spec.data_from_options(options, source)
        if options.column is not None or options.label_column is not None:  # which columns of Parquet/Arrow shards
            data = dataclasses.replace(data, column=options.column, label_column=options.label_column)
        if prepare:
            data = spec.prepare(data, 0.0 if options.val_data else options.val_fraction)
    architecture = spec.default_architecture(data) if options.architecture == AUTO else options.architecture
    entry = architecture_spec(architecture)
    k = options.model_size or spec.default_model_size(architecture) or entry.model_size
    recipe = options.latent_recipe()
    default_loss, default_options = spec.default_reconstruction(data, architecture)
    loss = default_loss if options.reconstruction == AUTO else options.reconstruction
    loss_options = default_options if loss == default_loss else default_loss_options(loss, data.item_shape)
    model = DirichletVAEConfig(
        model_size=k,
        architecture=architecture,
        architecture_options=entry.options(data.item_shape, k, data),
        recipe=options.recipe,
        **recipe,
        latent=options.latent,
        prior_alpha=options.prior_alpha,
        reconstruction=loss,
        reconstruction_options=loss_options,
        prior_burn_in=None if recipe["learn_prior"] else options.prior_burn_in,  # a learned prior replaces the moment re-estimate
        decode_head=entry.decode_head,
    )
    model.architecture_options.update(spec.architecture_options(architecture, options))
    if saved is not None:
        model = dataclasses.replace(
            model, architecture=saved.model.architecture, architecture_options=dict(saved.model.architecture_options),
            reconstruction=saved.model.reconstruction, reconstruction_options=dict(saved.model.reconstruction_options),
        )  # fmt: skip
    training = dataclasses.replace(options, model_size=k, **recipe, shuffle_all=options.mixes_files())
    return RunConfig(spec.name, data, model, training)


def validation_data(options: TrainConfig, data: DataConfig) -> DataConfig | None:
    """``--val-data``: another source read with the training data's options."""
    return data.at(options.val_data) if options.val_data else None
