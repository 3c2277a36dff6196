"""The training configuration: defaults, config files, flags, validation.

Precedence, lowest first: built-in defaults, the resumed run's saved
configuration (``--load``), a YAML/JSON ``--config`` file, then flags given on
the command line.  The resolved result is saved as the run's ``config.json``,
so every run records exactly what it did.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from dirvae.errors import DirvaeError
from dirvae.recipe import ALPHA_TRANSFORMS, DECODER_INPUTS, KL_KINDS, LEGACY, RECIPES, SAMPLERS, resolve_recipe
from dirvae.training.schedules import KL_SCHEDULES

MODALITIES = ("image", "audio", "video")
ARCHITECTURES = ("auto", "resblock", "resnet", "mlp", "wave", "melresnet", "stft")


@dataclass
class TrainConfig:
    """Every option of ``dirvae train``; field names match the long flags."""

    type: str = "image"
    data: str | None = None
    epochs: int | None = None
    iterations: int | None = None
    batches: int = 32
    learning_rate: float = 1e-3
    model_size: int | None = None
    audio_size: int = 2**16
    image_size: int | None = None
    sample_rate: int = 16000
    grayscale: bool = False
    shuffle: bool | None = None
    shuffle_dir: bool = False
    shuffle_all: bool | None = None
    pad_last: str = "short"
    no_gpu: bool = False
    load: str | None = None
    save_freq: float = 10.0
    run_dir: str | None = None
    recipe: str = "default"
    sampler: str | None = None
    kl_kind: str | None = None
    alpha_transform: str | None = None
    decoder_input: str | None = None
    learn_prior: bool | None = None
    latent: str = "dirichlet"
    architecture: str = "auto"
    reconstruction: str = "auto"
    prior_alpha: float = 0.98
    prior_burn_in: int | None = 10_000
    kl_schedule: str = "cyclical"
    kl_weight: float = 1.0
    kl_cycle_steps: int | None = None
    kl_warmup_steps: int | None = None
    clip_norm: float = 1.0
    seed: int = 0
    view: bool = False
    view_port: int = 6006
    log_every: int = 50
    num_workers: int = 0
    threads: int | None = None
    devices: str = "auto"
    num_nodes: int = 1
    strategy: str = "auto"
    precision: str = "auto"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def shuffles(self) -> bool:
        """Images shuffle by default: sorted paths put crops of one photo in one batch.
        Audio windows and video frames keep the seed's file-by-file order unless --shuffle."""
        return self.shuffle if self.shuffle is not None else self.type == "image"

    def mixes_files(self) -> bool:
        """Audio/video: whether batches draw windows or frames from all files at random.

        The default (measured by benchmarks/shuffle.py, see BENCHMARKS.md) mixes,
        unless --shuffle or --shuffle-dir asks for the seed's file-by-file order.
        """
        if self.type == "image":
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


PRE_ISSUE_14 = {"shuffle_all": False, "pad_last": "none"}
"""Before these options, audio/video read file by file and short audio files were dropped."""


def legacy_training_options(saved: dict[str, Any]) -> dict[str, Any]:
    """A saved run's training options, read with the meaning they had when it was trained.

    Runs from before recipes existed trained the paper's recipe with K = 64 and
    saved no recipe fields; they resume with exactly that.  Session-only
    options saved by older versions are dropped.
    """
    saved = {key: value for key, value in saved.items() if key not in SESSION_ONLY}
    # Options added later: a run saved without them trained as they were then.
    saved = {**PRE_ISSUE_14, **saved}
    if "recipe" in saved:
        return saved
    return {**{key: value for key, value in LEGACY.items()}, "model_size": 64, **saved, "recipe": "paper"}


FIELD_NAMES = {f.name for f in dataclasses.fields(TrainConfig)}


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


FIELD_TYPES = {f.name: str(f.type) for f in dataclasses.fields(TrainConfig)}


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
    try:
        config = TrainConfig(**merged)
    except TypeError as error:
        raise DirvaeError(f"bad configuration: {error}") from None
    validate(config)
    try:
        config.latent_recipe()
    except ValueError as error:
        raise DirvaeError(f"bad recipe: {error}") from None
    return config


def _positive(name: str, value: float | int | None, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        raise DirvaeError(f"--{name.replace('_', '-')} must be a positive number, got {value!r}")


def validate(config: TrainConfig) -> None:
    if config.type not in MODALITIES:
        raise DirvaeError(f"--type must be one of {', '.join(MODALITIES)}, got {config.type!r}")
    for name in ("batches", "learning_rate", "audio_size", "sample_rate", "kl_weight", "clip_norm", "log_every"):
        _positive(name, getattr(config, name))
    for name in ("epochs", "iterations", "image_size", "kl_cycle_steps", "kl_warmup_steps", "model_size"):
        _positive(name, getattr(config, name), allow_none=True)
    if config.model_size is not None and config.model_size < 2:
        raise DirvaeError("--model-size must be at least 2 (a simplex needs two components)")
    if not isinstance(config.seed, int) or isinstance(config.seed, bool) or not 0 <= config.seed < 2**32:
        raise DirvaeError(f"--seed must be a whole number from 0 to 2^32 - 1, got {config.seed!r}")
    if not isinstance(config.save_freq, (int, float)) or not math.isfinite(config.save_freq) or config.save_freq < 0:
        raise DirvaeError(f"--save-freq must be zero or a positive number of seconds, got {config.save_freq!r}")
    if not math.isfinite(config.prior_alpha) or config.prior_alpha <= 0:
        raise DirvaeError(f"--prior-alpha must be positive, got {config.prior_alpha!r}")
    if config.prior_burn_in is not None and config.prior_burn_in < 0:
        raise DirvaeError("--prior-burn-in must be zero or more steps")
    _positive("threads", config.threads, allow_none=True)
    if config.num_workers < 0:
        raise DirvaeError("--num-workers must be zero or more")
    choices = {
        "recipe": tuple(RECIPES),
        "sampler": (None, *SAMPLERS),
        "kl_kind": (None, *KL_KINDS),
        "alpha_transform": (None, *ALPHA_TRANSFORMS),
        "decoder_input": (None, *DECODER_INPUTS),
        "latent": ("dirichlet", "gaussian"),
        "architecture": ARCHITECTURES,
        "reconstruction": ("auto", "mse", "bernoulli", "gaussian", "logistic", "stft"),
        "kl_schedule": KL_SCHEDULES,
        "precision": ("auto", "32", "32-true", "bf16-mixed", "16-mixed", "bf16-true", "64-true"),
        "pad_last": ("none", "short", "all"),
    }
    for name, allowed in choices.items():
        if getattr(config, name) not in allowed:
            shown = ", ".join(str(a) for a in allowed if a is not None)
            raise DirvaeError(f"--{name.replace('_', '-')} must be one of {shown}, got {getattr(config, name)!r}")
    if config.type == "audio" and config.architecture in ("resblock", "resnet", "mlp"):
        raise DirvaeError(f"--architecture {config.architecture} is for images; audio uses stft, wave or melresnet")
    if config.type in ("image", "video") and config.architecture in ("wave", "melresnet", "stft"):
        raise DirvaeError(f"--architecture {config.architecture} is for audio; {config.type} uses resblock, resnet or mlp")
