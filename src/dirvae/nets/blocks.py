"""Size arithmetic and small parts the convolutional image nets share.

Sizes follow a ``ceil(s / 2)`` chain, so any image size works; a decoder
asks for the exact size of each encoder level instead of resizing the data.
GroupNorm rather than BatchNorm: statistics are per sample, so batch 1 and
tiny batches train and evaluate the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch.nn.functional as F
from torch import Tensor, nn

Size2d = tuple[int, int]


def group_norm(channels: int, max_groups: int = 8, min_group_size: int = 4) -> nn.GroupNorm:
    """GroupNorm with as many groups as fit, but never fewer than ``min_group_size`` channels a group.

    Groups of one channel would be InstanceNorm, which zeroes a 1×1 feature
    map (small images reach 1×1 at the bottom of the encoder); a few channels
    per group keeps the statistics meaningful at every size.
    """
    groups = max_groups
    while groups > 1 and (channels % groups or channels // groups < min_group_size):
        groups -= 1
    return nn.GroupNorm(groups, channels)


def as_pair(size: int | Sequence[int]) -> Size2d:
    if isinstance(size, int):
        return (size, size)
    height, width = (int(s) for s in size)
    return (height, width)


def halve(size: Size2d) -> Size2d:
    """The size after one stride-2 level: ``ceil`` so odd sizes lose no row or column."""
    return ((size[0] + 1) // 2, (size[1] + 1) // 2)


def level_sizes(image_size: int | Sequence[int], levels: int) -> list[Size2d]:
    """Spatial size at every level, the input's first: the chain the decoder must retrace."""
    sizes = [as_pair(image_size)]
    if min(sizes[0]) < 1:
        raise ValueError(f"image size must be positive, got {sizes[0]}")
    for _ in range(levels):
        sizes.append(halve(sizes[-1]))
    return sizes


def mean_pool(x: Tensor) -> Tensor:
    """2×2 average pooling to ``ceil(s / 2)``: an odd edge is replicated first, so the
    pooled copy has exactly the strided convolution's size and border pixels are not
    averaged with zeros."""
    pad_h, pad_w = x.shape[-2] % 2, x.shape[-1] % 2
    if pad_h or pad_w:
        x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
    return F.avg_pool2d(x, 2)


def nearest_upsample(x: Tensor, size: Size2d) -> Tensor:
    """Repeat every pixel 2×2 and crop to ``size``: the mirror of :func:`mean_pool`."""
    return F.interpolate(x, scale_factor=2.0, mode="nearest")[..., : size[0], : size[1]]


UPSAMPLE_MODES = ("nearest", "bilinear")


def upsample(x: Tensor, size: Size2d, mode: str = "nearest") -> Tensor:
    """×2 and crop to ``size``, by repeating pixels or by bilinear interpolation.

    Why bilinear: after nearest ×2 three times, each latent position paints
    an 8×8 block, and a small change between neighbouring simplices shows as
    a faint grid in flat areas (skies) unless the convolutions learn to
    blend it away; bilinear blends neighbours before any conv sees them.
    """
    if mode == "nearest":
        return nearest_upsample(x, size)
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)[..., : size[0], : size[1]]
