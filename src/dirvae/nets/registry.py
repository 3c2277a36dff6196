"""Architectures by the name a run's ``config.json`` records.

``config["architecture"] = {"name": ..., "options": {...}}`` names an entry
here and its keyword arguments; each entry returns ``(encoder, decoder)``.
The built-ins register in their own modules (importing :mod:`dirvae.nets`
registers them all); register your own pair factory to make runs that use
it loadable by name.
"""

from __future__ import annotations

from typing import Any, Callable

from torch import nn

from dirvae.registry import Registry

NetworkFactory = Callable[..., tuple[nn.Module, nn.Module]]

ARCHITECTURES: Registry[NetworkFactory] = Registry("architecture")


def build_networks(name: str, options: dict[str, Any]) -> tuple[nn.Module, nn.Module]:
    """``(encoder, decoder)`` from a registered architecture name and its options."""
    return ARCHITECTURES[name](**dict(options))
