"""evaluate_model end to end on tiny models, and the table, JSON and chart it feeds."""

import json

import pytest
import torch
from PIL import Image

from dirvae import DirichletVAE
from dirvae.data import Batch
from dirvae.evaluation import WithFiles, draw_components_chart, evaluate_model, format_table, nll_warning, to_json
from dirvae.nets.mlp import mlp_autoencoder


def _batches(n=40, batch=10, labelled=True, binary=True):
    g = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 2
    data = torch.rand(n, 1, 4, 4, generator=g) * 0.3
    data[labels == 1, :, :2] += 0.7  # class 1 is bright on top
    if binary:
        data = (data > 0.5).float()
    return [
        Batch(data[i : i + batch], labels[i : i + batch] if labelled else torch.full((batch,), -1), 0)
        for i in range(0, n, batch)
    ]


def _model(latent="dirichlet", sampler="igca", reconstruction="bernoulli"):
    torch.manual_seed(0)
    encoder, decoder = mlp_autoencoder((1, 4, 4), model_size=3, hidden=(8,))
    return DirichletVAE(encoder, decoder, 3, latent=latent, sampler=sampler, reconstruction=reconstruction).eval()


@pytest.mark.parametrize("latent,sampler", [("dirichlet", "igca"), ("dirichlet", "implicit"), ("gaussian", "igca")])
def test_evaluate_model_report(latent, sampler):
    report = evaluate_model(_model(latent, sampler), _batches(), nll_samples=6, knn_folds=4)
    assert report["items"] == 40 and report["latent"] == latent and report["model_size"] == 3
    assert report["likelihood"]["normalised"]  # Bernoulli on binary data
    assert report["nll"] <= -report["elbo"] + 5.0  # the IS estimate is (nearly always) below −ELBO
    assert report["elbo"] == pytest.approx(-(report["reconstruction"] + report["kl"]))
    assert report["knn"]["accuracy"] is not None and report["knn"]["classes"] == 2
    assert len(report["components"]["variance"]) == 3
    assert 0 <= report["active_units"] <= 3 and 1 <= report["used_components"] <= 3
    if latent == "dirichlet":
        assert report["kl"] >= report["kl_exact"] - 1e-4  # multi-Gamma KL bounds the Dirichlet KL
        assert sum(report["components"]["mean"]) == pytest.approx(1.0)
        assert (report["reconstruction_model_sampler"] is not None) == (sampler == "igca")
    else:
        assert report["kl"] == pytest.approx(report["kl_exact"])
        assert report["active_units_prior_scaled"] == report["active_units"]  # N(0, I): the same criterion
    text = format_table(report | {"run": "RUN", "data": "DATA"})
    assert "NLL" in text and "kNN-5" in text and "active units" in text
    assert ("exact Dirichlet KL" in text) == (latent == "dirichlet")
    decoded = json.loads(to_json(report))
    assert decoded["nll"] == pytest.approx(report["nll"])


def test_report_flags_scores_that_are_not_densities():
    report = evaluate_model(_model(), _batches(labelled=False, binary=False), nll_samples=2)
    assert not report["likelihood"]["normalised"] and "not a normalised density" in report["likelihood"]["note"]
    assert report["knn"]["accuracy"] is None and report["knn"]["reason"]
    text = format_table(report | {"run": "RUN", "data": "DATA"})
    assert "a score, not a density" in text
    # a single item: the standard error is NaN, which strict JSON writes as null
    one = evaluate_model(_model(), [Batch(torch.zeros(1, 1, 4, 4), torch.tensor([-1]), 0)], nll_samples=2)
    assert json.loads(to_json(one))["nll_sem"] is None


def test_evaluate_model_with_no_items():
    with pytest.raises(ValueError, match="no readable items"):
        evaluate_model(_model(), [Batch(torch.empty(0), torch.empty(0, dtype=torch.long), 3)], nll_samples=2)


@pytest.mark.parametrize("k", [3, 50, 700])
def test_components_chart(tmp_path, k):
    variance = [0.02 * (i % 3 == 0) for i in range(k)]
    mean = [(-1) ** i * 0.1 for i in range(k)]
    norms = [float(i) for i in range(k)]
    path = draw_components_chart(tmp_path / "sub" / "chart.png", variance, mean, norms, title="t")
    with Image.open(path) as image:
        assert image.format == "PNG" and image.mode == "RGB"
        assert image.width >= 600 and image.height > 500
        colours = {colour for _, colour in image.getcolors(maxcolors=1 << 16)}
    assert (46, 110, 180) in colours and (175, 175, 175) in colours  # active and inactive bars
    assert (200, 40, 40) in colours  # the threshold line


def test_components_chart_rejects_mismatched_series(tmp_path):
    with pytest.raises(ValueError):
        draw_components_chart(tmp_path / "c.png", [0.1, 0.2], [0.5], [1.0, 2.0])


def test_a_degenerate_importance_sample_is_flagged_with_what_to_do():
    assert nll_warning(25.0, 500) is None
    message = nll_warning(1.0, 500)
    assert "effective sample size is 1.0 of 500 draws" in message and "--nll-samples" in message
    report = evaluate_model(_model(), _batches(), nll_samples=6)  # 6 draws: never 10 effective ones
    assert report["effective_samples_mean"] <= 6 and report["nll_warning"].startswith("NLL unreliable")
    text = format_table(report | {"run": "RUN", "data": "DATA"})
    assert text.splitlines()[-2].startswith("warning: NLL unreliable")  # before the kNN line


def test_labels_with_files_group_the_knn_folds():
    from dirvae.data import make_loader

    class Windows(torch.utils.data.Dataset):  # 8 files of 5 items, one class per file
        def __len__(self):
            return 40

        def __getitem__(self, index):
            return torch.full((1, 4, 4), (index // 5) / 8.0), (index // 5) % 2

        def locate(self, index):
            return index // 5, index % 5

    loader = make_loader(WithFiles(Windows()), 10)
    assert next(iter(loader)).labels.shape == (10, 2)
    report = evaluate_model(_model(), loader, nll_samples=2, knn_k=3, knn_folds=4)
    assert "grouped by file (8 files)" in report["knn"]["method"]
