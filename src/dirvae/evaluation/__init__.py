"""Evaluating a trained model: likelihood, latent usefulness, component collapse.

:func:`evaluate_model` makes one pass over held-out batches and returns a
JSON-able report dict; ``dirvae evaluate`` prints it as a table (or JSON) and
draws the per-component chart.  The pieces live in submodules:

* :mod:`~dirvae.evaluation.likelihood`: importance-sampled NLL and ELBO terms;
* :mod:`~dirvae.evaluation.latents`: kNN, active units, per-component means,
  decoder weight norms;
* :mod:`~dirvae.evaluation.report`: the table, JSON and PNG chart.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, Iterable

import torch

from dirvae.data.relabelled import Relabelled
from dirvae.evaluation.latents import (
    ACTIVE_THRESHOLD,
    DecoderWeights,
    KnnResult,
    active_units,
    component_signal,
    component_variance,
    decoder_weight_norms,
    knn_accuracy,
    knn_cross_validated,
    mean_per_component,
    posterior_means,
    prior_component_variance,
    used_components,
)
from dirvae.evaluation.likelihood import (
    DEFAULT_MAX_ROWS,
    LikelihoodEstimate,
    LikelihoodInfo,
    importance_sampled_nll,
    likelihood_info,
    reconstruction_with_sampler,
    scaled_proposal,
)
from dirvae.evaluation.report import draw_components_chart, format_table, to_json

__all__ = [
    "ACTIVE_THRESHOLD",
    "DecoderWeights",
    "KnnResult",
    "LikelihoodEstimate",
    "LikelihoodInfo",
    "WithFiles",
    "nll_warning",
    "active_units",
    "component_signal",
    "component_variance",
    "decoder_weight_norms",
    "draw_components_chart",
    "evaluate_model",
    "format_table",
    "importance_sampled_nll",
    "knn_accuracy",
    "knn_cross_validated",
    "likelihood_info",
    "mean_per_component",
    "posterior_means",
    "prior_component_variance",
    "reconstruction_with_sampler",
    "scaled_proposal",
    "to_json",
    "used_components",
]


VALUES_PER_CHUNK = 1 << 22
"""Default bound on draws × values per item decoded at once by :func:`evaluate_model`."""


def _batch_parts(batch) -> tuple[torch.Tensor, torch.Tensor, int]:
    """(data, labels [B] or [B, 2] of label and file, items skipped)."""
    if isinstance(batch, torch.Tensor):
        return batch, torch.full((batch.shape[0],), -1, dtype=torch.long), 0
    data, labels = batch[0], batch[1]
    skipped = int(getattr(batch, "skipped", 0))
    return data, torch.as_tensor(labels, dtype=torch.long), skipped


def WithFiles(dataset) -> Relabelled:  # noqa: N802 - reads as the dataset type it returns
    """Audio windows or video frames labelled ``(label, file number)``.

    Batches then hold labels of shape [B, 2], so :func:`evaluate_model` can
    split the kNN folds by file even when unreadable items are dropped.
    """
    return Relabelled(dataset, partial(_label_and_file, dataset))


def _label_and_file(dataset, index: int, item) -> tuple:
    return item[1], dataset.locate(index)[0]


ESS_RELIABLE = 10.0
"""Mean effective sample size below which the importance-sampled NLL is flagged."""


def nll_warning(effective_samples: float, draws: int) -> str | None:
    """Why the NLL cannot be trusted, and what to do, when the importance weights degenerate.

    With an effective sample size near 1 a single draw carries all the
    weight: the estimate is then little better than a one-sample bound and
    overestimates the NLL by an unknown amount.
    """
    if not effective_samples < ESS_RELIABLE:
        return None
    return (
        f"NLL unreliable: the importance weights' mean effective sample size is {effective_samples:.1f} of "
        f"{draws} draws per item (under {ESS_RELIABLE:g}), so the NLL is an overestimate of unknown size; "
        "raise --nll-samples (tenfold or more; the effective size grows slowly when the latent has many "
        "positions, as for audio and large images) and compare runs by -ELBO meanwhile"
    )


def _mean(values: torch.Tensor) -> float:
    return float(values.double().mean())


def _sem(values: torch.Tensor) -> float:
    n = values.numel()
    return float(values.double().std(unbiased=True) / math.sqrt(n)) if n > 1 else float("nan")


@torch.no_grad()
def evaluate_model(
    model,
    batches: Iterable,
    *,
    nll_samples: int = 500,
    device: torch.device | str | None = None,
    knn_k: int = 5,
    knn_folds: int = 5,
    seed: int = 0,
    threshold: float = ACTIVE_THRESHOLD,
    model_sampler_samples: int | None = None,
    max_rows: int | None = None,
) -> dict[str, Any]:
    """Every metric of ``dirvae evaluate`` on ``batches`` (one pass), as a JSON-able dict.

    ``batches`` yields :class:`~dirvae.data.Batch` es (or ``(data, labels)``
    pairs, or tensors).  kNN is cross-validated over the labelled items,
    grouped by file when the labels are [B, 2] pairs of label and file (see
    :class:`WithFiles`); without at least two classes its accuracy is None
    with a reason.  ``nll_warning`` is set when the importance weights
    degenerate (see :func:`nll_warning`).
    ``model_sampler_samples`` (default: 50 for an IGCA DirVAE, else none)
    adds the reconstruction term under the model's own training sampler.
    ``max_rows`` bounds the latent draws decoded at once; by default it keeps
    draws × item size near 4M values (4,096 draws for a 28×28 digit, fewer
    for large images and audio windows), but never below one batch.
    Seeds torch's global generator with ``seed``.
    """
    torch.manual_seed(seed)
    model.eval()
    device = torch.device(device) if device is not None else model.prior_alpha.device
    info = likelihood_info(model)
    igca = model.latent_kind == "dirichlet" and model.sampler == "igca"
    if model_sampler_samples is None:
        model_sampler_samples = min(50, nll_samples) if igca else 0
    parts: list[LikelihoodEstimate] = []
    sampler_reconstruction: list[torch.Tensor] = []
    means, labels = [], []
    skipped = 0
    binary = True
    for batch in batches:
        data, label, lost = _batch_parts(batch)
        skipped += lost
        if data.shape[0] == 0:
            continue
        data = data.to(device)
        if data.layout != torch.strided:  # sparse batches (bags of words) are scored a batch at a time, dense
            data = data.to_dense()
        binary = binary and bool(((data == 0) | (data == 1)).all())
        rows = max_rows or max(1, min(DEFAULT_MAX_ROWS, VALUES_PER_CHUNK // max(1, data[0].numel())))
        parts.append(importance_sampled_nll(model, data, nll_samples, max_rows=rows, info=info))
        if model_sampler_samples:
            sampler_reconstruction.append(
                reconstruction_with_sampler(model, data, model.sampler, model_sampler_samples, max_rows=rows, info=info)
            )
        means.append(model.encode(data).mean.float().cpu())
        labels.append(label.cpu() if label.dim() == 2 else torch.stack([label.cpu(), torch.full_like(label.cpu(), -1)], 1))
    if not parts:
        raise ValueError("no readable items to evaluate")
    estimate = LikelihoodEstimate.concatenate(parts)
    all_means, label_files = torch.cat(means), torch.cat(labels)
    all_labels, files = label_files[:, 0], label_files[:, 1]

    normalised, note = info.normalised, info.note
    if info.name == "bernoulli" and not binary:
        normalised = False
        note = "Bernoulli likelihood on non-binary targets (grey values): a cross-entropy score, not a normalised density"
    variance = component_variance(all_means)
    prior_variance = prior_component_variance(model)
    weights = decoder_weight_norms(model)
    signal = component_signal(variance, weights.norms)
    grouped = bool((files >= 0).all())
    knn = knn_cross_validated(all_means, all_labels, k=knn_k, folds=knn_folds, seed=seed, groups=files if grouped else None)
    ess = _mean(estimate.effective_samples)
    report: dict[str, Any] = {
        "items": int(all_means.shape[0]),
        "skipped": skipped,
        "latent": model.latent_kind,
        "sampler": model.sampler if model.latent_kind == "dirichlet" else None,
        "kl_kind": model.kl_kind if model.latent_kind == "dirichlet" else "gaussian",
        "model_size": model.model_size,
        "latent_positions": int(math.prod(all_means.shape[2:])),
        "likelihood": {"name": info.name, "normalised": normalised, "note": note},
        "nll_samples": nll_samples,
        "nll": _mean(estimate.nll),
        "nll_sem": _sem(estimate.nll),
        "effective_samples_mean": ess,
        "nll_warning": nll_warning(ess, nll_samples),
        "elbo": _mean(estimate.elbo),
        "elbo_kl": "the model's training KL" + (" (multi-Gamma, not the Dirichlet KL)" if model.kl_kind == "gamma" and model.latent_kind == "dirichlet" else ""),
        "reconstruction": _mean(estimate.reconstruction),
        "kl": _mean(estimate.kl_model),
        "elbo_exact_kl": _mean(estimate.elbo_exact_kl),
        "kl_exact": _mean(estimate.kl_exact),
        "elbo_monte_carlo": _mean(estimate.log_weight_mean),
        "reconstruction_model_sampler": _mean(torch.cat(sampler_reconstruction)) if sampler_reconstruction else None,
        "knn": {
            "k": knn_k,
            "accuracy": knn.accuracy,
            "method": knn.method,
            "labelled": knn.labelled,
            "classes": knn.classes,
            "reason": knn.reason,
        },
        "active_threshold": threshold,
        "active_units": active_units(variance, threshold),
        "active_units_prior_scaled": active_units(variance / prior_variance, threshold),
        "used_components": used_components(signal),
        "components": {
            "variance": [float(v) for v in variance],
            "prior_variance": [float(v) for v in prior_variance],
            "mean": [float(v) for v in mean_per_component(all_means)],
            "decoder_weight_norm": [float(v) for v in weights.norms],
            "decoder_weight_source": weights.source,
            "signal": [float(v) for v in signal],
        },
    }
    return report
