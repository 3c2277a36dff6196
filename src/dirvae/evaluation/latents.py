"""Latent usefulness and the paper's component-collapse diagnostics.

All of these work on posterior means ``E[z|x]``, shaped ``[N, K, *rest]``
(a latent field has one simplex per position along ``rest``).

* **Active units** (Burda et al. 2016): component d is active when
  ``Var_x E[z_d | x] > 0.01``.  For a latent field the variance is taken per
  component over inputs *and* positions together (every position's simplex
  is one more observation of the same K components).  Population variance
  (divide by N).  Note the threshold was made for unit-scale Gaussian
  latents: on a K-simplex every coordinate averages 1/K, so a Dirichlet
  component's variance is at most about ``1/K · (1 − 1/K)`` and the same 0.01
  is far stricter (see benchmarks/results/mnist10k.md).  So we also count
  components whose ``Var_x E[z_d|x]`` exceeds 0.01 of the *prior's* variance
  of z_d (:func:`prior_component_variance`): for the N(0, I) prior this is
  exactly the usual criterion, and for a Dirichlet prior it is the same
  question ("does x explain at least 1% of the component's prior spread?")
  asked on the simplex's scale.
* **Used components**: a scale-free count that needs both sides of the
  network.  Component d's *signal* is ``std_x E[z_d|x] · ‖W_d‖``, the spread
  over inputs of its contribution to the decoder's first layer
  (:func:`decoder_weight_norms`); it is unchanged when z is rescaled and the
  weights inversely.  A component is used when its signal is at least 10% of
  the largest.  Gaussian VAEs often have components whose means vary a little
  (so they pass the 0.01 test) while the decoder has zeroed their weights;
  this count leaves them out.
* **Mean latent value per component**: the stick-breaking VAE's collapse
  shows as components whose mean value is ~0.
* **Decoder weight norm per component**: the Gaussian VAE's collapse shows as
  components whose first-layer decoder weights are ~0.  See
  :func:`decoder_weight_norms` for how the "first layer" is found.
* **kNN (k = 5) accuracy** on flattened posterior means, with scikit-learn's
  ``KNeighborsClassifier`` (Euclidean): either fitted on one split and scored
  on another (the benchmark), or k-fold cross-validated on one labelled set
  (``dirvae evaluate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import numpy as np
from sklearn.model_selection import GroupKFold, KFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
import torch
from torch import Tensor, nn

ACTIVE_THRESHOLD = 0.01


# ----------------------------------------------------------------- gathering
@torch.no_grad()
def posterior_means(model, batches: Iterable, device: torch.device | str | None = None) -> tuple[Tensor, Tensor]:
    """Posterior means ``[N, K, *rest]`` (CPU, float32) and labels ``[N]`` for every batch.

    ``batches`` yields :class:`~dirvae.data.Batch` es, ``(data, labels)``
    pairs or bare tensors (labels then -1).
    """
    means, labels = [], []
    for batch in batches:
        data, label = _split_batch(batch)
        if data.shape[0] == 0:
            continue
        if device is not None:
            data = data.to(device)
        means.append(model.encode(data).mean.float().cpu())
        labels.append(label.cpu())
    if not means:
        raise ValueError("no data to encode")
    return torch.cat(means), torch.cat(labels)


def _split_batch(batch) -> tuple[Tensor, Tensor]:
    if isinstance(batch, Tensor):
        return batch, torch.full((batch.shape[0],), -1, dtype=torch.long)
    data, labels = batch[0], batch[1]
    return data, torch.as_tensor(labels, dtype=torch.long)


def _per_component(means: Tensor) -> Tensor:
    """``[N, K, *rest]`` → ``[N·prod(rest), K]``: every position an observation."""
    means = torch.as_tensor(means).double()
    if means.dim() < 2:
        raise ValueError(f"latent means must be [N, K, *rest], got shape {tuple(means.shape)}")
    return means.movedim(1, -1).reshape(-1, means.shape[1])


# ------------------------------------------------------------ collapse stats
def component_variance(means: Tensor) -> Tensor:
    """``Var_x E[z_d | x]`` per component ``[K]`` (over inputs and positions, divide by N)."""
    return _per_component(means).var(dim=0, unbiased=False)


def active_units(means_or_variance: Tensor, threshold: float = ACTIVE_THRESHOLD) -> int:
    """How many components have ``Var_x E[z_d|x] > threshold``.

    Accepts the means ``[N, K, *rest]`` or an already computed variance ``[K]``.
    """
    values = torch.as_tensor(means_or_variance)
    variance = values.double() if values.dim() == 1 else component_variance(values)
    return int((variance > threshold).sum())


def component_signal(variance: Tensor, weight_norms: Tensor) -> Tensor:
    """``std_x E[z_d|x] · ‖W_d‖`` per component ``[K]``: what reaches the decoder from each component."""
    return torch.as_tensor(variance).double().clamp_min(0).sqrt() * torch.as_tensor(weight_norms).double()


def used_components(signal: Tensor, fraction: float = 0.1) -> int:
    """Components whose signal is at least ``fraction`` of the largest (see the module notes)."""
    signal = torch.as_tensor(signal).double()
    top = float(signal.max()) if signal.numel() else 0.0
    return int((signal >= fraction * top).sum()) if top > 0 else 0


def prior_component_variance(model) -> Tensor:
    """Variance of each latent component under the model's prior ``[K]`` (float64).

    Dir(α): ``α_d (α_0 − α_d) / (α_0² (α_0 + 1))`` with ``α_0 = Σ α``; N(0, I): 1.
    """
    if model.latent_kind == "gaussian":
        return torch.ones(model.model_size, dtype=torch.float64)
    alpha = model.prior_concentration().detach().double().cpu()
    total = alpha.sum()
    return alpha * (total - alpha) / (total**2 * (total + 1))


def mean_per_component(means: Tensor) -> Tensor:
    """Average latent value of each component ``[K]`` over inputs and positions."""
    return _per_component(means).mean(dim=0)


# ------------------------------------------------------------ decoder weights
_LINEAR_LIKE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)


def _first_consumer(model) -> nn.Module | None:
    """The first leaf module of the decoder whose input *is* the decode head's output.

    Found with forward hooks on one dry decode, so it follows the decoder's
    real forward order rather than the order modules were registered in.
    """
    shape = model.latent_shape or ()
    device = model.prior_alpha.device
    latent = torch.full((1, model.model_size, *shape), 1.0 / model.model_size, device=device)
    seen: dict[str, object] = {}

    def head_hook(_module, _inputs, output):
        seen["head"] = output

    def leaf_hook(module, inputs):
        if "first" not in seen and "head" in seen and inputs and inputs[0] is seen["head"]:
            seen["first"] = module

    handles = [model.decode_head.register_forward_hook(head_hook)]
    handles += [m.register_forward_pre_hook(leaf_hook) for m in model.decoder.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            model.decoder_output(latent)
    except Exception:  # an odd decoder: fall back to the decode head alone
        return None
    finally:
        for handle in handles:
            handle.remove()
    return seen.get("first")  # type: ignore[return-value]


def _input_major(layer: nn.Module) -> Tensor:
    """The layer's weight as ``[in, everything else]``."""
    weight = layer.weight.detach().double()
    if isinstance(layer, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)):
        return weight.reshape(weight.shape[0], -1)  # [in, out/groups, *kernel]
    return weight.movedim(1, 0).reshape(weight.shape[1], -1)  # Linear [out, in]; Conv [out, in, *kernel]


@dataclass
class DecoderWeights:
    norms: Tensor
    source: str


def decoder_weight_norms(model) -> DecoderWeights:
    """L2 norm of the decoder's first-layer weights connected to each component ``[K]``.

    The latent reaches the user's decoder through the model's ``decode_head``
    (a K → F' linear map, identity-initialised when F' = K).  When the first
    layer consuming the head's output is linear (``nn.Linear``, a convolution
    or a transposed convolution, ungrouped) the two compose into one linear
    map from the K components, and we take the norm of each component's
    weights in it: for the paper's MLP this is the 50 → 500 matrix
    ``W_first @ W_head``, for a convolution the norm over output channels and
    kernel taps.  Otherwise the norm of the head's columns alone.
    """
    weight = getattr(model.decode_head, "weight", None)  # no head: the decoder reads the latent itself
    head = weight.detach().double() if weight is not None else torch.eye(model.model_size, dtype=torch.float64)  # [F', K]
    first = _first_consumer(model)
    if (
        first is not None
        and isinstance(first, _LINEAR_LIKE)
        and getattr(first, "groups", 1) == 1
        and _input_major(first).shape[0] == head.shape[0]
    ):
        composed = head.t() @ _input_major(first)  # [K, everything else]
        name = type(first).__name__
        return DecoderWeights(composed.norm(dim=1).float(), f"decode_head composed with the decoder's first {name}")
    return DecoderWeights(head.norm(dim=0).float(), "decode_head columns (the decoder's first layer is not linear)")


# ----------------------------------------------------------------------- kNN
def _features(means: Tensor | np.ndarray) -> np.ndarray:
    array = means.detach().cpu().double().numpy() if isinstance(means, Tensor) else np.asarray(means, dtype=np.float64)
    return array.reshape(array.shape[0], -1)


def _labels(labels) -> np.ndarray:
    return (labels.detach().cpu().numpy() if isinstance(labels, Tensor) else np.asarray(labels)).astype(np.int64)


def knn_accuracy(train_means, train_labels, test_means, test_labels, k: int = 5) -> float:
    """Fit k-NN on one split's posterior means, return accuracy on another's."""
    classifier = KNeighborsClassifier(n_neighbors=k)
    classifier.fit(_features(train_means), _labels(train_labels))
    return float(classifier.score(_features(test_means), _labels(test_labels)))


@dataclass
class KnnResult:
    accuracy: float | None
    method: str
    labelled: int
    classes: int
    reason: str | None = None


def knn_cross_validated(means, labels, k: int = 5, folds: int = 5, seed: int = 0, groups=None) -> KnnResult:
    """k-NN accuracy by shuffled k-fold cross-validation over the labelled items.

    Items labelled -1 are left out.  ``groups`` (the file of each item, for
    audio windows and video frames) keeps every file's items in one fold:
    neighbouring frames of one video are near copies, and letting them fall
    on both sides of a split scores memory, not a useful latent (grouped
    cross-validation; fewer files than folds gives leave-one-file-out).
    Returns ``accuracy=None`` with a reason when there are too few labelled
    items, classes or files.
    """
    x, y = _features(means), _labels(labels)
    keep = y >= 0
    x, y = x[keep], y[keep]
    classes = int(np.unique(y).size)
    method = f"{k}-NN, {folds}-fold cross-validation"
    if classes < 2:
        return KnnResult(None, method, int(y.size), classes, "needs labels (class sub-folders) with at least 2 classes")
    if groups is not None:
        g = _labels(groups)[keep]
        files = int(np.unique(g).size)
        if files < 2:
            return KnnResult(None, method + " grouped by file", int(y.size), classes, "needs labelled items from at least 2 files")
        folds = min(folds, files)
        method = f"{k}-NN, {folds}-fold cross-validation grouped by file ({files} files)"
        splits = list(GroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(x, y, g))
    else:
        if y.size < folds:
            return KnnResult(None, method, int(y.size), classes, f"needs more than {k} labelled items per training fold")
        splits = list(KFold(n_splits=folds, shuffle=True, random_state=seed).split(x, y))
    if min(len(train) for train, _ in splits) <= k:
        return KnnResult(None, method, int(y.size), classes, f"needs more than {k} labelled items per training fold")
    scores = cross_val_score(KNeighborsClassifier(n_neighbors=k), x, y, cv=splits)
    return KnnResult(float(np.mean(scores)), method, int(y.size), classes)
