import pytest
import torch
from torch import nn

from dirvae import DirichletVAE, make_optimizer
from dirvae.latent.posterior import DirichletPosterior, GaussianPosterior

pytestmark = pytest.mark.usefixtures("one_thread")


def _mlp_pair(k=8):
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, k))
    decoder = nn.Sequential(nn.Linear(k, 32), nn.ReLU(), nn.Linear(32, 64), nn.Unflatten(1, (1, 8, 8)))
    return encoder, decoder


class _ConvEncoder(nn.Module):
    out_channels = 8

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Conv2d(1, 16, 4, 2, 1), nn.ReLU(), nn.Conv2d(16, 8, 4, 2, 1))

    def forward(self, x):
        return self.net(x)


class _ConvDecoder(nn.Module):
    in_channels = 8

    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.ConvTranspose2d(8, 16, 4, 2, 1), nn.ReLU(), nn.ConvTranspose2d(16, 1, 4, 2, 1))

    def forward(self, h):
        return self.net(h)


def _bars(n=64, size=16, seed=0):
    """Images with one bright horizontal or vertical bar: a little structure to learn."""
    g = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, 1, size, size)
    for i in range(n):
        pos = int(torch.randint(0, size, (1,), generator=g))
        if i % 2:
            images[i, 0, pos, :] = 1.0
        else:
            images[i, 0, :, pos] = 1.0
    return images


def _train(model, data, steps=200, lr=3e-3):
    torch.manual_seed(0)
    optimizer = make_optimizer(model.parameters(), lr)
    losses = []
    for step in range(steps):
        batch = data[torch.randint(0, len(data), (16,))]
        terms = model.loss(batch, kl_weight=0.1)
        optimizer.zero_grad()
        terms.total.backward()
        optimizer.step()
        losses.append(terms.total.item())
    return sum(losses[:10]) / 10, sum(losses[-10:]) / 10


@pytest.mark.parametrize("latent", ["dirichlet", "gaussian"])
def test_conv_model_with_spatial_latent_trains(latent):
    torch.manual_seed(0)
    model = DirichletVAE(_ConvEncoder(), _ConvDecoder(), 8, latent=latent, reconstruction="bernoulli")
    first, last = _train(model, _bars())
    assert last < 0.6 * first, (first, last)
    out = model(_bars(2))
    assert out.latent.shape == (2, 8, 4, 4)
    if latent == "dirichlet":
        torch.testing.assert_close(out.latent.sum(1), torch.ones(2, 4, 4))


def test_mlp_model_trains_with_implicit_sampler():
    torch.manual_seed(0)
    model = DirichletVAE(*_mlp_pair(), 8, sampler="implicit", reconstruction="bernoulli")
    first, last = _train(model, _bars(size=8))
    assert last < 0.6 * first, (first, last)


def test_output_fields_and_loss_terms():
    model = DirichletVAE(*_mlp_pair(), 8)
    x = torch.rand(5, 1, 8, 8)
    out = model(x)
    assert out.alpha.shape == (5, 8) and (out.alpha > 0).all()
    assert out.features.shape == (5, 8)
    assert out.reconstruction.shape == x.shape
    terms = model.loss(x, kl_weight=0.5)
    torch.testing.assert_close(terms.total, terms.reconstruction + 0.5 * terms.kl)
    assert terms.nonfinite == 0
    torch.testing.assert_close(terms.elbo, -(terms.reconstruction + terms.kl))


@pytest.mark.parametrize("latent", ["dirichlet", "gaussian"])
def test_forward_draws_the_kl_with_the_latent_and_the_loss_uses_it(latent):
    model = DirichletVAE(*_mlp_pair(), 8, latent=latent)
    x = torch.rand(5, 1, 8, 8)
    torch.manual_seed(0)
    out = model(x)
    torch.testing.assert_close(out.kl, model.kl_per_sample(out.posterior))
    torch.manual_seed(0)
    torch.testing.assert_close(model.loss(x).kl, out.kl.mean())


def test_a_subclass_that_overrides_kl_per_sample_gets_its_own_kl_in_the_loss():
    class HalfKL(DirichletVAE):
        def kl_per_sample(self, posterior):
            return 0.5 * super().kl_per_sample(posterior)

    x = torch.rand(5, 1, 8, 8)
    torch.manual_seed(0)
    model = HalfKL(*_mlp_pair(), 8)
    torch.manual_seed(1)
    out = model(x)
    torch.manual_seed(1)
    torch.testing.assert_close(model.loss(x).kl, 0.5 * out.kl.mean())


def test_nonfinite_terms_are_counted_not_zeroed():
    model = DirichletVAE(*_mlp_pair(), 8)
    x = torch.rand(4, 1, 8, 8)
    x[1, 0, 0, 0] = float("nan")
    terms = model.loss(x)
    assert terms.nonfinite >= 1
    assert not torch.isfinite(terms.total)


def test_encode_returns_distribution_objects():
    x = torch.rand(3, 1, 8, 8)
    assert isinstance(DirichletVAE(*_mlp_pair(), 8).encode(x), DirichletPosterior)
    posterior = DirichletVAE(*_mlp_pair(), 8, latent="gaussian").encode(x)
    assert isinstance(posterior, GaussianPosterior) and posterior.mean.shape == (3, 8)


def test_custom_reconstruction_callable_and_subclass():
    calls = []

    def l1(output, target):
        calls.append(1)
        return (output - target).abs().flatten(1).sum(1)

    model = DirichletVAE(*_mlp_pair(), 8, reconstruction=l1)
    model.loss(torch.rand(2, 1, 8, 8))
    assert calls

    class Zero(DirichletVAE):
        def reconstruction_loss(self, decoder_output, target):
            return torch.zeros(target.shape[0])

    terms = Zero(*_mlp_pair(), 8).loss(torch.rand(2, 1, 8, 8))
    assert float(terms.reconstruction) == 0.0

    with pytest.raises(ValueError, match="one value per sample"):
        DirichletVAE(*_mlp_pair(), 8, reconstruction=lambda o, t: (o - t).sum()).loss(torch.rand(2, 1, 8, 8))


def test_prior_alpha_is_a_buffer_updated_after_burn_in():
    torch.manual_seed(0)
    model = DirichletVAE(*_mlp_pair(), 8, prior_burn_in=2)
    assert "prior_alpha" in model.state_dict()
    latent = torch.distributions.Dirichlet(torch.full((8,), 3.0)).sample((500,))
    assert not model.update_prior(latent)
    assert not model.update_prior(latent)
    torch.testing.assert_close(model.prior_alpha, torch.full((8,), 0.98))
    assert model.update_prior(latent)
    assert ((model.prior_alpha - 3.0).abs() < 0.5).all()
    restored = DirichletVAE(*_mlp_pair(), 8, prior_burn_in=2)
    restored.load_state_dict(model.state_dict())
    torch.testing.assert_close(restored.prior_alpha, model.prior_alpha)
    assert int(restored.prior_steps) == 3


def test_fixed_prior_never_changes():
    model = DirichletVAE(*_mlp_pair(), 8)
    assert not model.update_prior(torch.full((4, 8), 1 / 8))
    torch.testing.assert_close(model.prior_alpha, torch.full((8,), 0.98))


def test_sample_interpolate_traverse_shapes_and_endpoints():
    torch.manual_seed(0)
    model = DirichletVAE(_ConvEncoder(), _ConvDecoder(), 8, reconstruction="bernoulli", latent_shape=(4, 4)).eval()
    x = _bars(2)
    assert model.sample(5).shape == (5, 1, 16, 16)
    assert model.sample(2, alpha=10.0).shape == (2, 1, 16, 16)
    path = model.interpolation_path(x[0:1], x[1:2], steps=4)
    means = model.encode(x).mean
    torch.testing.assert_close(path[0], means[0])
    torch.testing.assert_close(path[-1], means[1])
    blend = model.interpolation_path(x[0:1], x[1:2], steps=3, path="concentration")
    torch.testing.assert_close(blend.sum(1), torch.ones(3, 4, 4))
    assert model.interpolate(x[0:1], x[1:2], steps=4).shape == (4, 1, 16, 16)
    latents = model.traversal_latents(steps=3)
    assert latents.shape == (24, 8, 4, 4)
    torch.testing.assert_close(latents[0, :, 0, 0], torch.full((8,), 1 / 8))
    assert latents[2, 0, 0, 0] > 0.9
    assert model.traverse(steps=3).shape == (24, 1, 16, 16)


def test_device_and_dtype_follow_to():
    model = DirichletVAE(*_mlp_pair(), 8).to(torch.float64)
    out = model(torch.rand(2, 1, 8, 8, dtype=torch.float64))
    assert out.decoder_output.dtype == torch.float64


def test_bad_configuration_is_rejected():
    with pytest.raises(ValueError, match="latent"):
        DirichletVAE(*_mlp_pair(), 8, latent="beta")
    with pytest.raises(ValueError, match="prior_alpha"):
        DirichletVAE(*_mlp_pair(), 8, prior_alpha=torch.ones(3))
    with pytest.raises(ValueError, match="features"):
        DirichletVAE(*_mlp_pair(), 8, feature_size=16)(torch.rand(2, 1, 8, 8))


def test_sampling_needs_a_known_latent_shape():
    model = DirichletVAE(_ConvEncoder(), _ConvDecoder(), 8)
    with pytest.raises(RuntimeError, match="shape"):
        model.sample(1)
    model(_bars(1))
    assert model.latent_shape == (4, 4)
    assert model.sample(1).shape == (1, 1, 16, 16)


def test_generation_arguments_are_checked():
    model = DirichletVAE(*_mlp_pair(), 8, latent_shape=())
    with pytest.raises(ValueError, match="8 values"):
        model.sample(2, alpha=torch.ones(3))
    with pytest.raises(ValueError, match="positive"):
        model.sample(2, alpha=-1.0)
    with pytest.raises(ValueError, match="reach"):
        model.traversal_latents(reach=1.5)
    gaussian = DirichletVAE(*_mlp_pair(), 8, latent="gaussian")
    x = torch.rand(2, 1, 8, 8)
    with pytest.raises(ValueError, match="concentration"):
        gaussian.interpolation_path(x[:1], x[1:], path="concentration")


@pytest.mark.parametrize("latent", ["dirichlet", "gaussian"])
@pytest.mark.parametrize("nets", ["mlp", "conv"])
def test_kl_divergence_of_encode_and_prior_is_the_models_exact_kl(latent, nets):
    torch.manual_seed(0)
    pair = _mlp_pair() if nets == "mlp" else (_ConvEncoder(), _ConvDecoder())
    model = DirichletVAE(*pair, 8, latent=latent, kl_kind="dirichlet")
    x = torch.rand(3, 1, 8, 8) if nets == "mlp" else torch.rand(3, 1, 16, 16)
    posterior = model.encode(x)
    kl = torch.distributions.kl_divergence(posterior, model.prior())
    assert kl.shape == (3,)
    torch.testing.assert_close(kl, model.kl_per_sample(posterior))
