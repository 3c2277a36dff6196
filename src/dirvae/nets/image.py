"""Convolutional image encoder and decoder after the seed's ResNetVAE.

Each encoder level is a "downsampler": a stride-2 convolution whose output is
concatenated with a mean-pooled copy of its input and mixed back by a 1×1
convolution.  The pooled path is a cheap skip connection: every level sees a
low-pass version of what came in, so information is never forced through the
strided convolution alone.  The decoder mirrors it with transposed
convolutions and nearest-neighbour upsampling skips.

Sizes follow a ``ceil(s / 2)`` chain, so any image size works.  The decoder is
built for one image size and asks every transposed convolution for the exact
size of the matching encoder level, which is how it returns the input's shape
without resizing the data (the seed resized the data to its decoder's output,
which we must not copy).

GroupNorm rather than BatchNorm everywhere: statistics are per sample, so
batch 1 and tiny batches train and evaluate the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
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


def _pair(size: int | Sequence[int]) -> Size2d:
    if isinstance(size, int):
        return (size, size)
    height, width = (int(s) for s in size)
    return (height, width)


def halve(size: Size2d) -> Size2d:
    """The size after one stride-2 level: ``ceil`` so odd sizes lose no row or column."""
    return ((size[0] + 1) // 2, (size[1] + 1) // 2)


def level_sizes(image_size: int | Sequence[int], levels: int) -> list[Size2d]:
    """Spatial size at every level, the input's first: the chain the decoder must retrace."""
    sizes = [_pair(image_size)]
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


class Downsampler(nn.Module):
    """One encoder level: strided conv ‖ mean-pooled input → 1×1 mix, halving the size."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=2, padding=1)
        self.conv_norm = group_norm(out_channels)
        self.mix = nn.Conv2d(out_channels + in_channels, out_channels, kernel_size=1)
        self.mix_norm = group_norm(out_channels)
        self.activation = nn.SiLU()

    def forward(self, x: Tensor) -> Tensor:
        strided = self.activation(self.conv_norm(self.conv(x)))
        mixed = self.mix(torch.cat([strided, mean_pool(x)], dim=1))
        return self.activation(self.mix_norm(mixed))


class Upsampler(nn.Module):
    """One decoder level: transposed conv ‖ upsampled input → 1×1 mix, doubling the size.

    The final level returns the mix raw (logits or values for the loss) and
    keeps its transposed convolution as wide as its input, so the last few
    output channels are not squeezed through a 3-channel bottleneck before the
    mix.
    """

    def __init__(self, in_channels: int, out_channels: int, *, final: bool = False) -> None:
        super().__init__()
        hidden = in_channels if final else out_channels
        self.final = final
        self.conv = nn.ConvTranspose2d(in_channels, hidden, kernel_size=3, stride=2, padding=1)
        self.conv_norm = group_norm(hidden)
        self.mix = nn.Conv2d(hidden + in_channels, out_channels, kernel_size=1)
        self.mix_norm = None if final else group_norm(out_channels)
        self.activation = nn.SiLU()

    def forward(self, x: Tensor, size: Size2d) -> Tensor:
        # output_size picks the output padding that lands on 2s-1 or 2s, whichever the encoder had.
        transposed = self.activation(self.conv_norm(self.conv(x, output_size=list(size))))
        mixed = self.mix(torch.cat([transposed, nearest_upsample(x, size)], dim=1))
        if self.mix_norm is None:
            return mixed
        return self.activation(self.mix_norm(mixed))


class ResNetEncoder(nn.Module):
    """Images ``[B, C, H, W]`` → a feature map ``[B, out_channels, H', W']``.

    There are ``len(channels) + 1`` downsamplers (``in → channels… → out``),
    each halving the size with ``ceil``; :meth:`output_size` gives ``(H', W')``.
    The defaults are the seed's five levels, 3→8→16→32→64→64.
    """

    def __init__(
        self,
        in_channels: int = 3,
        channels: Sequence[int] = (8, 16, 32, 64),
        out_channels: int = 64,
    ) -> None:
        super().__init__()
        widths = [int(in_channels), *(int(c) for c in channels), int(out_channels)]
        self.in_channels = widths[0]
        self.out_channels = widths[-1]
        self.levels = len(widths) - 1
        self.blocks = nn.Sequential(*(Downsampler(a, b) for a, b in zip(widths[:-1], widths[1:])))

    def output_size(self, image_size: int | Sequence[int]) -> Size2d:
        """The spatial size of the latent field for images of ``image_size``."""
        return level_sizes(image_size, self.levels)[-1]

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected images [B, {self.in_channels}, H, W], got {tuple(x.shape)}")
        return self.blocks(x)


class ResNetDecoder(nn.Module):
    """A feature map ``[B, in_channels, H', W']`` → raw images ``[B, out_channels, H, W]``.

    Built for one ``image_size`` (keyword-only and required, because the
    output size cannot be recovered from the latent: 7 and 8 both halve to 4).
    It retraces the encoder's size chain, so its input must be
    ``ResNetEncoder.output_size(image_size)`` with as many levels
    (``len(channels) + 1``); the output is raw (logits or unbounded values)
    and the reconstruction loss maps it to data space.
    """

    def __init__(
        self,
        in_channels: int = 64,
        channels: Sequence[int] = (64, 32, 16, 8),
        out_channels: int = 3,
        *,
        image_size: int | Sequence[int],
    ) -> None:
        super().__init__()
        widths = [int(in_channels), *(int(c) for c in channels), int(out_channels)]
        self.in_channels = widths[0]
        self.out_channels = widths[-1]
        self.image_size = _pair(image_size)
        self.levels = len(widths) - 1
        # Decoder level i produces the encoder's level (levels - 1 - i) size.
        self.sizes = level_sizes(self.image_size, self.levels)[::-1]
        self.latent_size = self.sizes[0]
        last = self.levels - 1
        self.blocks = nn.ModuleList(
            Upsampler(a, b, final=(i == last)) for i, (a, b) in enumerate(zip(widths[:-1], widths[1:]))
        )

    def forward(self, h: Tensor) -> Tensor:
        if h.dim() != 4 or h.shape[1] != self.in_channels or tuple(h.shape[-2:]) != self.latent_size:
            raise ValueError(
                f"expected a latent map [B, {self.in_channels}, {self.latent_size[0]}, {self.latent_size[1]}] "
                f"for {self.image_size[0]}×{self.image_size[1]} images, got {tuple(h.shape)}"
            )
        for block, size in zip(self.blocks, self.sizes[1:]):
            h = block(h, size)
        return h


def resnet_autoencoder(
    image_size: int | Sequence[int],
    in_channels: int = 3,
    model_size: int = 64,
    depth: int = 5,
    width: int = 8,
) -> tuple[ResNetEncoder, ResNetDecoder]:
    """A mirrored encoder/decoder pair with ``depth`` levels, widths ``width·2^i``.

    The encoder ends in ``model_size`` channels and the decoder starts from
    ``model_size``, as in the seed (whose last downsampler went straight to K):
    pass the same ``model_size`` to ``DirichletVAE`` and both heads start as
    identities.  A ``depth``-level pair maps ``H×W`` images to a
    ``ceil(H/2^depth)×ceil(W/2^depth)`` field of simplices.
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1, got {depth}")
    channels = tuple(int(width) * 2**i for i in range(depth - 1))
    encoder = ResNetEncoder(in_channels, channels, out_channels=model_size)
    decoder = ResNetDecoder(model_size, channels[::-1], in_channels, image_size=image_size)
    return encoder, decoder
