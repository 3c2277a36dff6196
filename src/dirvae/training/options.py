"""One definition per option: a dataclass field carries its flag, help, choices and range.

``dirvae train``'s options were once defined three times (the config
dataclass, the argparse flags, the validation), and the copies drifted.  Now
each :class:`~dirvae.training.config.TrainConfig` field is declared with
:func:`option`, and the command-line parser (:func:`add_flags`) and the
per-option checks (:func:`check_options`) are generated from those fields.
Checks that relate several options stay explicit in ``config.validate``.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from dirvae.errors import DirvaeError


@dataclass(frozen=True)
class Spec:
    """What one option is, beyond its type and default (see :func:`option`)."""

    help: str
    choices: Sequence[Any] | Callable[[], Sequence[Any]] | None = None
    low: float | None = None
    low_open: bool = False
    high: float | None = None
    high_open: bool = False
    rule: str | None = None
    cap: float | None = None
    flag: str | None = None
    negation: tuple[str, str] | None = None
    parse: Callable[[str], Any] | None = None
    metavar: str | None = None
    nargs: str | None = None
    const: Any = None
    text: bool = False
    in_cli: bool = True

    def allowed(self) -> tuple[Any, ...] | None:
        if self.choices is None:
            return None
        return tuple(self.choices() if callable(self.choices) else self.choices)


def option(default: Any = dataclasses.MISSING, help: str = "", *, factory: Callable[[], Any] | None = None, **spec: Any) -> Any:
    """A dataclass field with its :class:`Spec`: ``help`` and, as needed, choices, a range, a flag name.

    ``low``/``high`` bound the value (``*_open`` makes a bound exclusive) and
    ``rule`` says the range in words for the error line; ``cap`` is a size
    beyond which one item would not fit in memory; ``negation`` adds a
    ``--no-...`` flag for a boolean.
    """
    metadata = {"spec": Spec(help=help, **spec)}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def spec_of(item: dataclasses.Field) -> Spec | None:
    return item.metadata.get("spec")


def flag_of(item: dataclasses.Field) -> str:
    spec = spec_of(item)
    return (spec.flag if spec and spec.flag else None) or "--" + item.name.replace("_", "-")


def add_flags(parser: argparse.ArgumentParser, config_class: type) -> None:
    """One flag per option of ``config_class``, every default ``None``.

    ``None`` means "not typed", so only the flags a user typed override a
    config file or a resumed run.
    """
    for item in dataclasses.fields(config_class):
        spec = spec_of(item)
        if spec is None or not spec.in_cli:
            continue
        kind = str(item.type)
        keywords: dict[str, Any] = {"dest": item.name, "default": None, "help": spec.help}
        if kind.startswith("bool"):
            keywords.update(action="store_const", const=True)
        else:
            if spec.parse is not None:
                keywords["type"] = spec.parse
            elif kind.startswith("int"):
                keywords["type"] = int
            elif kind.startswith("float"):
                keywords["type"] = float
            allowed = spec.allowed()
            if allowed is not None:
                keywords["choices"] = [value for value in allowed if value is not None]
            for name in ("metavar", "nargs"):
                if getattr(spec, name) is not None:
                    keywords[name] = getattr(spec, name)
            if spec.const is not None:
                keywords["const"] = spec.const
        parser.add_argument(flag_of(item), **keywords)
        if spec.negation is not None:
            negative, negative_help = spec.negation
            parser.add_argument(negative, dest=item.name, action="store_const", const=False, default=None, help=negative_help)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_options(config: Any) -> None:
    """Types, choices, ranges and memory caps of every option, one clear line for the first bad one."""
    for item in dataclasses.fields(config):
        spec = spec_of(item)
        value = getattr(config, item.name)
        if spec is None or value is None:
            continue
        flag, kind = flag_of(item), str(item.type)
        if kind.startswith("int"):
            if _is_number(value) and float(value).is_integer():
                value = int(value)
                setattr(config, item.name, value)
            else:
                raise DirvaeError(f"{flag} must be a whole number, got {value!r}")
        elif kind.startswith("float") and (not _is_number(value) or not math.isfinite(value)):
            raise DirvaeError(f"{flag} must be a finite number, got {value!r}")
        if spec.text and not isinstance(value, str):
            raise DirvaeError(f"{flag} must be text, got {value!r}")
        allowed = spec.allowed()
        if allowed is not None and value not in allowed:
            shown = ", ".join(str(choice) for choice in allowed if choice is not None)
            raise DirvaeError(f"{flag} must be one of {shown}, got {value!r}")
        if spec.cap is not None and value > spec.cap:
            raise DirvaeError(f"{flag} {value} is too large (at most {int(spec.cap)}): one item would not fit in memory")
        too_low = spec.low is not None and (value <= spec.low if spec.low_open else value < spec.low)
        too_high = spec.high is not None and (value >= spec.high if spec.high_open else value > spec.high)
        if too_low or too_high:
            raise DirvaeError(f"{flag} must be {spec.rule or 'in range'}, got {value!r}")
