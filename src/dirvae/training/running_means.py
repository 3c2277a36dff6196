"""Means of a fixed set of scalars over a span of steps, kept on the device.

Lightning's ``self.log(on_step=True)`` logs one batch's value at each logging
step (a noisy curve) and costs tens of microseconds of bookkeeping per call
and step.  Summing one stacked tensor per step costs one addition, and the
device is only read (``tolist``) when a point is written.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor


SCALAR_EVERY = 10
"""Default steps per point of the training curves (running means); the first point is step 1."""


class RunningMeans:
    """Adds one value per name each step; :meth:`take` returns the means and starts again."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = tuple(names)
        self.sum: Tensor | None = None
        self.count = 0

    def add(self, values: Tensor) -> None:
        """``values``: a 1-d tensor, one entry per name, in order."""
        values = values.detach()
        self.sum = values.clone() if self.sum is None else self.sum.add_(values)
        self.count += 1

    def peek(self) -> dict[str, float]:
        """The current means (empty before the first :meth:`add`)."""
        if self.sum is None or not self.count:
            return {}
        return dict(zip(self.names, (self.sum.float() / self.count).tolist()))

    def take(self) -> dict[str, float]:
        means = self.peek()
        self.sum, self.count = None, 0
        return means
