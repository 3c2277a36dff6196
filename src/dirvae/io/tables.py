"""Latent tables for ``dirvae encode``: CSV or a structured NPY (no pickle)."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

from dirvae.io.atomic import atomic_write
from dirvae.errors import DirvaeError
from dirvae.io.names import split_name


class LatentTable:
    """Rows of posterior means and concentrations for ``dirvae encode``.

    ``field="average"`` gives one K-vector per row: the posterior means
    averaged over the latent's positions (still a point on the simplex, as
    an average of points on it) and the α averaged likewise.
    ``field="flatten"`` keeps every position: columns ``z_k@i`` for a 1-D
    field (audio: time step i) and ``z_k@i_j`` for a 2-D one (row i, column
    j), component-major.  A latent with a single position gives plain
    ``z_k`` either way.  Gaussian runs have ``std_k`` where Dirichlet runs
    have ``alpha_k``.

    ``index`` names an extra integer column (``window`` for audio, ``frame``
    for video) split off item names such as ``a.wav#window=3``.
    """

    def __init__(
        self,
        model_size: int,
        latent_shape: Sequence[int] = (),
        field: str = "average",
        kind: str = "dirichlet",
        index: str | None = None,
    ) -> None:
        if field not in ("average", "flatten"):
            raise ValueError(f"field must be 'average' or 'flatten', not {field!r}")
        self.k = int(model_size)
        self.rest = tuple(int(s) for s in latent_shape)
        self.positions = math.prod(self.rest) if self.rest else 1
        self.field = field
        self.second = "std" if kind == "gaussian" else "alpha"
        self.index = index
        self.keeps_positions = field == "flatten" and self.positions > 1
        self.value_shape: tuple[int, ...] = (self.k, *self.rest) if self.keeps_positions else (self.k,)

    def value_names(self, prefix: str) -> list[str]:
        if not self.keeps_positions:
            return [f"{prefix}_{k}" for k in range(self.k)]
        places = ["_".join(map(str, where)) for where in np.ndindex(*self.rest)]
        return [f"{prefix}_{k}@{place}" for k in range(self.k) for place in places]

    @property
    def header(self) -> list[str]:
        index = [self.index] if self.index else []
        return ["file", *index, *self.value_names("z"), *self.value_names(self.second)]

    def values(self, posterior) -> tuple[np.ndarray, np.ndarray]:
        """``[B, D]`` means and ``[B, D]`` α (or σ) from a posterior, D = len(value_names)."""
        mean = posterior.mean.detach().float()
        second = getattr(posterior, "concentration", None)
        if second is None:
            second = posterior.std
        second = second.detach().float()
        batch = mean.shape[0]
        if self.keeps_positions:
            return mean.reshape(batch, -1).cpu().numpy(), second.reshape(batch, -1).cpu().numpy()
        mean = mean.reshape(batch, self.k, -1).mean(dim=2)
        second = second.reshape(batch, self.k, -1).mean(dim=2)
        return mean.cpu().numpy(), second.cpu().numpy()

    def rows(self, names: Sequence[str], posterior) -> list[tuple[str, int | None, np.ndarray, np.ndarray]]:
        means, seconds = self.values(posterior)
        rows = []
        for name, mean, second in zip(names, means, seconds):
            file, key, number = split_name(name) if self.index else (name, None, None)
            if self.index and key != self.index:
                file, number = name, -1
            rows.append((file, number, mean, second))
        return rows

    # ------------------------------------------------------------- writers
    def write(self, path: str | Path, batches: Iterable[tuple[Sequence[str], object]]) -> int:
        """Write ``(names, posterior)`` batches as CSV or NPY (by extension); returns the row count."""
        path = Path(path)
        if path.suffix.lower() == ".csv":
            return self._write_csv(path, batches)
        if path.suffix.lower() == ".npy":
            return self._write_npy(path, batches)
        raise DirvaeError(f"--out {path}: latents are written as .csv or .npy")

    def _write_csv(self, path: Path, batches) -> int:
        count = 0

        def write(tmp: str) -> None:
            nonlocal count
            with open(tmp, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle)
                writer.writerow(self.header)
                for names, posterior in batches:
                    for file, number, mean, second in self.rows(names, posterior):
                        index = [number] if self.index else []
                        writer.writerow([file, *index, *(f"{v:.7g}" for v in mean), *(f"{v:.7g}" for v in second)])
                        count += 1

        atomic_write(path, write)
        return count

    def dtype(self, name_length: int) -> np.dtype:
        fields: list[tuple] = [("file", f"U{max(1, name_length)}")]
        if self.index:
            fields.append((self.index, "i8"))
        fields += [("z", "f4", self.value_shape), (self.second, "f4", self.value_shape)]
        return np.dtype(fields)

    def _write_npy(self, path: Path, batches) -> int:
        rows = [row for names, posterior in batches for row in self.rows(names, posterior)]
        table = np.zeros(len(rows), dtype=self.dtype(max((len(r[0]) for r in rows), default=1)))
        for i, (file, number, mean, second) in enumerate(rows):
            table["file"][i] = file
            if self.index:
                table[self.index][i] = number
            table["z"][i] = mean.reshape(self.value_shape)
            table[self.second][i] = second.reshape(self.value_shape)

        def write(tmp: str) -> None:
            # A file object, not a name: np.save would append ".npy" to the temporary name.
            with open(tmp, "wb") as handle:
                np.save(handle, table, allow_pickle=False)

        atomic_write(path, write)
        return len(rows)
