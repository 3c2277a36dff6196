"""Long audio through a fixed-window model: overlapping windows, cross-faded back together.

A model decodes windows of ``size`` samples independently, so two windows
laid edge to edge meet with a step between unrelated samples: a click at
every boundary.  Here a signal is cut into windows ``hop`` samples apart
(half a window by default), each window is passed through the model, and
the outputs are weighted by a periodic Hann window and overlap-added.  At
50 % overlap the Hann copies sum to one (COLA), so the result is a pure
cross-fade with no gain ripple; for any other hop the sum of the weights
is divided out, which keeps the identity map exact.  Every window's weight
falls to zero at its edges, so no join in the output is a jump.

The signal is padded with ``size - hop`` zeros in front so its first sample
already sits under every window that covers it, framed to its end, and the
output is trimmed back to the signal's length.

Clips that are different sounds (samples, interpolation steps) have nothing
to overlap; :func:`join_clips` fades each one in and out over a few
milliseconds instead, keeping every clip's length.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

WindowFunction = Callable[[Tensor], Tensor]
"""Windows ``[N, C, size]`` → outputs of the same shape (encode then decode)."""

EDGE_FADE_SECONDS = 0.005
"""Fade at each end of a back-to-back clip: short enough to be inaudible, long enough to remove the step."""


def default_hop(size: int) -> int:
    """Half a window: the overlap at which periodic Hann copies sum to exactly one."""
    return max(1, int(size) // 2)


def _check(size: int, hop: int) -> None:
    # The Hann weight is zero at a window's first sample: another window must cover it.
    if size < 2 or not 1 <= hop < size:
        raise ValueError(f"need windows that overlap (1 <= hop < size), got size={size}, hop={hop}")


def frame_count(length: int, size: int, hop: int | None = None) -> int:
    """Windows :func:`frames` cuts from ``length`` samples (the padded signal, framed to its end)."""
    hop = default_hop(size) if hop is None else int(hop)
    _check(size, hop)
    padded = int(length) + size - hop
    return max(1, math.ceil((padded - size) / hop) + 1)


def frames(signal: Tensor, size: int, hop: int | None = None) -> Tensor:
    """``[C, L]`` → overlapping windows ``[N, C, size]``, ``hop`` apart, zero-padded at both ends."""
    hop = default_hop(size) if hop is None else int(hop)
    _check(size, hop)
    count = frame_count(signal.shape[-1], size, hop)
    lead = size - hop
    total = (count - 1) * hop + size
    padded = torch.nn.functional.pad(signal, (lead, total - lead - signal.shape[-1]))
    return padded.unfold(-1, size, hop).permute(1, 0, 2).contiguous()


def synthesis_window(size: int, dtype: torch.dtype = torch.float32) -> Tensor:
    """Periodic Hann: zero at a window's first sample, and at half-window hops its copies sum to one."""
    return torch.hann_window(int(size), periodic=True, dtype=dtype)


def overlap_add(windows: Tensor, length: int, hop: int | None = None) -> Tensor:
    """Inverse of :func:`frames`: ``[N, C, size]`` cross-faded into ``[C, length]``.

    Each window is weighted by :func:`synthesis_window` and the weights that
    overlap each sample are divided out, so windows that all agree with one
    signal give that signal back exactly.
    """
    count, channels, size = windows.shape
    hop = default_hop(size) if hop is None else int(hop)
    _check(size, hop)
    if count != frame_count(length, size, hop):
        raise ValueError(f"{count} windows do not frame {length} samples at size {size}, hop {hop}")
    total = (count - 1) * hop + size
    weight = synthesis_window(size, torch.float64)
    # fold sums overlapping columns: [C·size, N] columns → [C, 1, total].
    columns = (windows.double() * weight).permute(1, 2, 0).reshape(1, channels * size, count)
    summed = torch.nn.functional.fold(columns, (1, total), (1, size), stride=(1, hop)).reshape(channels, total)
    coverage = torch.nn.functional.fold(
        weight[:, None].expand(size, count).reshape(1, size, count), (1, total), (1, size), stride=(1, hop)
    ).reshape(total)
    lead = size - hop
    out = summed[:, lead : lead + length] / coverage[lead : lead + length].clamp_min(1e-12)
    return out.to(windows.dtype)


def stitch(
    signal: Tensor, size: int, model: WindowFunction, *, hop: int | None = None, batch_size: int = 64
) -> Tensor:
    """``model`` applied to all of ``signal`` ``[C, L]`` through overlapping windows of ``size``.

    The windows go through ``model`` ``batch_size`` at a time; the result is
    ``[C, L]`` with no window-boundary clicks.
    """
    windows = frames(signal, size, hop)
    outputs = torch.cat([model(chunk) for chunk in windows.split(max(1, int(batch_size)))])
    if outputs.shape != windows.shape:
        raise ValueError(f"the model returned {tuple(outputs.shape)} for windows {tuple(windows.shape)}")
    return overlap_add(outputs.detach().float().cpu(), signal.shape[-1], hop)


def contiguous_runs(indices: Sequence[int]) -> list[list[int]]:
    """Positions of ``indices`` grouped into runs of consecutive numbers (windows that touch in the file)."""
    runs: list[list[int]] = []
    for position, index in enumerate(indices):
        if runs and indices[runs[-1][-1]] + 1 == index:
            runs[-1].append(position)
        else:
            runs.append([position])
    return runs


def edge_faded(clip: Tensor, fade: int) -> Tensor:
    """``clip`` ``[..., T]`` with raised-cosine fades of ``fade`` samples in and out."""
    fade = min(int(fade), clip.shape[-1] // 2)
    if fade < 1:
        return clip
    ramp = 0.5 - 0.5 * torch.cos(torch.pi * (torch.arange(fade, dtype=torch.float64) + 0.5) / fade)
    envelope = torch.ones(clip.shape[-1], dtype=torch.float64)
    envelope[:fade] = ramp
    envelope[-fade:] = ramp.flip(0)
    return (clip.double() * envelope).to(clip.dtype)


def join_clips(clips: Tensor | Sequence[Tensor], sample_rate: int, fade_seconds: float = EDGE_FADE_SECONDS) -> Tensor:
    """Different clips ``[N, C, T]`` (or ``[C, T_i]``) back to back ``[C, ΣT]``, each faded in and out.

    For sounds with nothing to overlap (samples, interpolation steps):
    every join meets at silence, so none clicks, and every clip keeps its length.
    """
    fade = round(float(fade_seconds) * int(sample_rate))
    return torch.cat([edge_faded(clip.detach().float().cpu(), fade) for clip in clips], dim=-1)
