"""Name → factory tables, so that a run's ``config.json`` can name what built its model.

Architectures (:mod:`dirvae.nets.registry`) and reconstruction losses
(:mod:`dirvae.losses.reconstruction`) register under the name a config file
uses, next to their own definitions.  Loading a run then looks the name up
here: no name maps or ``isinstance`` chains elsewhere, and a user's own
network or loss becomes loadable by registering it the same way.
"""

from __future__ import annotations

import importlib
import sys
from typing import Callable, Generic, Iterator, TypeVar

Entry = TypeVar("Entry")


class Registry(Generic[Entry]):
    """A named table of factories of one kind, with one clear error for an unknown name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry] = {}

    def register(self, name: str, entry: Entry | None = None) -> Callable[[Entry], Entry] | Entry:
        """``registry.register("name", factory)``, or ``@registry.register("name")`` as a decorator.

        Registering a different entry under a taken name is an error, so a
        plug-in cannot silently change what saved runs load as.
        """

        def add(value: Entry) -> Entry:
            known = self._entries.get(name)
            if known is not None and known is not value and _identity(known) != _identity(value):
                raise ValueError(f"{self.kind} {name!r} is already registered to {known!r}")
            self._entries[name] = value
            return value

        return add if entry is None else add(entry)

    def __getitem__(self, name: str) -> Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise ValueError(f"unknown {self.kind} {name!r}; known: {', '.join(sorted(self._entries))}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._entries))


def _identity(entry: object) -> object:
    """What makes two registrations the same entry: a module imported twice re-registers equal ones."""
    inner = getattr(entry, "factory", entry)
    inner = getattr(inner, "func", inner)  # functools.partial
    return getattr(inner, "__qualname__", None) or id(entry)


def lazy_attributes(package: str, homes: dict[str, str]) -> Callable[[str], object]:
    """A package's ``__getattr__`` (PEP 562) that imports each name from its home module on first use.

    For packages whose modules are costly to import (PyAV, SciPy) or that sit
    below their siblings in the import order: importing the package itself
    then imports none of them.
    """

    def attribute(name: str) -> object:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home), name)
        sys.modules[package].__dict__[name] = value
        return value

    return attribute
