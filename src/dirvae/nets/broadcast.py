"""The seed's ``@broadcast`` macro, rebuilt on ``torch.func.vmap``.

The seed wrote ``@broadcast f(x, y) x[i, :, j] y[i, :] (i, j, 2, 1)``: map
``f`` over the named axes ``i`` and ``j`` of several arrays, giving ``f`` the
slices ``x[i, :, j]`` and ``y[i, :]``, and lay the result out as
``(i, j, f's axis 2, f's axis 1)``.  Here the same call is::

    broadcast(f, (x, "i : j"), (y, "i :"), out="i j 1 0")

Axis specs name a mapped axis with an identifier and keep an axis whole with
``:``; in ``out`` a name is a mapped axis and an integer is an axis of ``f``'s
output (0-based, Python style).  ``vmap`` makes it run on any device with
autograd, with no Python loop over elements.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import Tensor


def _parse_spec(spec: str, tensor: Tensor) -> list[str | None]:
    tokens = spec.replace(",", " ").split()
    if len(tokens) != tensor.dim():
        raise ValueError(f"axis spec {spec!r} names {len(tokens)} axes but the tensor has {tensor.dim()}")
    axes: list[str | None] = []
    for token in tokens:
        if token == ":":
            axes.append(None)
        elif token.isidentifier():
            axes.append(token)
        else:
            raise ValueError(f"axis spec {spec!r}: {token!r} is neither ':' nor a name")
    if len({a for a in axes if a}) != sum(a is not None for a in axes):
        raise ValueError(f"axis spec {spec!r} repeats a name")
    return axes


def broadcast(fn: Callable[..., Tensor], *arguments: tuple[Tensor, str], out: str | Sequence[str | int]) -> Tensor:
    """Map ``fn`` over the named axes of its arguments and order the output axes."""
    tensors = [t for t, _ in arguments]
    specs = [_parse_spec(spec, t) for t, spec in arguments]

    names: list[str] = []
    sizes: dict[str, int] = {}
    for tensor, axes in zip(tensors, specs):
        for dim, name in enumerate(axes):
            if name is None:
                continue
            if name in sizes and sizes[name] != tensor.shape[dim]:
                raise ValueError(f"axis {name!r} has size {sizes[name]} in one argument and {tensor.shape[dim]} in another")
            if name not in sizes:
                names.append(name)
                sizes[name] = tensor.shape[dim]

    # Move every argument's mapped axes to the front, in the order of `names`.
    prepared: list[Tensor] = []
    present: list[list[str]] = []
    for tensor, axes in zip(tensors, specs):
        own = [n for n in names if n in axes]
        order = [axes.index(n) for n in own] + [d for d, a in enumerate(axes) if a is None]
        prepared.append(tensor.permute(order))
        present.append(own)

    # Wrap innermost-first so the outermost vmap strips names[0], the next names[1], ...
    mapped = fn
    for name in reversed(names):
        in_dims = tuple(0 if name in own else None for own in present)
        mapped = torch.func.vmap(mapped, in_dims=in_dims)
    result = mapped(*prepared)

    out_tokens = out.replace(",", " ").split() if isinstance(out, str) else [str(t) for t in out]
    n_fn_axes = result.dim() - len(names)
    permutation: list[int] = []
    for token in out_tokens:
        if token in sizes:
            permutation.append(names.index(token))
        elif token.lstrip("-").isdigit() and -n_fn_axes <= int(token) < n_fn_axes:
            permutation.append(len(names) + int(token) % n_fn_axes)
        else:
            raise ValueError(f"output axis {token!r} is neither a mapped axis {names} nor an axis of f's {n_fn_axes}-d output")
    if sorted(permutation) != list(range(result.dim())):
        raise ValueError(f"out={out!r} must list every mapped axis {names} and every axis of f's output exactly once")
    return result.permute(permutation)
