"""Reconstruction terms: the decoder's likelihood, one value per sample.

Each loss maps the decoder's raw output and the target to a ``[B]`` tensor of
negative log-likelihoods (up to a constant for MSE), summed over every
non-batch axis.  Summing rather than averaging keeps the reconstruction and the
KL on the same scale, so a KL weight of 1 is the true ELBO.  ``mean`` turns the
raw output into data space (probabilities for Bernoulli logits), which is what
a user sees when they decode.

For photos, ``logistic`` (a discretised logistic over the 256 levels of an
8-bit pixel) and ``gaussian`` (a density with a learned scale) are true
likelihoods whose learned scale sets how hard the decoder works on detail
against the KL; Bernoulli treats a pixel as a coin and favours grey means on
natural images, so it is kept for binary data.  Each class names itself in
``config_name`` and its constructor options in ``config_options()``: that is
what a run's ``config.json`` records, and an option a saved run lacks takes
its default, which is what the run was trained with.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from dirvae.registry import Registry

LOSSES: Registry[type["ReconstructionLoss"]] = Registry("reconstruction loss")
"""Every loss class with a ``config_name``, registered when the class is defined."""


def _sum_per_sample(values: Tensor) -> Tensor:
    return values.reshape(values.shape[0], -1).sum(dim=1)


class ReconstructionLoss(nn.Module):
    """Base class: ``forward(output, target) -> [B]`` and ``mean(output)``.

    A subclass that sets ``config_name`` registers itself in :data:`LOSSES`,
    so a model using it can be saved and loaded by name (the defining module
    must be imported before loading).  The three ``density_*`` attributes say
    what the loss means as a likelihood, for :mod:`dirvae.evaluation`.
    """

    config_name: str | None = None
    density_normalised: bool = False
    """Whether ``forward`` is a true −log p(x|z) (up to ``density_offset_per_value``)."""
    density_offset_per_value: float = 0.0
    """Constant per data value that turns the loss into a true NLL."""
    density_note: str = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("config_name")
        if name:
            LOSSES.register(name, cls)

    def config_options(self) -> dict[str, Any]:
        """The JSON-able keyword arguments that rebuild this loss under ``config_name``."""
        return {}

    @classmethod
    def options_for(cls, item_shape: tuple[int, ...]) -> dict[str, Any]:
        """The options ``dirvae train`` gives this loss for items of ``item_shape`` (none, unless a subclass says)."""
        return {}

    def forward(self, output: Tensor, target: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def mean(self, output: Tensor) -> Tensor:
        """Data-space value of a raw decoder output (identity by default)."""
        return output


class MSELoss(ReconstructionLoss):
    """Summed squared error: a Gaussian likelihood with fixed unit-half variance."""

    config_name = "mse"
    density_normalised = True
    density_offset_per_value = 0.5 * math.log(math.pi)
    density_note = "MSE read as a Gaussian likelihood with variance 1/2 (D/2·log π added): a true but badly scaled density"

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        return _sum_per_sample((output.float() - target.float()) ** 2)


class BernoulliLoss(ReconstructionLoss):
    """Binary cross-entropy on logits; targets may be binary or in [0, 1]."""

    config_name = "bernoulli"
    density_normalised = True
    density_note = "Bernoulli likelihood (a true density on binary data)"

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        bce = F.binary_cross_entropy_with_logits(output.float(), target.float(), reduction="none")
        return _sum_per_sample(bce)

    def mean(self, output: Tensor) -> Tensor:
        return torch.sigmoid(output)


def _channel_view(parameter: Tensor, target: Tensor) -> Tensor:
    """A ``[C]`` (or scalar) per-channel parameter shaped to broadcast over ``[B, C, *rest]``."""
    if parameter.dim() == 0 or parameter.numel() == 1:
        return parameter.reshape(())
    if target.dim() < 2 or target.shape[1] != parameter.numel():
        raise ValueError(
            f"this likelihood has a scale for each of {parameter.numel()} channels, the data has shape {tuple(target.shape)}"
        )
    return parameter.view(1, -1, *([1] * (target.dim() - 2)))


SCALE_GAIN = 16.0
"""How much faster than a weight a likelihood's log-scale moves under Adam (``gain``).

Adam moves every parameter by about the learning rate a step, whatever its
gradient.  A network's output moves through thousands of weights at once, but
a log-scale is one number that must travel e-folds (from the spread of the
data to the spread of the residuals, about 0.25 → 0.05 on photos): at 1e-3 a
step that takes thousands of steps, longer than a CPU run lasts.  The
parameter therefore holds ``log_scale / gain``.  The maximum-likelihood scale
is the same, it is only reached sooner.  Runs record ``gain`` with the loss."""


PIXEL_SCALE = 16
"""Hidden width of the per-pixel scale net ``dirvae train`` gives a Gaussian likelihood on images (``pixel_scale``).

One σ per channel follows the training residuals, which on photos are smaller
than held-out ones (smooth crops weigh in), so held-out −ELBO got worse as
training went on while PSNR rose; a σ per pixel, small on smooth regions and
large on texture, keeps held-out −ELBO near what a σ re-fitted on the held-out
images gives (BENCHMARKS.md, 2026-12-07)."""


class _LearnedScale(ReconstructionLoss):
    """A learned log-scale, one for all (``channels=None``) or one per channel on dim 1.

    The parameter ``log_scale`` holds ``log σ / gain`` (see :data:`SCALE_GAIN`);
    :meth:`scale_log` gives ``log σ`` itself.

    ``pixel_scale=H`` (images; :class:`GaussianLoss` takes it) adds a per-pixel
    offset to that log-scale, predicted from the decoded image by a small
    convolutional net (3×3 conv to ``H`` channels, SiLU, 3×3 conv back to
    ``C``, the last layer zero at the start, so it starts as the per-channel
    scale): a heteroscedastic likelihood, whose σ can be small on smooth regions
    and large on texture.  The net sees the decoder's output with its gradient
    stopped, and σ depends on ``z`` only, never on the target, so the loss stays
    a density.  ``pixel_scale=0`` (the default, and what a run saved without the
    option means) is one scale per channel.
    """

    def __init__(self, initial_scale: float, channels: int | None, gain: float, pixel_scale: int = 0) -> None:
        super().__init__()
        if gain <= 0:
            raise ValueError(f"gain must be positive, got {gain}")
        if pixel_scale < 0:
            raise ValueError(f"pixel_scale is a hidden width (0 for none), got {pixel_scale}")
        if pixel_scale and channels is None:
            raise ValueError("pixel_scale needs the number of channels (channels=C)")
        self.channels = None if channels is None else int(channels)
        self.gain = float(gain)
        self.pixel_scale = int(pixel_scale)
        start = math.log(initial_scale) / self.gain
        self.log_scale = nn.Parameter(torch.tensor(start) if self.channels is None else torch.full((self.channels,), start))
        self.scale_net: nn.Module | None = None
        if self.pixel_scale:
            assert self.channels is not None
            last = nn.Conv2d(self.pixel_scale, self.channels, kernel_size=3, padding=1)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)
            self.scale_net = nn.Sequential(nn.Conv2d(self.channels, self.pixel_scale, kernel_size=3, padding=1), nn.SiLU(), last)

    def scale_log(self) -> Tensor:
        """``log σ``: a scalar, or ``[C]`` per channel (before any per-pixel offset)."""
        return self.log_scale.float() * self.gain

    def log_scale_for(self, output: Tensor, target: Tensor) -> Tensor:
        """``log σ`` shaped to broadcast against ``target``: per channel, plus the per-pixel offset if any."""
        log_scale = _channel_view(self.scale_log(), target)
        if self.scale_net is None:
            return log_scale
        if output.dim() != 4:
            raise ValueError(f"pixel_scale is for images [B, C, H, W], the decoder gave shape {tuple(output.shape)}")
        weight = self.scale_net[0].weight
        return log_scale + self.scale_net(output.detach().to(weight.dtype)).float()

    def config_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"channels": self.channels, "gain": self.gain}
        if self.pixel_scale:
            options["pixel_scale"] = self.pixel_scale
        return options

    @classmethod
    def options_for(cls, item_shape: tuple[int, ...]) -> dict[str, Any]:
        """One learned scale per channel, moved :data:`SCALE_GAIN` times faster than a weight."""
        return {"channels": item_shape[0], "gain": SCALE_GAIN}


class GaussianLoss(_LearnedScale):
    """Gaussian likelihood ``N(x; output, σ²)`` with a learned scale: a normalised density.

    The defaults (one σ, ``gain=1``, no per-pixel scale) are what ``"gaussian"``
    has always meant, so runs saved without options keep their meaning;
    ``dirvae train`` asks for one σ per channel and ``gain=SCALE_GAIN``.
    ``mean`` is the identity: the Gaussian serves any data range (audio too).

    With ``pixel_scale`` (see :class:`_LearnedScale`) the value is the NLL at
    the per-pixel σ, but the location's gradient is the one it would have under
    one scale per channel, ``(output − x)/σ_c²`` with ``σ_c²`` the batch's mean
    per-pixel ``σ²`` in that channel (the mean squared residual at the optimum,
    what a learned per-channel σ comes to), close to β-NLL with β = 1 (Seitzer
    et al. 2022).  Weighted by the per-pixel ``1/σ²`` instead, the decoder gives
    up on texture, where σ is large, and reconstructions blur (BENCHMARKS.md,
    2026-12-07: −1.5 dB held-out PSNR on photos).  The scale learns from the
    true NLL at the location it is given.
    """

    config_name = "gaussian"
    density_normalised = True
    density_note = "Gaussian likelihood with the learned scale (a true density)"

    def __init__(self, initial_scale: float = 0.1, channels: int | None = None, gain: float = 1.0, pixel_scale: int = 0) -> None:
        super().__init__(initial_scale, channels, gain, pixel_scale)

    @classmethod
    def options_for(cls, item_shape: tuple[int, ...]) -> dict[str, Any]:
        """Per channel at :data:`SCALE_GAIN`; for images ``[C, H, W]`` also a per-pixel scale (:data:`PIXEL_SCALE`)."""
        options = super().options_for(item_shape)
        if len(item_shape) == 3:
            options["pixel_scale"] = PIXEL_SCALE
        return options

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        log_scale = self.log_scale_for(output, target)
        if self.scale_net is None:
            z = (target.float() - output.float()) / log_scale.exp()
            return _sum_per_sample(0.5 * z**2 + log_scale + 0.5 * math.log(2 * math.pi))
        residual = target.float() - output.float()
        nll = 0.5 * (residual.detach() / log_scale.exp()) ** 2 + log_scale + 0.5 * math.log(2 * math.pi)
        # Zero in value; gives the location the gradient of one scale per channel, σ_c² the batch's mean σ² in
        # the channel (at the optimum the mean squared residual, what one learned σ per channel comes to).
        variance = (2 * log_scale.detach()).exp().expand_as(residual)
        channel_variance = variance.transpose(0, 1).reshape(variance.shape[1], -1).mean(dim=1)
        location = 0.5 * residual**2 / _channel_view(channel_variance, target)
        return _sum_per_sample(nll + (location - location.detach()))


def _log1mexp(d: Tensor) -> Tensor:
    """``log(1 - exp(-d))`` for ``d > 0``, accurate at both ends (Mächler 2012)."""
    return torch.where(d < math.log(2.0), torch.log(-torch.expm1(-d)), torch.log1p(-torch.exp(-d)))


class DiscretizedLogisticLoss(_LearnedScale):
    """8-bit pixels as a discretised logistic (Salimans et al. 2017, PixelCNN++), one component.

    The target in [0, 1] is rounded to one of ``bins`` levels ``k / (bins - 1)``;
    its probability is the logistic's mass over the level's bin of width
    ``1 / (bins - 1)`` around it, the two edge bins reaching to ∓∞, so the
    ``bins`` probabilities sum to exactly 1 and the NLL is a true discrete
    likelihood in nats (divide by ``D·log 2`` for bits per dimension).  The
    decoder's raw output is the logistic's location, in data units; the
    log-scale is learned, one for all or one per channel (``channels=C``).
    ``mean`` clamps the location to [0, 1] for display.

    The bin mass is ``σ(a) − σ(b) = σ(a)·σ(−b)·(1 − e^{−(a−b)})`` with ``a, b`` the
    standardised bin edges, computed in log space: exact even where the
    difference of two sigmoids would round to zero.
    """

    config_name = "logistic"
    density_normalised = True
    density_note = "discretised logistic over 256 levels (a true probability of the 8-bit data)"

    def __init__(
        self, channels: int | None = None, bins: int = 256, gain: float = SCALE_GAIN, initial_scale: float = 0.1
    ) -> None:
        super().__init__(initial_scale, channels, gain)
        if bins < 2:
            raise ValueError(f"a discretised likelihood needs at least 2 bins, got {bins}")
        self.bins = int(bins)

    def config_options(self) -> dict[str, Any]:
        return {**super().config_options(), "bins": self.bins}

    def log_prob(self, output: Tensor, target: Tensor) -> Tensor:
        """Per-value log-probabilities of the targets' bins, shaped like ``target``."""
        levels = self.bins - 1
        inv_scale = torch.exp(-self.log_scale_for(output, target))
        k = (target.float() * levels).round().clamp(0, levels)
        centred = k / levels - output.float()
        half = 0.5 / levels
        upper = (centred + half) * inv_scale  # a
        lower = (centred - half) * inv_scale  # b
        log_cdf_upper = F.logsigmoid(upper)
        log_sf_lower = F.logsigmoid(-lower)
        interior = log_cdf_upper + log_sf_lower + _log1mexp((2 * half) * inv_scale).expand_as(upper)
        return torch.where(k <= 0, log_cdf_upper, torch.where(k >= levels, log_sf_lower, interior))

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        return _sum_per_sample(-self.log_prob(output, target))

    def mean(self, output: Tensor) -> Tensor:
        return output.clamp(0.0, 1.0)


class CallableLoss(ReconstructionLoss):
    """Wraps a user's ``fn(output, target) -> [B]`` so it plugs in like a built-in."""

    def __init__(self, fn: Callable[[Tensor, Tensor], Tensor]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, output: Tensor, target: Tensor) -> Tensor:
        value = self.fn(output, target)
        if value.dim() != 1 or value.shape[0] != output.shape[0]:
            raise ValueError(
                f"a reconstruction loss must return one value per sample, shape [{output.shape[0]}], got {tuple(value.shape)}"
            )
        return value


LOSSES.register("bce", BernoulliLoss)


def make_reconstruction_loss(
    spec: str | ReconstructionLoss | Callable[[Tensor, Tensor], Tensor], **options: Any
) -> ReconstructionLoss:
    """Resolve a registered name (with its constructor ``options``), a loss module, or a plain callable into a loss module."""
    if isinstance(spec, ReconstructionLoss):
        return spec
    if isinstance(spec, str):
        return LOSSES[spec.lower()](**options)
    if callable(spec):
        return CallableLoss(spec)
    raise TypeError(f"reconstruction must be a name, a ReconstructionLoss or a callable, got {type(spec).__name__}")


def default_loss_options(name: str, item_shape: tuple[int, ...]) -> dict[str, Any]:
    """The options ``dirvae train`` gives the registered loss ``name`` for items of ``item_shape``."""
    return LOSSES[name].options_for(tuple(item_shape))
