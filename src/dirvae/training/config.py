"""The training configuration: defaults, config files, flags, validation.

Precedence, lowest first: built-in defaults, the resumed run's saved
configuration (``--load``), a YAML/JSON ``--config`` file, then flags given on
the command line.  The resolved result is saved as the run's ``config.json``,
so every run records exactly what it did.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dirvae.data.shard_plan import SHUFFLE_BUFFER
from dirvae.data.split import VAL_CAP, VAL_FRACTION
from dirvae.errors import DataError, DirvaeError
from dirvae.latent.recipe import ALPHA_TRANSFORMS, DECODER_INPUTS, KL_KINDS, PRIOR_ALPHA, RECIPES, SAMPLERS, resolve_recipe
from dirvae.losses import LOSSES
from dirvae.modalities import DEFAULT_MODALITY, MODALITIES, Modality
from dirvae.nets.registry import ARCHITECTURES
from dirvae.text.documents import TEXT_FIELD
from dirvae.training.running_means import SCALAR_EVERY
from dirvae.training.optim import BETAS, LEARNING_RATE
from dirvae.training.options import check_options, option, spec_of
from dirvae.training.schedules import KL_SCHEDULES

AUTO = "auto"
PRECISIONS = ("auto", "32", "32-true", "bf16-mixed", "16-mixed", "bf16-true", "64-true")
MAX_IMAGE_SIZE = 4096
MAX_AUDIO_SIZE = 2**24
MAX_SAMPLE_RATE = 768_000
"""Beyond these one item alone exhausts memory (a 100000² image is 120 GB as floats)."""


def parse_audio_size(text: str) -> int:
    """65536 or the seed's 2^16 / 2**16, refusing a power too large to compute."""
    cleaned = str(text).replace("**", "^")
    try:
        if "^" in cleaned:
            base, exponent = (int(part) for part in cleaned.split("^", 1))
            if base > 1 and exponent > 0 and exponent * math.log2(base) > math.log2(MAX_AUDIO_SIZE):
                raise argparse.ArgumentTypeError(f"{text!r} is too large (at most 2^{int(math.log2(MAX_AUDIO_SIZE))})")
            if exponent < 0:
                raise ValueError(text)
            return base**exponent
        return int(cleaned)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number such as 65536 or 2^16, got {text!r}") from None


POSITIVE = dict(low=0, low_open=True, rule="a positive number")
AT_LEAST_ZERO = dict(low=0, rule="zero or more")


@dataclass
class TrainConfig:
    """Every option of ``dirvae train``: field names match the long flags, and each
    field's :func:`~dirvae.training.options.option` declares its help, choices and range."""

    type: str = option(
        DEFAULT_MODALITY, f"modality (default {DEFAULT_MODALITY}): "
        + "; ".join(f"{name}: {MODALITIES[name].summary}" for name in MODALITIES), choices=MODALITIES.names,
    )  # fmt: skip
    data: str | None = option(None, "data folder (default data/<type>/; digits if that is empty for images)", text=True)
    epochs: int | None = option(None, "passes over the data (default 1; 30 on the digits)", **POSITIVE)
    iterations: int | None = option(None, "stop after this many optimiser steps", **POSITIVE)
    batches: int = option(32, "batch size, as in the seed (default 32)", **POSITIVE)
    learning_rate: float | None = option(
        None, f"Adam learning rate (default {LEARNING_RATE:g}"
        + "".join(f"; {MODALITIES[name].option_defaults['learning_rate']:g} for {name}" for name in MODALITIES
                  if "learning_rate" in MODALITIES[name].option_defaults) + ")",
        **POSITIVE,
    )  # fmt: skip
    model_size: int | None = option(
        None, "K, components of each simplex (default 20 for the MLP/digits, 16 for images, 64 for audio)",
        low=2, rule="at least 2 (a simplex needs two components)",
    )  # fmt: skip
    audio_size: int = option(2**16, "samples per audio window (default 2^16)", parse=parse_audio_size, cap=MAX_AUDIO_SIZE, **POSITIVE)
    image_size: int | None = option(
        None, "images and frames are resized and centre-cropped to this (default 64; 28 on the digits)", cap=MAX_IMAGE_SIZE, **POSITIVE
    )
    sample_rate: int = option(16000, "audio is resampled to this rate (default 16000)", cap=MAX_SAMPLE_RATE, **POSITIVE)
    grayscale: bool = option(False, "train on grayscale images")
    shuffle: bool | None = option(
        None, "audio/video: read file by file, shuffling the windows or frames within each file; images: shuffle the files (their default)",
        negation=("--no-shuffle", "images: keep the sorted file order"),
    )  # fmt: skip
    shuffle_dir: bool = option(
        False, "audio/video: read file by file, the files in a random order each epoch (with --shuffle, each file's items shuffled too)"
    )
    shuffle_all: bool | None = option(
        None, "audio/video: every batch mixes windows or frames of several files, each read in runs of 32 in a row "
        "(the default unless --shuffle or --shuffle-dir is given)",
        negation=("--no-shuffle-all", "audio/video: read file by file, as the seed did (--shuffle and --shuffle-dir then apply)"),
    )  # fmt: skip
    pad_last: str = option(
        "short", "audio: zero-pad a file's last partial window instead of dropping it: short pads only files shorter than one window "
        "(default), all (the flag alone) every file, none drops them (short files are then named in a warning)",
        choices=("none", "short", "all"), nargs="?", const="all",
    )  # fmt: skip
    text_unit: str = option(
        "auto", "text: what a document is: auto (a file in a folder, a record of .jsonl/.csv/.parquet, else a line), file, or line",
        choices=("auto", "file", "line"),
    )  # fmt: skip
    text_field: str = option(TEXT_FIELD, f"text: the column or key holding a document's text in .jsonl, .csv and .parquet (default {TEXT_FIELD})", text=True)
    label_field: str | None = option(None, "text: the column or key holding a document's label, if any", text=True)
    vocab_size: int = option(2000, "text: keep at most this many words, the most frequent (default 2000)", **POSITIVE)
    min_df: float = option(2, "text: drop words in fewer documents than this (a count, or a share below 1; default 2)", low=0, rule="zero or more")
    max_df: float = option(0.5, "text: drop words in more documents than this share (or count, above 1; default 0.5)", low=0, low_open=True, rule="positive")
    no_gpu: bool = option(False, "train on the CPU even when a GPU is present")
    load: str | None = option(None, "resume the run in this directory", metavar="RUN", text=True)
    save_freq: float = option(10.0, "checkpoint at most this often (default 10; 0 = every step)", metavar="SECONDS", low=0, rule="zero or a positive number of seconds")
    run_dir: str | None = option(None, "where to write this run (default runs/<type><K>-<time>)", text=True)
    recipe: str = option("default", "latent recipe preset: default (measured best) or paper (Joo et al.); the five flags below override it", choices=tuple(RECIPES))
    sampler: str | None = option(None, "reparameterisation: implicit (exact; default) or igca (the paper's approximation)", choices=(None, *SAMPLERS))
    kl_kind: str | None = option(None, "KL term: dirichlet (exact; default) or gamma (the paper's multi-Gamma)", choices=(None, *KL_KINDS))
    alpha_transform: str | None = option(None, "how the head's output becomes α (default softplus)", choices=(None, *ALPHA_TRANSFORMS))
    decoder_input: str | None = option(None, "what the decoder sees: scaled K·z (default), simplex z (paper), log K·z", choices=(None, *DECODER_INPUTS))
    learn_prior: bool | None = option(None, "learn the prior's α by gradient (replaces the --prior-burn-in re-estimate)")
    latent: str = option("dirichlet", "dirichlet, or gaussian for a baseline", choices=("dirichlet", "gaussian"))
    architecture: str = option(AUTO, "network family (default by modality)", choices=lambda: (AUTO, *ARCHITECTURES.names()))
    reconstruction: str = option(AUTO, "decoder likelihood (default by modality)", choices=lambda: (AUTO, *LOSSES.names()))
    prior_alpha: float = option(
        PRIOR_ALPHA, f"Dirichlet prior concentration (default {PRIOR_ALPHA:g}"
        + "".join(f"; {MODALITIES[name].option_defaults['prior_alpha']:g} for {name}" for name in MODALITIES
                  if "prior_alpha" in MODALITIES[name].option_defaults) + ")",
        low=0, low_open=True, rule="positive",
    )  # fmt: skip
    prior_burn_in: int | None = option(10_000, "steps before the prior is re-estimated by moments (default 10000)", low=0, rule="zero or more steps")
    kl_schedule: str = option("cyclical", "KL weight schedule: cyclical (default), linear warm-up, constant", choices=tuple(KL_SCHEDULES))
    kl_weight: float = option(1.0, "maximum KL weight (default 1)", **POSITIVE)
    kl_cycle_steps: int | None = option(None, "steps per KL cycle (default a quarter of the run)", **POSITIVE)
    kl_warmup_steps: int | None = option(None, "length of the linear warm-up (default: --kl-cycle-steps)", **POSITIVE)
    adam_beta1: float = option(BETAS[0], f"Adam's first-moment decay (default {BETAS[0]:g})", low=0, high=1, high_open=True, rule="from 0 to below 1")
    adam_beta2: float = option(BETAS[1], f"Adam's second-moment decay (default {BETAS[1]:g})", low=0, high=1, high_open=True, rule="from 0 to below 1")
    clip_norm: float = option(1.0, "clip the gradient norm to this (default 1)", **POSITIVE)
    ema_decay: float = option(
        0.0, "validate and export an exponential moving average of the weights with this decay (0: the raw weights; "
        + "default 0" + "".join(f", {MODALITIES[name].option_defaults['ema_decay']:g} for {name}" for name in MODALITIES
                                 if "ema_decay" in MODALITIES[name].option_defaults) + ")",
        low=0, high=1, high_open=True, rule="from 0 to below 1",
    )  # fmt: skip
    seed: int = option(0, "random seed (default 0)", low=0, high=2**32, high_open=True, rule="a whole number from 0 to 2^32 - 1")
    view: bool = option(False, "start TensorBoard on localhost and print its URL")
    view_port: int = option(6006, "TensorBoard port for --view (default 6006)", low=1, high=65535, rule="a port number from 1 to 65535")
    log_every: int = option(50, "render reconstructions every N steps (default 50)", **POSITIVE)
    view_seconds: float = option(
        5.0, "render the live view at most once in this many seconds of training (default 5; 0 = every --log-every steps)",
        metavar="SECONDS", low=0, rule="zero or a positive number of seconds",
    )  # fmt: skip
    scalars_every: int = option(
        SCALAR_EVERY, "steps per point of the training curves, each a running mean (default 10; the first point is step 1)",
        flag="--log-scalars-every", **POSITIVE,
    )  # fmt: skip
    val_fraction: float = option(
        VAL_FRACTION, f"share of the data held out for validation, at most {VAL_CAP:,} items, whole files for audio/video (default {VAL_FRACTION:g}; 0 = none)",
        low=0, high=1, high_open=True, rule="from 0 (no validation) to below 1",
    )  # fmt: skip
    val_data: str | None = option(None, "validate on this folder (or shards) instead of a share of --data", metavar="DIR", text=True)
    column: str | None = option(
        None, "Parquet/Arrow data: the column holding each item's bytes or text (default: data, the --type's name, or the only such column)",
        text=True,
    )  # fmt: skip
    label_column: str | None = option(None, "Parquet/Arrow data: a column of whole-number labels (default: label, where present)", text=True)
    shuffle_buffer: int = option(
        SHUFFLE_BUFFER, f"sharded data: items each data worker mixes in memory, after shuffling the shard order (default {SHUFFLE_BUFFER}; "
        "0 = shard order only)", **AT_LEAST_ZERO,
    )  # fmt: skip
    val_every: int = option(1000, "validate every N steps within long epochs (default 1000; and at every epoch's end)", **POSITIVE)
    num_workers: int | None = option(
        None, "data-loading worker processes (default: auto: none for data held in memory, e.g. the digits or a text corpus; "
        "where items are decoded (image files, audio, video, shards) chosen with --threads from the idle cores, 1 on 2 cores)",
        **AT_LEAST_ZERO,
    )  # fmt: skip
    threads: int | None = option(None, "torch CPU threads (default: 1 for small models or a busy machine, else the idle cores)", **POSITIVE)
    devices: str = option("auto", "devices per node for Lightning (default auto)", text=True)
    num_nodes: int = option(1, "nodes for DDP (default 1)", **POSITIVE)
    strategy: str = option("auto", "Lightning strategy, e.g. ddp (default auto)", text=True)
    precision: str = option("auto", "Lightning precision (default bf16-mixed on GPU, 32 on CPU)", choices=PRECISIONS, text=True)
    extra: dict[str, Any] = option(help="free-form notes kept with the run (config files only)", factory=dict, in_cli=False)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def modality(self) -> Modality:
        return MODALITIES[self.type]

    def shuffles(self) -> bool:
        """Items that are whole files (images) shuffle by default: sorted paths put crops of one photo in
        one batch.  Windows and frames keep the seed's file-by-file order unless --shuffle."""
        return self.shuffle if self.shuffle is not None else not self.modality().mixes_files

    def mixes_files(self) -> bool:
        """Windows and frames: whether batches draw them from all files at random.

        The default (measured by benchmarks/shuffle.py, see BENCHMARKS.md) mixes,
        unless --shuffle or --shuffle-dir asks for the seed's file-by-file order.
        """
        if not self.modality().mixes_files:
            return False
        if self.shuffle_all is not None:
            return self.shuffle_all
        return self.shuffle is None and not self.shuffle_dir

    def latent_recipe(self) -> dict[str, Any]:
        """The recipe's five fields, with the named preset filling what no flag set."""
        return resolve_recipe(
            self.recipe,
            sampler=self.sampler,
            kl_kind=self.kl_kind,
            alpha_transform=self.alpha_transform,
            decoder_input=self.decoder_input,
            learn_prior=self.learn_prior,
        )


SESSION_ONLY = ("view", "load")
"""Options that belong to one invocation, never to the run: a scripted resume must not start TensorBoard."""


FIELD_NAMES = {f.name for f in dataclasses.fields(TrainConfig)}

CAPS = ("epochs", "iterations")
"""Absolute targets (a step count, an epoch count); given on a resume, they replace the saved pair."""


def saved_options(saved: dict[str, Any], path: str | Path) -> dict[str, Any]:
    """A run's saved training options, type-checked, with errors naming its config.json.

    Options this version does not know are dropped (a newer run's extras);
    a value of the wrong type or out of range is one error line.
    """
    known = {key: value for key, value in saved.items() if key in FIELD_NAMES}
    options = normalise_keys(known, f"{path}")
    try:
        resolve(options)
    except DirvaeError as error:
        raise DirvaeError(f"{path}: {error}; fix the value or start a new run") from None
    return options


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Options from a YAML or JSON file (keys as flag names, dashes or underscores)."""
    path = Path(path)
    if not path.is_file():
        raise DirvaeError(f"{path}: config file not found")
    try:
        text = path.read_text(encoding="utf-8")
        values = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DirvaeError(f"{path}: not a readable YAML/JSON config ({reason})") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise DirvaeError(f"{path}: a config file must hold a mapping of option: value")
    return normalise_keys(values, str(path))


FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
FIELD_TYPES = {name: str(f.type) for name, f in FIELDS.items()}


def _coerce(name: str, value: Any, source: str) -> Any:
    """A config-file value as its option's type.

    YAML 1.1 reads ``3e-4`` (no dot) as a string, so numeric strings are
    accepted where a number is expected; anything else of the wrong type is
    one clear error, not a traceback later.
    """
    kind = FIELD_TYPES[name]
    flag = "--" + name.replace("_", "-")
    if value is None or kind.startswith("dict"):
        return value
    if kind.startswith("bool"):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("true", "yes", "on", "false", "no", "off"):
            return value.strip().lower() in ("true", "yes", "on")
        raise DirvaeError(f"{source}: {flag} must be true or false, got {value!r}")
    parse = getattr(spec_of(FIELDS[name]), "parse", None)
    if parse is not None and isinstance(value, str):
        try:
            return parse(value)
        except (argparse.ArgumentTypeError, ValueError) as error:
            raise DirvaeError(f"{source}: {flag}: {error}") from None
    if kind.startswith(("int", "float")):
        number = value
        if isinstance(value, str):
            try:
                number = float(value.strip().replace("^", "**")) if "**" not in value and "^" not in value else None
            except ValueError:
                number = None
        if isinstance(number, bool) or not isinstance(number, (int, float)):
            raise DirvaeError(f"{source}: {flag} must be a number, got {value!r}")
        if kind.startswith("int"):
            if not float(number).is_integer():
                raise DirvaeError(f"{source}: {flag} must be a whole number, got {value!r}")
            return int(number)
        return float(number)
    if kind.startswith("str") and not isinstance(value, str):
        if isinstance(value, (list, tuple, dict, set)):  # "run-dir: [1]" must not become a folder named "[1]"
            raise DirvaeError(f"{source}: {flag} must be text, got {value!r}")
        return str(value)
    return value


def normalise_keys(values: dict[str, Any], source: str) -> dict[str, Any]:
    result = {}
    for key, value in values.items():
        name = str(key).replace("-", "_")
        if name not in FIELD_NAMES:
            raise DirvaeError(f"{source}: unknown option {key!r}")
        result[name] = _coerce(name, value, source)
    return result


def resolve(*layers: dict[str, Any]) -> TrainConfig:
    """Merge option layers (later wins) over the defaults and validate."""
    merged: dict[str, Any] = {}
    for layer in layers:
        merged.update({k: v for k, v in layer.items() if k in FIELD_NAMES})
    # The modality's own defaults sit between the built-in ones and anything given.
    modality = merged.get("type", DEFAULT_MODALITY)
    if modality in MODALITIES:
        merged = {**MODALITIES[modality].option_defaults, **merged}
    try:
        config = TrainConfig(**merged)
    except TypeError as error:
        raise DirvaeError(f"bad configuration: {error}") from None
    validate(config)
    if config.learning_rate is None:
        config = dataclasses.replace(config, learning_rate=LEARNING_RATE)
    try:
        config.latent_recipe()
    except ValueError as error:
        raise DirvaeError(f"bad recipe: {error}") from None
    return config


def _devices_ok(value: Any) -> bool:
    """'auto', -1 (all), a positive count, or a list of device indices such as '0,1'."""
    text = str(value).strip()
    if text in ("auto", "-1"):
        return True
    if text.isdigit():
        return int(text) > 0
    parts = [part.strip() for part in text.split(",")]
    return "," in text and all(part.isdigit() for part in parts if part) and any(parts)


def validate(config: TrainConfig) -> None:
    """Each option against its declaration, then the rules that relate several options."""
    check_options(config)
    if not _devices_ok(config.devices):
        raise DirvaeError(f"--devices must be auto, a positive count, or device indices such as 0,1; got {config.devices!r}")
    if config.architecture != AUTO:
        try:
            config.modality().check_architecture(config.architecture)
        except DataError as error:
            raise DirvaeError(str(error)) from None
