import itertools
import json

import pytest
import torch

from dirvae import DirichletVAE, make_optimizer
from dirvae.model import DirichletVAE
from dirvae.nets.mlp import mlp_autoencoder
from dirvae.latent.recipe import ALPHA_TRANSFORMS, DECODER_INPUTS, RECIPES, resolve_recipe
from dirvae.runs.upgrade import PAPER_RECIPE

pytestmark = pytest.mark.usefixtures("one_thread")

K = 6


def _config(**model):
    return {
        "modality": "image",
        "architecture": {"name": "mlp", "options": {"input_shape": [1, 8, 8], "model_size": K, "hidden": [16]}},
        "model": {"model_size": K, "reconstruction": "bernoulli", **model},
    }


def _digits(n=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 1, 8, 8, generator=g) > 0.6).float()


def test_resolve_recipe_fills_from_the_preset_and_rejects_unknowns():
    assert resolve_recipe(None) == RECIPES["default"]
    assert resolve_recipe("paper") == RECIPES["paper"]
    assert resolve_recipe("paper", decoder_input="scaled")["decoder_input"] == "scaled"
    assert resolve_recipe("paper", sampler=None)["sampler"] == "igca"
    with pytest.raises(ValueError, match="unknown recipe"):
        resolve_recipe("best")
    with pytest.raises(ValueError, match="alpha_transform"):
        resolve_recipe("default", alpha_transform="relu")
    with pytest.raises(ValueError, match="not recipe options"):
        resolve_recipe("default", beta=1)


def test_default_recipe_is_the_measured_one_and_paper_is_joo_et_al():
    encoder, decoder = mlp_autoencoder((1, 8, 8), model_size=K, hidden=(16,))
    model = DirichletVAE(encoder, decoder, K)
    assert model.recipe == RECIPES["default"]
    assert RECIPES["paper"] == {
        "sampler": "igca", "kl_kind": "gamma", "alpha_transform": "softplus", "decoder_input": "simplex", "learn_prior": False,
    }  # fmt: skip


@pytest.mark.parametrize(
    "alpha_transform,decoder_input,learn_prior", list(itertools.product(ALPHA_TRANSFORMS, DECODER_INPUTS, (False, True)))
)
def test_every_recipe_trains_with_finite_loss_and_round_trips(tmp_path, alpha_transform, decoder_input, learn_prior):
    data = _digits()
    for sampler, kl_kind in itertools.product(("igca", "implicit"), ("gamma", "dirichlet")):
        recipe = dict(sampler=sampler, kl_kind=kl_kind, alpha_transform=alpha_transform, decoder_input=decoder_input, learn_prior=learn_prior)
        torch.manual_seed(0)
        config = _config(**recipe)
        model = DirichletVAE.from_run_config(config)
        optimizer = make_optimizer(model.parameters(), 1e-2)
        for _ in range(3):
            terms = model.loss(data)
            assert torch.isfinite(terms.total), recipe
            optimizer.zero_grad()
            terms.total.backward()
            optimizer.step()
        model.eval()
        folder = tmp_path / f"{sampler}-{kl_kind}"
        model.save_pretrained(folder, extra=config)
        loaded = DirichletVAE.from_pretrained(folder)
        assert loaded.recipe == model.recipe == recipe
        x = data[:4]
        torch.testing.assert_close(loaded.encode(x).concentration, model.encode(x).concentration)
        torch.testing.assert_close(loaded.prior_concentration(), model.prior_concentration())
        z = model.encode(x).mean
        torch.testing.assert_close(loaded.decode(z), model.decode(z))


def test_learned_prior_gets_gradients_and_stays_positive():
    torch.manual_seed(0)
    model = DirichletVAE.from_run_config(_config(learn_prior=True, prior_alpha=0.98))
    assert model.prior_log_alpha.requires_grad
    terms = model.loss(_digits())
    terms.total.backward()
    assert model.prior_log_alpha.grad is not None and bool(model.prior_log_alpha.grad.abs().sum() > 0)
    # A large learning rate drives log α far negative; α = exp(θ) stays positive and the loss finite.
    optimizer = torch.optim.SGD([model.prior_log_alpha], lr=1e3)
    for _ in range(5):
        optimizer.zero_grad()
        model.loss(_digits()).total.backward()
        with torch.no_grad():
            model.prior_log_alpha.grad.fill_(1.0)  # always push θ down
        optimizer.step()
    assert bool((model.prior_concentration() > 0).all())
    assert torch.isfinite(model.loss(_digits()).total)
    torch.testing.assert_close(model.prior_alpha, model.prior_concentration().detach())


def test_learned_prior_moves_toward_the_posteriors():
    """Empirical Bayes: with encoders giving sparse posteriors, the learned α shrinks."""
    torch.manual_seed(0)
    model = DirichletVAE.from_run_config(_config(learn_prior=True, prior_alpha=5.0))
    optimizer = make_optimizer(model.parameters(), 3e-2)
    data = _digits(64)
    for _ in range(100):
        optimizer.zero_grad()
        model.loss(data).total.backward()
        optimizer.step()
    assert float(model.prior_concentration().detach().mean()) < 5.0


def test_learn_prior_and_moment_burn_in_are_exclusive():
    encoder, decoder = mlp_autoencoder((1, 8, 8), model_size=K, hidden=(16,))
    with pytest.raises(ValueError, match="one way"):
        DirichletVAE(encoder, decoder, K, learn_prior=True, prior_burn_in=10)


def test_decoder_inputs():
    encoder, decoder = mlp_autoencoder((1, 8, 8), model_size=K, hidden=(16,))
    z = torch.tensor([[0.5, 0.25, 0.25, 0.0, 0.0, 0.0]])
    scaled = DirichletVAE(encoder, decoder, K, decoder_input="scaled")
    torch.testing.assert_close(scaled.decoder_input_from_latent(z), K * z)
    logged = DirichletVAE(encoder, decoder, K, decoder_input="log")
    out = logged.decoder_input_from_latent(z)
    torch.testing.assert_close(out[0, :3], torch.tensor([3.0, 1.5, 1.5]).log())
    assert bool(torch.isfinite(out).all()) and float(out.min()) == pytest.approx(-10.0)
    plain = DirichletVAE(encoder, decoder, K, decoder_input="simplex")
    torch.testing.assert_close(plain.decoder_input_from_latent(z), z)
    gaussian = DirichletVAE(encoder, decoder, K, latent="gaussian", decoder_input="scaled")
    torch.testing.assert_close(gaussian.decoder_input_from_latent(z), z)  # a Gaussian code is fed as is


def test_alpha_transforms_stay_floored_and_bounded():
    encoder, decoder = mlp_autoencoder((1, 8, 8), model_size=K, hidden=(16,))
    features = torch.tensor([[-1e4, -5.0, 0.0, 5.0, 50.0, 1e4]] * 2)
    features = torch.cat([features, torch.zeros(2, 16 - K)], dim=1)
    for transform in ALPHA_TRANSFORMS:
        model = DirichletVAE(encoder, decoder, K, feature_size=16, alpha_transform=transform)
        alpha = model.concentration_from_features(features)
        assert alpha.dtype == torch.float32
        assert bool(torch.isfinite(alpha).all()) and bool((alpha >= model.alpha_floor).all()), transform
        if transform != "softplus":
            assert float(alpha.max()) < 1.2e3, transform
    model = DirichletVAE(encoder, decoder, K, feature_size=16, alpha_transform="mean-concentration")
    alpha = model.concentration_from_features(torch.zeros(3, 16))
    # Starts at the simplex centre with Σα = K: α ≈ 1 everywhere.
    torch.testing.assert_close(alpha.sum(dim=1), torch.full((3,), float(K)), atol=1e-3, rtol=0)


def test_a_run_saved_before_recipes_loads_with_its_old_meaning(tmp_path):
    """config.json from dirvae 0.1.0 named sampler and kl_kind but no other recipe field."""
    torch.manual_seed(0)
    old = DirichletVAE(*mlp_autoencoder((1, 8, 8), model_size=K, hidden=(16,)), K, recipe="paper", reconstruction="bernoulli")
    old(torch.zeros(1, 1, 8, 8))
    config = _config(sampler="igca", kl_kind="gamma")
    config["model"].update(feature_size=16, decoder_size=K, latent="dirichlet", alpha_floor=1e-5, prior_burn_in=None, latent_shape=[])
    old.save_pretrained(tmp_path, extra={})
    (tmp_path / "config.json").write_text(json.dumps({**config, "format": "dirvae-run/1", "dirvae_version": "0.1.0"}))
    loaded = DirichletVAE.from_pretrained(tmp_path)
    assert loaded.recipe == {**PAPER_RECIPE, "sampler": "igca", "kl_kind": "gamma"} == RECIPES["paper"]
    z = torch.full((2, K), 1.0 / K)
    torch.testing.assert_close(loaded.decode(z), old.eval().decode(z))
