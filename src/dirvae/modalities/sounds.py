"""What modalities whose items are sound windows ``[C, T]`` in [-1, 1] share: outputs and the live view.

Different clips have nothing to overlap, so samples, interpolation steps and
traversals are faded in and out and put back to back; consecutive windows of
one file are one signal, reconstructed through half-overlapping windows and
cross-faded back (:mod:`dirvae.io.stitching`), so reconstructions have no
clicks where windows meet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator

import torch
from torch import Tensor

from dirvae.io.names import safe_stem, split_name
from dirvae.io.outputs import save_sounds
from dirvae.io.sounds import concat_audio, save_audio
from dirvae.io.stitching import contiguous_runs, join_clips, stitch
from dirvae.errors import DataError
from dirvae.modalities.spec import DataConfig

SOUND_KINDS = ("sound", "folder")


def file_groups(names: list[str]) -> list[tuple[str, list[int]]]:
    """Consecutive items of the same file, in order: [(file, [item indices])]."""
    groups: list[tuple[str, list[int]]] = []
    for index, name in enumerate(names):
        file = split_name(name)[0]
        if groups and groups[-1][0] == file:
            groups[-1][1].append(index)
        else:
            groups.append((file, [index]))
    return groups


def stitched_sounds(
    reconstruct: Callable[[Tensor], Tensor], inputs: Tensor, names: list[str], batch_size: int
) -> list[tuple[str, Tensor, Tensor]]:
    """Per input file: its windows back to back, and their overlap-add reconstruction.

    Windows that touch in the file (``a.wav#window=3`` then ``=4``) are one
    signal, reconstructed through half-overlapping windows; the input audio is
    exactly those samples.
    """
    size = inputs.shape[-1]
    sounds = []
    for file, indices in file_groups(names):
        numbers = [split_name(names[index])[2] or 0 for index in indices]
        signals, outputs = [], []
        for run in contiguous_runs(numbers):
            signal = concat_audio(inputs[[indices[position] for position in run]])
            signals.append(signal)
            outputs.append(stitch(signal, size, reconstruct, batch_size=batch_size))
        sounds.append((file, torch.cat(signals, dim=-1), torch.cat(outputs, dim=-1)))
    return sounds


class SoundOutputs:
    """The tools' outputs and the live view for sound windows (a mixin of a :class:`~dirvae.modalities.spec.Modality`).

    The data section must have a ``sample_rate``.
    """

    output_kinds: ClassVar[dict[str, tuple[str, ...]]] = {tool: SOUND_KINDS for tool in ("sample", "reconstruct", "interpolate", "traverse")}
    default_outputs: ClassVar[dict[str, str]] = {
        "sample": "samples", "reconstruct": "reconstructions", "interpolate": "interpolation.wav", "traverse": "traversal",
    }  # fmt: skip
    latent_field: ClassVar[str] = "flatten"

    def write_samples(self, samples: Tensor, out: Path, kind: str, data: DataConfig, *, fps: float) -> str:
        return save_sounds(samples, out, kind, data.sample_rate, stem="sample")

    def write_reconstructions(
        self, reconstruct: Callable[[Tensor], Tensor], inputs: Tensor, names: list[str], out: Path, kind: str, data: DataConfig,
        *, fps: float, batch_size: int,
    ) -> str:  # fmt: skip
        sounds = stitched_sounds(reconstruct, inputs, names, batch_size)
        rate = data.sample_rate
        if kind == "sound":
            parts = [part for _, signal, output in sounds for part in (signal, output)]
            save_audio(torch.cat(parts, dim=-1), out, rate)
            return f"{out} ({len(sounds)} input(s), each followed by its reconstruction)"
        out.mkdir(parents=True, exist_ok=True)
        for number, (file, signal, output) in enumerate(sounds):
            stem = f"{number:03d}_{safe_stem(file)}"
            save_audio(signal, out / f"{stem}.input.wav", rate)
            save_audio(output, out / f"{stem}.reconstruction.wav", rate)
        return f"{out}/ ({len(sounds)} × .input.wav and .reconstruction.wav)"

    def write_interpolation(
        self, steps: Tensor, ends: tuple[Tensor, Tensor], out: Path, kind: str, data: DataConfig, *, fps: float, latents: Tensor | None = None,
    ) -> str:  # fmt: skip
        return save_sounds(steps, out, kind, data.sample_rate, stem="step")

    def write_traversal(self, rows: Tensor, out: Path, kind: str, data: DataConfig, *, fps: float, latents: Tensor | None = None) -> str:
        per_component = torch.stack([join_clips(row, data.sample_rate) for row in rows])  # [K, C, steps·T]
        return save_sounds(per_component, out, kind, data.sample_rate, stem="component")

    def choose_item(self, items: Iterator[tuple[Tensor, str]]) -> tuple[Tensor, str, bool]:
        """The loudest window (highest mean square): a recording's first window is often leading silence."""
        best: tuple[float, Tensor, str] | None = None
        for tensor, name in items:
            energy = float(tensor.double().pow(2).mean())
            if best is None or energy > best[0]:
                best = (energy, tensor, name)
        if best is None:
            raise DataError("no readable window")
        return best[1], best[2], True

    def draw_view(
        self, run_dir: Path, experiment: Any, inputs: Tensor, reconstructions: Tensor, samples: Tensor, step: int,
        *, held_out: bool, data: DataConfig, state: Any = None,
    ) -> None:  # fmt: skip
        rate = data.sample_rate
        pair = join_clips([inputs[0], reconstructions[0]], rate)  # faded: no click between the two
        save_audio(pair, run_dir / "reconstructions.wav", rate)
        if experiment is None:
            return
        for index in range(min(2, inputs.shape[0])):
            experiment.add_audio(f"input/{index}", inputs[index].mean(0).clamp(-1, 1), step, rate)
            experiment.add_audio(f"reconstruction/{index}", reconstructions[index].mean(0).clamp(-1, 1), step, rate)
        experiment.add_audio("sample/0", samples[0].mean(0).clamp(-1, 1), step, rate)
