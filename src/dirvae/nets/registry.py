"""Architectures by the name a run's ``config.json`` records, with what training needs to build them.

``config["architecture"] = {"name": ..., "options": {...}}`` names an entry
here and its keyword arguments; each entry returns ``(encoder, decoder)``.
The built-ins register in their own modules (importing :mod:`dirvae.nets`
registers them all) with :func:`register_architecture`, which also records
their default K and how their options follow from one item's shape, so
``dirvae train`` builds any of them without knowing which it is.  A plain
``ARCHITECTURES.register("mine", factory)`` makes a user's own pair loadable
by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from torch import nn

from dirvae.registry import Registry

NetworkFactory = Callable[..., tuple[nn.Module, nn.Module]]
OptionsFromShape = Callable[[tuple[int, ...], int, Any], dict[str, Any]]


@dataclass(frozen=True)
class Architecture:
    """A registered network pair: its factory, its default K, and its options for an item shape.

    ``options(item_shape, model_size, data)`` gives the factory's keyword
    arguments for items of ``item_shape`` (``data`` is the run's data
    section, for settings such as a sample rate).  Calling the entry calls
    the factory, so an ``Architecture`` is used like any registered factory.
    """

    factory: NetworkFactory
    model_size: int
    options: OptionsFromShape
    decode_head: bool = True
    """Whether the model's learned head sits before this decoder (a mixture decoder must read θ itself)."""

    def __call__(self, **options: Any) -> tuple[nn.Module, nn.Module]:
        return self.factory(**options)


ARCHITECTURES: Registry[NetworkFactory] = Registry("architecture")


def register_architecture(
    name: str, factory: NetworkFactory, *, model_size: int, options: OptionsFromShape, decode_head: bool = True
) -> Architecture:
    """Register a built-in with the defaults training reads (see :class:`Architecture`)."""
    entry = Architecture(factory, model_size, options, decode_head)
    ARCHITECTURES.register(name, entry)
    return entry


def architecture_spec(name: str) -> Architecture:
    """The registered :class:`Architecture` ``name``; a bare factory has no defaults to train from."""
    entry = ARCHITECTURES[name]
    if not isinstance(entry, Architecture):
        raise ValueError(f"architecture {name!r} was registered as a bare factory; pass its options yourself")
    return entry


def build_networks(name: str, options: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
    """``(encoder, decoder)`` from a registered architecture name and its options."""
    return ARCHITECTURES[name](**dict(options))
