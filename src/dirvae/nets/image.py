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

Two families live here.  ``resnet`` (:func:`resnet_autoencoder`) is the
seed's network, kept exactly so that saved runs load with their meaning.
``resblock`` (:func:`resblock_autoencoder`, the default for photos and video
since issue 10) keeps its pooled downsamplers and its field of simplices and
adds residual blocks and width, which is what lets it learn real photos on a
CPU where the seed's nets stayed below painting each image its mean colour.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from dirvae.nets.blocks import UPSAMPLE_MODES, Size2d, as_pair, group_norm, halve, level_sizes, mean_pool, nearest_upsample, upsample
from dirvae.nets.registry import register_architecture

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
        self.image_size = as_pair(image_size)
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


# --------------------------------------------------------------------------
# Residual-block networks: the default for photos.
#
# The seed's nets above are narrow (8 channels at full size) and have no
# residual path through a level, so on real photos they learn little more
# than a blurred mean colour.  The pair below keeps the seed's shape (strided
# downsamplers with a mean-pooled skip, a field of simplices at the bottom)
# and adds what makes diffusers' small autoencoder learn quickly: width,
# pre-activation residual blocks (GroupNorm → SiLU → conv, twice, plus a
# skip), a residual block at the bottom of each side, and a raw output layer.


class ResnetBlock(nn.Module):
    """``x + conv(SiLU(GN(conv(SiLU(GN(x))))))``, with a 1×1 skip when the width changes.

    The second convolution starts at zero, so every block starts as the
    identity and a deep stack trains like a shallow one from the first step.
    """

    def __init__(self, in_channels: int, out_channels: int | None = None) -> None:
        super().__init__()
        out_channels = in_channels if out_channels is None else out_channels
        self.norm1 = group_norm(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.norm2 = group_norm(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=1)
        self.skip = nn.Identity() if in_channels == out_channels else nn.Conv2d(in_channels, out_channels, kernel_size=1)
        self.activation = nn.SiLU()
        nn.init.zeros_(self.conv2.weight)
        nn.init.zeros_(self.conv2.bias)

    def forward(self, x: Tensor) -> Tensor:
        h = self.conv1(self.activation(self.norm1(x)))
        h = self.conv2(self.activation(self.norm2(h)))
        return self.skip(x) + h


class PooledDownsample(nn.Module):
    """The seed's downsampler as a residual sum: a stride-2 3×3 conv plus a 1×1 map of the
    mean-pooled input, both at ``ceil(s / 2)``.  The pooled path carries the low-pass
    image straight down, so colour never has to squeeze through the strided conv."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, stride=2, padding=1)
        self.pooled = nn.Conv2d(in_channels, out_channels, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x) + self.pooled(mean_pool(x))


class UpsampleConv(nn.Module):
    """×2 (nearest-neighbour, or bilinear: :func:`upsample`) cropped to the encoder level's exact size, then a 3×3 conv."""

    def __init__(self, in_channels: int, out_channels: int, mode: str = "nearest") -> None:
        super().__init__()
        self.mode = mode
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)

    def forward(self, x: Tensor, size: Size2d) -> Tensor:
        return self.conv(upsample(x, size, self.mode))


def _widths(widths: Sequence[int]) -> list[int]:
    widths = [int(w) for w in widths]
    if not widths or min(widths) < 1:
        raise ValueError(f"widths must be one or more positive channel counts, got {widths}")
    return widths


class ResBlockEncoder(nn.Module):
    """Images ``[B, C, H, W]`` → features ``[B, out_channels, H', W']`` with residual blocks.

    ``widths[i]`` is the width after ``i + 1`` halvings: each level is a pooled
    downsampler (the first one straight from the pixels, as in the seed)
    followed by ``blocks`` residual blocks; then one more block and
    GN → SiLU → 3×3 conv to ``out_channels``.  Nothing runs at full size but
    the first downsampler, whose input has only C channels: on a CPU the cost
    of a network is the cost of its widest high-resolution layers.
    """

    def __init__(
        self,
        in_channels: int = 3,
        widths: Sequence[int] = (16, 32, 64),
        out_channels: int = 16,
        blocks: int = 1,
    ) -> None:
        super().__init__()
        widths = _widths(widths)
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.levels = len(widths)
        layers: list[nn.Module] = []
        for a, b in zip([self.in_channels, *widths[:-1]], widths):
            layers.append(PooledDownsample(a, b))
            layers.extend(ResnetBlock(b) for _ in range(int(blocks)))
        layers.append(ResnetBlock(widths[-1]))
        self.body = nn.Sequential(*layers)
        self.head = nn.Sequential(
            group_norm(widths[-1]), nn.SiLU(), nn.Conv2d(widths[-1], self.out_channels, kernel_size=3, padding=1)
        )

    def output_size(self, image_size: int | Sequence[int]) -> Size2d:
        """The spatial size of the latent field for images of ``image_size``."""
        return level_sizes(image_size, self.levels)[-1]

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"expected images [B, {self.in_channels}, H, W], got {tuple(x.shape)}")
        return self.head(self.body(x))


class ResBlockDecoder(nn.Module):
    """Features ``[B, in_channels, H', W']`` → raw images ``[B, out_channels, H, W]``.

    The mirror of :class:`ResBlockEncoder` (pass the same ``widths``): a 3×3
    conv and a residual block at the latent size, then per level ``blocks``
    residual blocks and a nearest-neighbour upsampler to the encoder level's
    exact size; at half size GN → SiLU, a nearest-neighbour ×2 to the image
    size and a 3×3 conv to the raw output (logits or values; the likelihood's
    ``mean`` maps it to data space).  That last conv sees a 2×2 block of each
    half-size feature at a different phase for each of the four output pixels,
    so it draws full-resolution detail while costing only C output channels.
    Built for one ``image_size``, like :class:`ResNetDecoder`.
    """

    def __init__(
        self,
        in_channels: int = 16,
        widths: Sequence[int] = (16, 32, 64),
        out_channels: int = 3,
        blocks: int = 1,
        *,
        image_size: int | Sequence[int],
        upsample: str = "nearest",
    ) -> None:
        super().__init__()
        widths = _widths(widths)
        if upsample not in UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}, got {upsample!r}")
        self.upsample_mode = upsample
        self.in_channels = int(in_channels)
        self.out_channels = int(out_channels)
        self.image_size = as_pair(image_size)
        self.levels = len(widths)
        # sizes[0] is the latent field's, sizes[-1] the image's.
        self.sizes = level_sizes(self.image_size, self.levels)[::-1]
        self.latent_size = self.sizes[0]
        reversed_widths = widths[::-1]
        self.stem = nn.Sequential(
            nn.Conv2d(self.in_channels, reversed_widths[0], kernel_size=3, padding=1), ResnetBlock(reversed_widths[0])
        )
        self.levels_blocks = nn.ModuleList(
            nn.Sequential(*(ResnetBlock(a) for _ in range(int(blocks)))) for a in reversed_widths
        )
        self.upsamplers = nn.ModuleList(
            UpsampleConv(a, b, upsample) for a, b in zip(reversed_widths[:-1], reversed_widths[1:])
        )
        self.head_norm = group_norm(widths[0])
        self.head = nn.Conv2d(widths[0], self.out_channels, kernel_size=3, padding=1)
        self.activation = nn.SiLU()

    def forward(self, h: Tensor) -> Tensor:
        if h.dim() != 4 or h.shape[1] != self.in_channels or tuple(h.shape[-2:]) != self.latent_size:
            raise ValueError(
                f"expected a latent map [B, {self.in_channels}, {self.latent_size[0]}, {self.latent_size[1]}] "
                f"for {self.image_size[0]}×{self.image_size[1]} images, got {tuple(h.shape)}"
            )
        h = self.stem(h)
        for level, blocks in enumerate(self.levels_blocks):
            h = blocks(h)
            if level < len(self.upsamplers):
                h = self.upsamplers[level](h, self.sizes[level + 1])
        h = upsample(self.activation(self.head_norm(h)), self.image_size, self.upsample_mode)
        return self.head(h)


def resblock_autoencoder(
    image_size: int | Sequence[int],
    in_channels: int = 3,
    model_size: int = 16,
    widths: Sequence[int] = (16, 32, 64),
    blocks: int = 1,
    upsample: str = "nearest",
) -> tuple[ResBlockEncoder, ResBlockDecoder]:
    """A mirrored residual-block pair: ``len(widths)`` halvings, ``model_size`` features at the bottom.

    With three widths a 64×64 image becomes an 8×8 field of simplices.  The
    defaults (widths 16-32-64, one block a level, K = 16) won
    benchmarks/photos.py at a fixed CPU budget against wider nets, two blocks
    a level, 4×4 and 16×16 fields, and K = 8 or 32.
    """
    encoder = ResBlockEncoder(in_channels, widths, out_channels=model_size, blocks=blocks)
    decoder = ResBlockDecoder(model_size, widths, in_channels, blocks=blocks, image_size=image_size, upsample=upsample)
    return encoder, decoder


RESBLOCK_OPTIONS = {"widths": [16, 32, 64], "blocks": 1}
"""What ``dirvae train`` builds, measured by benchmarks/photos.py."""

register_architecture(
    "resnet", resnet_autoencoder, model_size=64,
    options=lambda shape, k, data: {"image_size": list(shape[1:]), "in_channels": shape[0], "model_size": k},
)
register_architecture(
    "resblock", resblock_autoencoder, model_size=16,
    options=lambda shape, k, data: {"image_size": list(shape[1:]), "in_channels": shape[0], "model_size": k, **RESBLOCK_OPTIONS},
)
