"""``DirichletVAE``: any encoder and decoder around a Dirichlet (or Gaussian) latent.

The seed's ``AutoEncoder``: ``features = encoder(x)``; pointwise heads on dim 1
turn features into a posterior at every latent position; a reparameterised
draw goes through a ``decode`` head into the user's decoder.  This module is
plain PyTorch (no Lightning), so it works in anyone's training loop.

Why there is no ``beta`` head: the seed's per-sample rate divides every Gamma
draw equally and cancels in the normalisation, so it never changed the
latent.  A per-component rate would change the distribution into a scaled
Dirichlet with no closed-form KL, so the rate is fixed at 1.
"""

from __future__ import annotations

import math
from typing import Callable, Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.distributions import Dirichlet, Distribution, Independent, Normal

from dirvae.latent.dirichlet import ALPHA_FLOOR, KLKind, Sampler
from dirvae.latent.moments import OnlineAlphaEstimator
from dirvae.latent.posterior import DirichletPosterior, GaussianPosterior
from dirvae.latent.recipe import PRIOR_ALPHA, AlphaTransform, DecoderInput, resolve_recipe
from dirvae.losses import ReconstructionLoss, make_reconstruction_loss
from dirvae.model.config import DirichletVAEConfig
from dirvae.model.generation import GenerationMixin
from dirvae.model.heads import PointwiseLinear
from dirvae.model.outputs import LossTerms, Posterior, VAEOutput
from dirvae.model.saving import SavingMixin
from dirvae.nets.registry import build_networks

LatentKind = Literal["dirichlet", "gaussian"]

LOG_ALPHA_RANGE = (-11.5, 6.9)
"""Explicit clamp of log α for ``alpha_transform="exp"``: α from about 1e-5 (the floor) to about 1e3."""

LOG_INPUT_FLOOR = -10.0
"""``decoder_input="log"`` feeds ``max(log(K·z), -10)``: components below e^-10/K all look alike to the decoder."""


class DirichletVAE(SavingMixin, GenerationMixin, nn.Module):
    """A VAE with a K-simplex at every latent position.

    Two ways to build one: ``DirichletVAE(encoder, decoder, model_size,
    **options)``, or ``DirichletVAE(config)`` with a
    :class:`~dirvae.model.config.DirichletVAEConfig` (networks from its
    registered ``architecture``, or ``encoder=``/``decoder=`` of your own).
    ``model.config`` is the resolved config either way, and
    :meth:`save_pretrained` / :meth:`from_pretrained` round-trip it.

    Args:
        config: a :class:`DirichletVAEConfig` (or, in the keyword form, the encoder).
        encoder: maps data ``[B, ...]`` to features ``[B, F, *rest]``.
        decoder: maps ``[B, F', *rest]`` to a raw output shaped like the data.
        model_size: K, the number of simplex components (latent dimension).
        feature_size: F; defaults to ``encoder.out_channels`` or K.
        decoder_size: F'; defaults to ``decoder.in_channels`` or K.
        recipe: a named latent recipe from :data:`dirvae.latent.recipe.RECIPES`
            (``"default"``, the measured best, or ``"paper"``, Joo et al.'s);
            the five options below override single fields of it.
        sampler: ``"igca"`` (the paper's approximation) or ``"implicit"`` (exact).
        kl_kind: ``"gamma"`` (the paper's multi-Gamma KL) or ``"dirichlet"`` (exact).
        alpha_transform: ``"softplus"``, ``"exp"`` (clamped) or
            ``"mean-concentration"`` (softmax position × exp concentration).
        decoder_input: ``"simplex"`` (z), ``"scaled"`` (K·z) or ``"log"`` (log K·z).
        learn_prior: train the prior's α by gradient (empirical Bayes).
        latent: ``"dirichlet"``, or ``"gaussian"`` for a baseline on identical nets.
        prior_alpha: the Dirichlet prior's concentration, a scalar or K values.
        reconstruction: ``"mse"``, ``"bernoulli"``, ``"gaussian"``, ``"stft"``, a
            :class:`ReconstructionLoss`, or a callable ``(output, target) -> [B]``.
        alpha_floor: the explicit floor on α.
        prior_burn_in: steps after which :meth:`update_prior` starts replacing
            the prior by a method-of-moments estimate (None keeps it fixed).
        latent_shape: the positions ``rest`` of the latent field, needed by
            :meth:`sample`; inferred from the first forward pass when omitted.
    """

    prior_alpha: Tensor
    prior_steps: Tensor

    def __init__(
        self,
        config: DirichletVAEConfig | nn.Module | None = None,
        decoder: nn.Module | None = None,
        model_size: int | None = None,
        *,
        encoder: nn.Module | None = None,
        feature_size: int | None = None,
        decoder_size: int | None = None,
        recipe: str = "default",
        sampler: Sampler | None = None,
        kl_kind: KLKind | None = None,
        alpha_transform: AlphaTransform | None = None,
        decoder_input: DecoderInput | None = None,
        learn_prior: bool | None = None,
        latent: LatentKind = "dirichlet",
        prior_alpha: float | Tensor = PRIOR_ALPHA,
        reconstruction: str | ReconstructionLoss | Callable[[Tensor, Tensor], Tensor] = "mse",
        alpha_floor: float = ALPHA_FLOOR,
        prior_burn_in: int | None = None,
        latent_shape: tuple[int, ...] | None = None,
        decode_head: bool = True,
    ) -> None:
        super().__init__()
        if isinstance(config, nn.Module):  # the keyword form: DirichletVAE(encoder, decoder, K, ...)
            if encoder is not None:
                raise TypeError("encoder given twice")
            config, encoder = None, config
        options = {
            "feature_size": feature_size,
            "decoder_size": decoder_size,
            "recipe": recipe,
            "sampler": sampler,
            "kl_kind": kl_kind,
            "alpha_transform": alpha_transform,
            "decoder_input": decoder_input,
            "learn_prior": learn_prior,
            "latent": latent,
            "alpha_floor": alpha_floor,
            "prior_burn_in": prior_burn_in,
            "latent_shape": latent_shape,
            "decode_head": decode_head,
        }
        loss_object = None if isinstance(reconstruction, str) else reconstruction
        if config is None:
            if model_size is None:
                raise TypeError("DirichletVAE needs model_size (K), or a DirichletVAEConfig")
            initial_prior = prior_alpha.tolist() if isinstance(prior_alpha, Tensor) else prior_alpha
            config = DirichletVAEConfig(
                model_size=int(model_size),
                prior_alpha=initial_prior,
                reconstruction=reconstruction if isinstance(reconstruction, str) else None,
                **options,
            )
        else:
            defaults = DirichletVAEConfig(model_size=config.model_size)
            given = [name for name, value in options.items() if value != getattr(defaults, name)]
            given += ["model_size"] if model_size is not None else []
            given += ["prior_alpha"] if not (isinstance(prior_alpha, float) and prior_alpha == PRIOR_ALPHA) else []
            given += ["reconstruction"] if isinstance(reconstruction, str) and reconstruction != "mse" else []
            if given:
                raise TypeError(f"pass {', '.join(given)} in the DirichletVAEConfig, not beside it")
        if (encoder is None) != (decoder is None):
            raise TypeError("pass both encoder and decoder, or neither (to build the config's architecture)")
        if encoder is None:
            if config.architecture is None:
                raise ValueError("the config names no architecture: pass encoder= and decoder=")
            encoder, decoder = build_networks(config.architecture, config.architecture_options)
        self._architecture = (config.architecture, dict(config.architecture_options))
        self._initial_prior = config.prior_alpha
        self._recipe_name = config.recipe
        if loss_object is None:
            if config.reconstruction is None:
                raise ValueError("the config names no reconstruction loss")
            loss_object = make_reconstruction_loss(config.reconstruction, **config.reconstruction_options)
        self._build(encoder, decoder, config, loss_object)

    def _build(self, encoder: nn.Module, decoder: nn.Module, config: DirichletVAEConfig, reconstruction) -> None:
        model_size, feature_size, decoder_size = config.model_size, config.feature_size, config.decoder_size
        recipe, sampler, kl_kind = config.recipe, config.sampler, config.kl_kind
        alpha_transform, decoder_input, learn_prior = config.alpha_transform, config.decoder_input, config.learn_prior
        latent, alpha_floor, prior_burn_in = config.latent, config.alpha_floor, config.prior_burn_in
        latent_shape = config.latent_shape
        if latent not in ("dirichlet", "gaussian"):
            raise ValueError(f"latent must be 'dirichlet' or 'gaussian', got {latent!r}")
        chosen = resolve_recipe(
            recipe,
            sampler=sampler,
            kl_kind=kl_kind,
            alpha_transform=alpha_transform,
            decoder_input=decoder_input,
            learn_prior=learn_prior,
        )
        if chosen["learn_prior"] and prior_burn_in is not None:
            raise ValueError("choose one way to adapt the prior: learn_prior=True or prior_burn_in (method of moments)")
        self.encoder = encoder
        self.decoder = decoder
        self.model_size = int(model_size)
        self.feature_size = int(feature_size or getattr(encoder, "out_channels", None) or model_size)
        self.decoder_size = int(decoder_size or getattr(decoder, "in_channels", None) or model_size)
        self.sampler: Sampler = chosen["sampler"]
        self.kl_kind: KLKind = chosen["kl_kind"]
        self.alpha_transform: AlphaTransform = chosen["alpha_transform"]
        self.decoder_input: DecoderInput = chosen["decoder_input"]
        self.learn_prior: bool = chosen["learn_prior"]
        self.latent_kind = latent
        self.alpha_floor = float(alpha_floor)
        self.prior_burn_in = prior_burn_in
        self.latent_shape = tuple(latent_shape) if latent_shape is not None else None

        k, f = self.model_size, self.feature_size
        if latent == "dirichlet":
            # For mean-concentration this head gives the position (a softmax);
            # otherwise it gives α through the transform.
            self.alpha_head = PointwiseLinear(f, k, identity_init=(f == k))
            if self.alpha_transform == "mean-concentration":
                self.concentration_head = PointwiseLinear(f, 1)
                with torch.no_grad():  # start at Σα = K, i.e. α ≈ 1 per component
                    self.concentration_head.weight.zero_()
                    self.concentration_head.bias.fill_(math.log(k))
        else:
            self.mean_head = PointwiseLinear(f, k)
            self.log_variance_head = PointwiseLinear(f, k)
        if config.decode_head:
            self.decode_head: nn.Module = PointwiseLinear(k, self.decoder_size, identity_init=(k == self.decoder_size))
        elif self.decoder_size != k:
            raise ValueError(f"decode_head=False feeds the decoder the latent itself: its input must be K = {k}, not {self.decoder_size}")
        else:  # the decoder reads the simplex as it is (a topic mixture θᵀβ must see θ)
            self.decode_head = nn.Identity()
        self.likelihood = make_reconstruction_loss(reconstruction)

        given = config.prior_alpha
        values = [float(given)] * k if isinstance(given, (int, float)) else [float(value) for value in given]
        if len(values) != k:
            raise ValueError(f"prior_alpha must be a scalar or {k} values, got shape ({len(values)},)")
        # From Python floats: builds the same on the meta device (shape checks before loading, runs/loading.py).
        self.register_buffer("prior_alpha", torch.tensor(values, dtype=torch.float32))
        self.register_buffer("prior_steps", torch.zeros((), dtype=torch.long))
        self.prior_estimator = OnlineAlphaEstimator(k, alpha_floor)
        if self.learn_prior and latent == "dirichlet":
            # Empirical Bayes: α_p = exp(θ) is trained with the ELBO; the
            # buffer mirrors it so that saved runs and logs read one place.
            self.prior_log_alpha = nn.Parameter(torch.tensor([math.log(max(value, alpha_floor)) for value in values]))

    @property
    def recipe(self) -> dict[str, object]:
        """The latent recipe this model trains with (see :mod:`dirvae.latent.recipe`)."""
        return {
            "sampler": self.sampler,
            "kl_kind": self.kl_kind,
            "alpha_transform": self.alpha_transform,
            "decoder_input": self.decoder_input,
            "learn_prior": self.learn_prior,
        }

    def prior_concentration(self) -> Tensor:
        """The prior's α ``[K]``: learned (differentiable) with ``learn_prior``, else the buffer."""
        log_alpha = getattr(self, "prior_log_alpha", None)
        if log_alpha is None:
            return self.prior_alpha
        return log_alpha.float().exp().clamp_min(self.alpha_floor)

    def prior(self) -> Distribution:
        """p(z) at one latent position as a torch distribution.

        ``Dirichlet(α_p)`` over ``[K]`` (a standard normal for the Gaussian
        baseline), so ``torch.distributions.kl_divergence(model.encode(x),
        model.prior())`` is the per-item exact KL summed over the field.
        """
        if self.latent_kind == "gaussian":
            zeros = torch.zeros(self.model_size, device=self.prior_alpha.device)
            return Independent(Normal(zeros, torch.ones_like(zeros)), 1)
        return Dirichlet(self.prior_concentration())

    def posterior_from_features(self, features: Tensor) -> Posterior:
        if features.shape[1] != self.feature_size:
            raise ValueError(
                f"the encoder returned {features.shape[1]} features on dim 1, the model expects {self.feature_size}"
            )
        if self.latent_shape is None:
            self.latent_shape = tuple(features.shape[2:])
        if self.latent_kind == "gaussian":
            return GaussianPosterior(self.mean_head(features), self.log_variance_head(features))
        return DirichletPosterior(self.concentration_from_features(features), self.sampler, self.alpha_floor)

    def concentration_from_features(self, features: Tensor) -> Tensor:
        """α ``[B, K, *rest]`` in float32, floored explicitly, by the recipe's transform.

        softplus grows linearly, so a precise posterior (large α) needs large
        pre-activations; exp reaches large α in a few units of h but must be
        clamped; mean-concentration separates where on the simplex (softmax)
        from how sure (one log-concentration per position).
        """
        h = self.alpha_head(features).float()
        if self.alpha_transform == "softplus":
            return F.softplus(h) + self.alpha_floor
        if self.alpha_transform == "exp":
            return h.clamp(*LOG_ALPHA_RANGE).exp() + self.alpha_floor
        log_total = self.concentration_head(features).float().clamp(*LOG_ALPHA_RANGE)
        return torch.softmax(h, dim=1) * log_total.exp() + self.alpha_floor

    def encode(self, x: Tensor) -> Posterior:
        """The posterior q(z | x), a torch distribution: ``.mean``, ``.rsample()``, ``.log_prob()``, ``.kl()``."""
        return self.posterior_from_features(self.encoder(x))

    # ------------------------------------------------------------------ decode
    def decoder_input_from_latent(self, latent: Tensor) -> Tensor:
        """What the decode head sees for simplex points ``z``.

        A simplex coordinate averages 1/K and moves by hundredths, against
        coordinates of about 1 for a Gaussian code.  Adam moves weights by about
        the learning rate whatever the input scale, so a raw simplex makes the
        decoder take up the latent about K times more slowly, while the KL pulls
        the posterior onto the prior (BENCHMARKS.md: 27 nats on real digits).
        ``scaled`` feeds ``K·z`` (1 at the centre), ``log`` feeds ``log(K·z)``.
        """
        if self.latent_kind != "dirichlet" or self.decoder_input == "simplex":
            return latent
        if self.decoder_input == "scaled":
            return latent * self.model_size
        floor = math.exp(LOG_INPUT_FLOOR) / self.model_size
        return (latent.float().clamp_min(floor) * self.model_size).log()

    def decoder_output(self, latent: Tensor) -> Tensor:
        """The decoder's raw output (logits for Bernoulli) for latents ``[B, K, *rest]``."""
        weight = getattr(self.decode_head, "weight", None)
        dtype = weight.dtype if weight is not None else next(self.decoder.parameters(), latent).dtype
        return self.decoder(self.decode_head(self.decoder_input_from_latent(latent).to(dtype)))

    def decode(self, latent: Tensor) -> Tensor:
        """Latents ``[B, K, *rest]`` to data space."""
        return self.likelihood.mean(self.decoder_output(latent))

    # ----------------------------------------------------------------- forward
    def forward(self, x: Tensor, sampler: Sampler | None = None) -> VAEOutput:
        features = self.encoder(x)
        posterior = self.posterior_from_features(features)
        latent, kl = posterior.rsample_with_kl(self.prior_concentration(), self.kl_kind, sampler=sampler)
        decoder_output = self.decoder_output(latent)
        return VAEOutput(
            features=features,
            posterior=posterior,
            latent=latent,
            decoder_output=decoder_output,
            reconstruction=self.likelihood.mean(decoder_output),
            kl=kl,
        )

    def reconstruction_loss(self, decoder_output: Tensor, target: Tensor) -> Tensor:
        """Negative log-likelihood per sample ``[B]``; override to change the loss."""
        return self.likelihood(decoder_output, target)

    def kl_per_sample(self, posterior: Posterior) -> Tensor:
        """KL(q(z|x) ‖ p(z)) per sample ``[B]``, summed over latent positions; override to change the loss."""
        return posterior.kl(self.prior_concentration(), self.kl_kind)

    def kl_of(self, output: VAEOutput) -> Tensor:
        """The KL per sample of a forward pass: the one drawn with its latent, unless :meth:`kl_per_sample` is overridden."""
        if output.kl is None or type(self).kl_per_sample is not DirichletVAE.kl_per_sample:
            return self.kl_per_sample(output.posterior)
        return output.kl

    def loss(self, x: Tensor, kl_weight: float = 1.0, target: Tensor | None = None) -> LossTerms:
        """Loss terms for a batch; ``target`` defaults to ``x`` (an autoencoder)."""
        output = self(x)
        target = x if target is None else target
        reconstruction = self.reconstruction_loss(output.decoder_output, target)
        kl = self.kl_of(output)
        nonfinite = int((~(torch.isfinite(reconstruction) & torch.isfinite(kl))).sum())
        reconstruction_mean = reconstruction.mean()
        kl_mean = kl.mean()
        if self.learn_prior and self.latent_kind == "dirichlet":
            with torch.no_grad():
                self.prior_alpha.copy_(self.prior_concentration().detach())
        return LossTerms(
            total=reconstruction_mean + kl_weight * kl_mean,
            reconstruction=reconstruction_mean,
            kl=kl_mean,
            kl_weight=float(kl_weight),
            nonfinite=nonfinite,
            output=output,
        )

    # ------------------------------------------------------------------- prior
    @torch.no_grad()
    def update_prior(self, latent: Tensor) -> bool:
        """Count a training step and, after the burn-in, re-estimate the prior α.

        The estimate is the method of moments over every latent seen since the
        burn-in (an online mean, as in the seed).  Returns whether α changed.
        """
        if self.latent_kind != "dirichlet" or self.prior_burn_in is None:
            return False
        self.prior_steps += 1
        if int(self.prior_steps) <= self.prior_burn_in:
            return False
        self.prior_estimator.update(latent)
        if not self.prior_estimator.ready:
            return False
        self.prior_alpha.copy_(self.prior_estimator.estimate().to(self.prior_alpha))
        return True

    # ---------------------------------------------------------------- generate
