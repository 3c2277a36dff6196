"""Stride arithmetic for 1-D conv stacks: exact lengths down and back up.

Shared by the waveform and mel encoders, which is why it lives on its own.
"""

from __future__ import annotations

from collections.abc import Sequence


def stride_geometry(stride: int) -> tuple[int, int]:
    """Kernel and padding for which a stride-``s`` conv maps ``s·L`` samples to exactly ``L``
    and the transposed conv maps ``L`` back to exactly ``s·L``; the kernel spans two strides
    (one less when odd, to keep the padding symmetric) so neighbouring windows overlap."""
    if stride < 1:
        raise ValueError(f"strides must be positive, got {stride}")
    kernel = 2 * stride - stride % 2
    return kernel, (kernel - stride) // 2


def downsampled_length(length: int, strides: Sequence[int]) -> int:
    """The encoder's output length for ``length`` samples: ``ceil`` at every level."""
    for stride in strides:
        length = -(-length // stride)
    return length


def split_stride(total: int, max_stride: int = 8) -> tuple[int, ...]:
    """Factor an overall upsampling ratio into per-level strides no larger than
    ``max_stride`` where possible (a prime factor above it stays whole), largest first."""
    if total < 1:
        raise ValueError(f"a stride product must be positive, got {total}")
    strides: list[int] = []
    while total > 1:
        stride = next((d for d in range(max_stride, 1, -1) if total % d == 0), total)
        strides.append(stride)
        total //= stride
    return tuple(strides) or (1,)
