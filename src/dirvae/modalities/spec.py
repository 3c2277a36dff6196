"""What a modality is to the rest of dirvae: one :class:`Modality` object per kind of data.

Everything that differs between images, audio and video lives behind this
interface, so training, the tools and the live view never ask "which
modality?": they ask the run's modality object to open data, name its
defaults, read one file's items, draw the live view and write the tools'
outputs.  A new modality is one subclass registered in
:data:`dirvae.modalities.MODALITIES` (see the README's "Adding a modality").
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Iterator

from torch import Tensor
from torch.utils.data import Dataset

from dirvae.data.split import validation_split
from dirvae.errors import DataError

if TYPE_CHECKING:  # typing only: training options are defined above the modalities
    from dirvae.training.config import TrainConfig


TABLE_OPTIONS = ("column", "label_column")


@dataclass(frozen=True)
class DataConfig:
    """The ``data`` section of a run: what training read and how, so the tools read alike.

    ``source`` is where the data came from (a folder, shards, or a name such
    as the embedded ``digits``); ``item_shape`` is one item's tensor shape.
    ``column`` and ``label_column`` say which columns of Parquet or Arrow
    shards hold the items and their labels (None: found by name).  Each
    modality subclasses this with the options of its readers.
    """

    modality: ClassVar[str]
    source: str
    item_shape: tuple[int, ...]
    column: str | None = dataclasses.field(default=None, kw_only=True)
    label_column: str | None = dataclasses.field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        shape = self.item_shape
        if not isinstance(shape, (list, tuple)) or not all(isinstance(n, int) and not isinstance(n, bool) for n in shape):
            raise ValueError(f"item_shape must be a list of whole numbers, not {shape!r}")
        object.__setattr__(self, "item_shape", tuple(shape))

    def to_dict(self) -> dict[str, Any]:
        values = dataclasses.asdict(self)
        values["item_shape"] = list(self.item_shape)
        for name in TABLE_OPTIONS:  # written only for tables, so folder runs read as before
            if values.get(name) is None:
                values.pop(name, None)
        return values

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "DataConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(key for key, value in values.items() if key not in known and value is not None)
        if unknown:
            raise ValueError(f"unknown data option(s) {', '.join(unknown)}")
        return cls(**{key: value for key, value in values.items() if key in known})

    def problem(self) -> str | None:
        """What makes this section unable to describe the items (a damaged ``config.json``), or None."""
        if not self.item_shape or not all(n > 0 for n in self.item_shape):
            return f"data.item_shape must be a list of positive whole numbers, not {list(self.item_shape)}"
        return None

    def at(self, source: str | Path) -> "DataConfig":
        """The same reading options over other data (a tool's input folder)."""
        return dataclasses.replace(self, source=str(source))


class Modality:
    """One kind of data: its files, its readers, its defaults and its outputs.

    Class attributes describe it; methods do the work.  Subclasses fill in
    every method that raises :class:`NotImplementedError`.
    """

    name: ClassVar[str]
    summary: ClassVar[str] = ""
    """One line for ``--type``'s help."""
    extensions: ClassVar[frozenset[str]] = frozenset()
    """File extensions a folder of this modality holds (lower case, with the dot)."""
    reader: ClassVar[type[Dataset]]
    """The folder dataset (``reader(directory, **options)``), for :func:`dirvae.modalities.open_folder`."""
    data_config: ClassVar[type[DataConfig]] = DataConfig
    architectures: ClassVar[tuple[str, ...]] = ()
    """Registered architectures that take this modality's items; the first is the default."""
    item_key: ClassVar[str | None] = None
    """What ``FILE#key=N`` picks inside one file (``window``, ``frame``); None: a file is one item."""
    holds_out_files: ClassVar[bool] = False
    """Validation holds out whole files (items of one file are near copies), not single items."""
    option_defaults: ClassVar[dict[str, Any]] = {}
    """Training options this modality defaults differently (``learning_rate``, ``batches``, ...): they sit between
    the built-in defaults and anything a user gives; a run records what they resolved to."""
    psnr: ClassVar[bool] = False
    """Validation also reports PSNR (items are pictures in [0, 1])."""
    mixes_files: ClassVar[bool] = False
    """Batches draw items of all files at random by default (``--shuffle-all``), rather than shuffling files."""
    named_sets: ClassVar[tuple[str, ...]] = ()
    """Data sets this modality embeds, named as a source or tool input where no such file exists (``digits``)."""
    drop_last: ClassVar[bool] = False
    """Training drops a short last batch (networks with batch norm need two items a batch)."""
    latent_field: ClassVar[str] = "average"
    """How ``encode`` writes a field of latents by default: ``average`` the positions, or ``flatten`` them."""

    # ------------------------------------------------------------------ data
    def data_from_options(self, options: "TrainConfig", source: str) -> DataConfig:
        """The run's data section: how the training options say to read ``source``."""
        raise NotImplementedError

    def open(self, data: DataConfig) -> Dataset:
        """The dataset at ``data.source`` read with ``data``'s options (a folder, or an embedded set)."""
        raise NotImplementedError

    def fallback(self, options: "TrainConfig") -> str | None:
        """The source to train on when no data is given and the default folder is empty (None: none)."""
        return None

    def describe(self, data: DataConfig) -> str:
        """What a source is, for the line that says what a run trains on."""
        return f"{data.source} ({'x'.join(str(n) for n in data.item_shape)})"

    def data_note(self, dataset: Dataset) -> str | None:
        """A line about what reading the data met (skipped, repaired, left out), for the start of training; None: nothing."""
        return None

    def read_file(self, data: DataConfig, path: Path, start: int, count: int | None) -> Iterator[Tensor]:
        """Items ``start``, ``start + 1``, ... of one file, preprocessed like training (at most ``count``)."""
        raise NotImplementedError

    def decode(self, data: DataConfig, payload: bytes, extension: str) -> list[Tensor]:
        """The items of one file held in memory (a shard's member, a table cell), preprocessed like training.

        A picture gives one item, a sound its windows, a clip its frames.
        ``extension`` is the member's (``.jpg``), or ``""`` where a table
        holds bare bytes and the decoder must recognise the format itself.
        Sharded data of any modality is read through this alone.
        """
        raise NotImplementedError

    def item_name(self, path: Path, index: int) -> str:
        """How the datasets name item ``index`` of file ``path``."""
        return str(path) if self.item_key is None else f"{path}#{self.item_key}={index}"

    def prepare(self, data: DataConfig, val_fraction: float) -> DataConfig:
        """Whatever must be learnt from the training data before it is read as items (text: the vocabulary)."""
        return data

    def split(self, dataset: Dataset, data: DataConfig, val_fraction: float) -> tuple[Dataset, Dataset | None]:
        """(training, validation) items: the fixed split of :mod:`dirvae.data.split` unless a modality needs its own."""
        return validation_split(dataset, val_fraction)

    # ---------------------------------------------------------------- models
    def default_architecture(self, data: DataConfig) -> str:
        return self.architectures[0]

    def architecture_options(self, architecture: str, options: "TrainConfig") -> dict[str, Any]:
        """Options this modality adds to an architecture's, from the training options (none by default)."""
        return {}

    def default_model_size(self, architecture: str) -> int | None:
        """K for this modality's data when none is given (None: the architecture's own default)."""
        return None

    def default_reconstruction(self, data: DataConfig, architecture: str) -> tuple[str, dict[str, Any]]:
        """The likelihood (a registered loss name and its options) when ``--reconstruction auto``."""
        raise NotImplementedError

    def check_architecture(self, architecture: str) -> None:
        if architecture not in self.architectures:
            raise DataError(
                f"--architecture {architecture} does not take {self.name} items; {self.name} uses {', '.join(self.architectures)}"
            )

    # ------------------------------------------------------------ live view
    def view_state(self, model: Any, latents: Tensor) -> Any:
        """What the live view needs from the model besides decoded items, copied on the training thread (None: nothing)."""
        return None

    def draw_view(
        self, run_dir: Path, experiment: Any, inputs: Tensor, reconstructions: Tensor, samples: Tensor, step: int,
        *, held_out: bool, data: DataConfig, state: Any = None,
    ) -> None:  # fmt: skip
        """Write the live view: a file in the run directory and TensorBoard media (``experiment`` may be None)."""
        raise NotImplementedError

    # ----------------------------------------------------------- evaluation
    def extra_metrics(self, model: Any, dataset: Dataset, data: DataConfig, *, reference: Dataset | None = None) -> dict[str, Any]:
        """Metrics of this modality beyond the generic report (``evaluate``); none by default."""
        return {}

    # ---------------------------------------------------------------- tools
    output_kinds: ClassVar[dict[str, tuple[str, ...]]] = {}
    """Per tool (``sample``, ``reconstruct``, ``interpolate``, ``traverse``): the ``--out`` kinds it writes."""
    default_outputs: ClassVar[dict[str, str]] = {}
    """Per tool: the ``--out`` used when none is given."""

    def write_samples(self, samples: Tensor, out: Path, kind: str, data: DataConfig, *, fps: float) -> str:
        raise NotImplementedError

    def write_reconstructions(
        self, reconstruct: Any, inputs: Tensor, names: list[str], out: Path, kind: str, data: DataConfig, *, fps: float, batch_size: int,
    ) -> str:  # fmt: skip
        """``reconstruct(batch) -> batch`` decodes inputs; a modality may call it on other windows (audio overlap-add)."""
        raise NotImplementedError

    def write_interpolation(
        self, steps: Tensor, ends: tuple[Tensor, Tensor], out: Path, kind: str, data: DataConfig, *, fps: float, latents: Tensor | None = None,
    ) -> str:  # fmt: skip
        """``latents`` are the path's points on the simplex, for modalities that show them (a topic mix)."""
        raise NotImplementedError

    def write_traversal(self, rows: Tensor, out: Path, kind: str, data: DataConfig, *, fps: float, latents: Tensor | None = None) -> str:
        """``rows`` is ``[K, steps, *item_shape]``: one row per component (``latents`` ``[K, steps, K, ...]``)."""
        raise NotImplementedError

    def warn_inputs(self, names: list[str], data: DataConfig) -> str | None:
        """A warning about inputs a tool was given (e.g. non-square pictures that get cropped), or None."""
        return None

    def choose_item(self, items: Iterator[tuple[Tensor, str]]) -> tuple[Tensor, str, bool]:
        """The item of one file a tool uses to stand for it (interpolate's ends): the first, by default.

        Returns ``(tensor, name, chosen)``, ``chosen`` saying whether it was picked by a rule worth naming.
        """
        tensor, name = next(items)
        return tensor, name, False
