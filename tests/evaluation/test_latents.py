"""Active units, per-component statistics, decoder weight norms and kNN on constructed latents."""

import pytest
import torch
from torch import nn

from dirvae import DirichletVAE
from dirvae.data import Batch
from dirvae.evaluation import (
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
from dirvae.nets.mlp import mlp_autoencoder


def _alternating(n, amplitude, centre):
    """Values centre ± amplitude alternately: population variance amplitude²."""
    signs = torch.tensor([1.0, -1.0]).repeat(n // 2)
    return centre + amplitude * signs


def test_active_units_on_constructed_means():
    n = 100
    means = torch.stack(
        [
            _alternating(n, 0.2, 0.5),  # variance 0.04: active
            _alternating(n, 0.05, 0.2),  # variance 0.0025: inactive
            torch.full((n,), 0.3),  # constant: inactive
            _alternating(n, 0.11, 0.0),  # variance 0.0121: active
        ],
        dim=1,
    )
    variance = component_variance(means)
    torch.testing.assert_close(variance, torch.tensor([0.04, 0.0025, 0.0, 0.0121], dtype=torch.float64))
    assert active_units(means) == 2
    assert active_units(variance) == 2
    assert active_units(means, threshold=0.001) == 3
    torch.testing.assert_close(mean_per_component(means), torch.tensor([0.5, 0.2, 0.3, 0.0], dtype=torch.float64))


def test_active_units_on_a_latent_field_pool_inputs_and_positions():
    # [N, K, P]: component 0 varies across positions only, component 1 across inputs only, component 2 not at all.
    n, p = 10, 4
    field = torch.zeros(n, 3, p)
    field[:, 0] = torch.tensor([0.0, 0.4, 0.0, 0.4])  # variance 0.04 over positions
    field[:, 1] = _alternating(n, 0.3, 0.0)[:, None]  # variance 0.09 over inputs
    field[:, 2] = 0.25
    torch.testing.assert_close(component_variance(field), torch.tensor([0.04, 0.09, 0.0], dtype=torch.float64))
    assert active_units(field) == 2
    torch.testing.assert_close(mean_per_component(field), torch.tensor([0.2, 0.0, 0.25], dtype=torch.float64))


def _line_clusters():
    """Class 0 at 0..4, class 1 at 10..14 on a line (second coordinate 0)."""
    train = torch.tensor([[float(v), 0.0] for v in [0, 1, 2, 3, 4, 10, 11, 12, 13, 14]])
    labels = torch.tensor([0] * 5 + [1] * 5)
    return train, labels


def test_knn_accuracy_known_answers():
    train, labels = _line_clusters()
    test = torch.tensor([[1.5, 0.0], [12.2, 0.0], [3.0, 0.1], [13.0, -0.2]])
    assert knn_accuracy(train, labels, test, torch.tensor([0, 1, 0, 1]), k=5) == 1.0
    assert knn_accuracy(train, labels, test, torch.tensor([0, 1, 1, 0]), k=5) == 0.5
    assert knn_accuracy(train, labels, test, torch.tensor([1, 0, 1, 0]), k=5) == 0.0


def test_knn_cross_validated_on_separated_clusters():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0, 0.0], [5.0, 0.0, 0.0], [0.0, 5.0, 0.0]])
    labels = torch.arange(3).repeat(20)
    means = centres[labels] + 0.1 * torch.randn(60, 3, generator=g)
    result = knn_cross_validated(means, labels, k=5, folds=5)
    assert result.accuracy == 1.0 and result.labelled == 60 and result.classes == 3
    # Unlabelled items (-1) are left out; labels unrelated to the features give about chance.
    noisy = torch.cat([labels, torch.full((7,), -1)])
    padded = torch.cat([means, torch.randn(7, 3, generator=g)])
    assert knn_cross_validated(padded, noisy).labelled == 60
    shuffled = labels[torch.randperm(60, generator=g)]
    assert knn_cross_validated(means, shuffled).accuracy < 0.6


def test_knn_cross_validated_says_why_it_cannot_run():
    means = torch.randn(30, 4)
    unlabelled = knn_cross_validated(means, torch.full((30,), -1))
    assert unlabelled.accuracy is None and "labels" in unlabelled.reason
    one_class = knn_cross_validated(means, torch.zeros(30, dtype=torch.long))
    assert one_class.accuracy is None
    too_few = knn_cross_validated(means[:6], torch.tensor([0, 1] * 3))
    assert too_few.accuracy is None and "more than 5" in too_few.reason


def test_decoder_weight_norms_compose_the_head_with_the_first_linear():
    encoder, decoder = mlp_autoencoder((12,), model_size=4, hidden=(8, 6))
    model = DirichletVAE(encoder, decoder, 4, reconstruction="bernoulli")
    with torch.no_grad():
        model.decode_head.weight.copy_(torch.randn(4, 4))
    result = decoder_weight_norms(model)
    expected = (decoder.net[0].weight @ model.decode_head.weight).norm(dim=0)
    torch.testing.assert_close(result.norms, expected)
    assert "Linear" in result.source


def test_decoder_weight_norms_for_a_convolutional_field():
    class Encoder(nn.Module):
        out_channels = 3

        def forward(self, x):
            return x[:, :3, ::2, ::2]

    class Decoder(nn.Module):
        in_channels = 5

        def __init__(self):
            super().__init__()
            self.up = nn.ConvTranspose2d(5, 2, 2, stride=2)

        def forward(self, h):
            return self.up(h)

    decoder = Decoder()
    model = DirichletVAE(Encoder(), decoder, 3, latent_shape=(2, 2))
    result = decoder_weight_norms(model)
    # ConvTranspose2d weight is [in=5, out=2, 2, 2]; the head is [5, K=3].
    composed = torch.einsum("fk,foij->koij", model.decode_head.weight, decoder.up.weight)
    torch.testing.assert_close(result.norms, composed.reshape(3, -1).norm(dim=1))
    assert "ConvTranspose2d" in result.source


def test_decoder_weight_norms_fall_back_to_the_head():
    decoder = nn.Sequential(nn.Tanh(), nn.Linear(4, 6))
    model = DirichletVAE(nn.Linear(6, 4), decoder, 4)
    result = decoder_weight_norms(model)
    torch.testing.assert_close(result.norms, model.decode_head.weight.norm(dim=0))
    assert "decode_head columns" in result.source


@pytest.mark.parametrize("latent", ["dirichlet", "gaussian"])
def test_posterior_means_from_batches(latent):
    encoder, decoder = mlp_autoencoder((6,), model_size=3, hidden=(5,))
    model = DirichletVAE(encoder, decoder, 3, latent=latent).eval()
    batches = [Batch(torch.rand(4, 6), torch.tensor([0, 1, 2, 3]), 0), Batch(torch.empty(0), torch.empty(0, dtype=torch.long), 2), torch.rand(2, 6)]
    means, labels = posterior_means(model, batches)
    assert means.shape == (6, 3)
    assert labels.tolist() == [0, 1, 2, 3, -1, -1]
    if latent == "dirichlet":
        torch.testing.assert_close(means.sum(dim=1), torch.ones(6))


def test_prior_component_variance():
    encoder, decoder = mlp_autoencoder((6,), model_size=4, hidden=(5,))
    model = DirichletVAE(encoder, decoder, 4, prior_alpha=torch.tensor([1.0, 2.0, 3.0, 4.0]))
    samples = torch.distributions.Dirichlet(model.prior_alpha).sample((200_000,))
    torch.testing.assert_close(prior_component_variance(model), samples.double().var(0), rtol=0.03, atol=0)
    gaussian = DirichletVAE(encoder, decoder, 4, latent="gaussian")
    torch.testing.assert_close(prior_component_variance(gaussian), torch.ones(4, dtype=torch.float64))


def test_used_components_need_variation_and_decoder_weight():
    variance = torch.tensor([1.0, 0.04, 1e-6, 1.0, 0.0])
    norms = torch.tensor([10.0, 10.0, 10.0, 0.5, 10.0])
    signal = component_signal(variance, norms)
    torch.testing.assert_close(signal, torch.tensor([10.0, 2.0, 0.01, 0.5, 0.0], dtype=torch.float64))
    assert used_components(signal) == 2  # 10 and 2 are ≥ 1 (10% of 10); a varying but unread component is not used
    assert used_components(signal, fraction=0.01) == 3
    # rescaling z by c and the weights by 1/c changes nothing
    torch.testing.assert_close(component_signal(variance * 0.01**2, norms / 0.01), signal)
    assert used_components(torch.zeros(3)) == 0


def test_knn_folds_grouped_by_file_do_not_score_near_duplicates():
    # 40 "videos", each a run of near-identical frames at its own random point,
    # with a class that has nothing to do with where the point lies.
    g = torch.Generator().manual_seed(0)
    files = torch.arange(40).repeat_interleave(10)
    centres = torch.rand(40, 4, generator=g)
    means = centres[files] + 1e-4 * torch.randn(400, 4, generator=g)
    labels = (torch.arange(40) % 2)[files]
    leaky = knn_cross_validated(means, labels, k=5, folds=5)
    assert leaky.accuracy == 1.0  # neighbours from the same file on both sides of the split
    grouped = knn_cross_validated(means, labels, k=5, folds=5, groups=files)
    assert grouped.accuracy < 0.7 and "grouped by file (40 files)" in grouped.method  # chance, as it should be
    assert knn_cross_validated(means, labels, k=5, folds=5, groups=torch.zeros(400)).accuracy is None
    few = knn_cross_validated(means, labels, k=5, folds=5, groups=files % 3)  # 3 files: leave-one-file-out
    assert few.accuracy is not None and "3-fold" in few.method
