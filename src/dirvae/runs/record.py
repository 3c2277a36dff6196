"""``RunConfig``: a run's configuration as one typed record, the same from parsing to ``config.json`` and back.

``dirvae train`` resolves its options (:class:`~dirvae.training.config.TrainConfig`)
into this record, writes :meth:`RunConfig.to_dict` as ``config.json`` and
reads it back with :meth:`RunConfig.from_dict`; every tool reads the same
record.  Its sections are typed: ``data`` is the run's modality's
:class:`~dirvae.modalities.DataConfig`, ``model`` the resolved
:class:`~dirvae.model.DirichletVAEConfig`, ``training`` the resolved options.
Runs saved by older versions are upgraded first (:mod:`dirvae.runs.upgrade`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dirvae.errors import RunError
from dirvae.model import DirichletVAEConfig
from dirvae.modalities import MODALITIES, DataConfig, Modality
from dirvae.runs.files import CONFIG_NAME, read_config
from dirvae.runs.upgrade import RUN_FORMAT, upgrade
from dirvae.training.config import SESSION_ONLY, TrainConfig, resolve, saved_options
from dirvae.version import __version__


@dataclass
class RunConfig:
    """What a run is: its modality, how its data is read, its model, and the options it trains with.

    ``training`` is None for a run written by ``save_pretrained`` outside
    ``dirvae train``; ``progress`` is the step and epoch its weights are from.
    """

    modality: str
    data: DataConfig
    model: DirichletVAEConfig
    training: TrainConfig | None = None
    progress: dict[str, int] = field(default_factory=dict)

    @property
    def spec(self) -> Modality:
        """The run's :class:`~dirvae.modalities.Modality`: everything that depends on its kind of data."""
        return MODALITIES[self.modality]

    def to_dict(self) -> dict[str, Any]:
        """``config.json``'s contents: the sections in the layout every version has written."""
        values: dict[str, Any] = {
            "format": RUN_FORMAT,
            "dirvae_version": __version__,
            "modality": self.modality,
            "data": self.data.to_dict(),
            **self.model.run_sections(),
        }
        if self.training is not None:
            values["training"] = {key: value for key, value in self.training.to_dict().items() if key not in SESSION_ONLY}
        if self.progress:
            values["progress"] = dict(self.progress)
        return values

    @classmethod
    def from_dict(cls, saved: dict[str, Any], where: str | Path = CONFIG_NAME) -> "RunConfig":
        """A ``config.json`` of any version as a record; whatever does not fit is one :class:`RunError` naming ``where``."""
        config = upgrade(saved, where)

        def bad(detail: str) -> RunError:
            return RunError(f"{where}: mismatched configuration: {detail}")

        modality = config.get("modality")
        if modality not in MODALITIES:
            raise bad(f"unknown modality {modality!r} (expected one of {', '.join(MODALITIES.names())})")
        spec = MODALITIES[modality]
        if not isinstance(config.get("data"), dict):
            raise bad("no 'data' section")
        try:
            data = spec.data_config.from_dict(config["data"])
        except (TypeError, ValueError) as error:
            raise bad(f"data section: {error}") from None
        problem = data.problem()
        if problem:
            raise bad(problem)
        try:
            model = DirichletVAEConfig.from_run_config(config)
        except (KeyError, TypeError, ValueError) as error:
            raise RunError(f"{where}: configuration does not describe a model ({error})") from None
        training = None
        if isinstance(config.get("training"), dict):
            training = resolve(saved_options(config["training"], where))
        progress = config.get("progress") if isinstance(config.get("progress"), dict) else {}
        return cls(modality, data, model, training, {key: int(value) for key, value in progress.items()})

    def with_progress(self, global_step: int, epoch: int) -> "RunConfig":
        return dataclasses.replace(self, progress={"global_step": int(global_step), "epoch": int(epoch)})


def read_run(run_dir: str | Path) -> RunConfig:
    """A run directory's ``config.json`` as a :class:`RunConfig` (one :class:`RunError` for anything wrong)."""
    return RunConfig.from_dict(read_config(run_dir), Path(run_dir) / CONFIG_NAME)
