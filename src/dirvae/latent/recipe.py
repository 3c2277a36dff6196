"""Named latent recipes: how α is parameterised, sampled, regularised and fed to the decoder.

A recipe is the set of choices that decide how well a Dirichlet VAE learns,
independent of its networks.  ``paper`` is Joo et al.'s (IGCA sampler,
multi-Gamma KL, softplus α, the simplex fed straight to the decoder);
``default`` is the one that won the mnist10k ablation (BENCHMARKS.md,
``benchmarks/ablation.py``).  Runs record every field, so changing
``default`` never changes what a saved run means; runs written before a field
existed are read with the meaning they were trained with (:mod:`dirvae.runs.upgrade`).
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from dirvae.latent.dirichlet import KLKind, Sampler

AlphaTransform = Literal["softplus", "exp", "mean-concentration"]
DecoderInput = Literal["simplex", "scaled", "log"]

# The choices, from the types themselves: each name is written once.
ALPHA_TRANSFORMS: tuple[str, ...] = get_args(AlphaTransform)
DECODER_INPUTS: tuple[str, ...] = get_args(DecoderInput)
SAMPLERS: tuple[str, ...] = get_args(Sampler)
KL_KINDS: tuple[str, ...] = get_args(KLKind)

RECIPE_FIELDS = ("sampler", "kl_kind", "alpha_transform", "decoder_input", "learn_prior")

PRIOR_ALPHA = 0.98
"""The Dirichlet prior's concentration per component unless given: 1 − 1/50, the paper's (and the seed's) choice."""

RECIPES: dict[str, dict[str, Any]] = {
    # Joo et al. 2020 as published (and this library's behaviour before the ablation).
    "paper": {
        "sampler": "igca",
        "kl_kind": "gamma",
        "alpha_transform": "softplus",
        "decoder_input": "simplex",
        "learn_prior": False,
    },
    # The ablation's winner on real digits (see BENCHMARKS.md for the table).
    "default": {
        "sampler": "implicit",
        "kl_kind": "dirichlet",
        "alpha_transform": "softplus",
        "decoder_input": "scaled",
        "learn_prior": False,
    },
}



def resolve_recipe(name: str | None, **given: Any) -> dict[str, Any]:
    """The recipe ``name`` (default ``"default"``) with every non-None option in ``given`` on top."""
    name = name or "default"
    if name not in RECIPES:
        raise ValueError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
    resolved = dict(RECIPES[name])
    unknown = set(given) - set(RECIPE_FIELDS)
    if unknown:
        raise ValueError(f"not recipe options: {', '.join(sorted(unknown))}")
    resolved.update({key: value for key, value in given.items() if value is not None})
    choices = {"sampler": SAMPLERS, "kl_kind": KL_KINDS, "alpha_transform": ALPHA_TRANSFORMS, "decoder_input": DECODER_INPUTS}
    for key, allowed in choices.items():
        if resolved[key] not in allowed:
            raise ValueError(f"{key} must be one of {', '.join(allowed)}, got {resolved[key]!r}")
    resolved["learn_prior"] = bool(resolved["learn_prior"])
    return resolved
