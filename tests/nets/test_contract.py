"""The contract every registered architecture keeps, whatever its modality.

Built from its registry entry (its options for a tiny item of a modality that
uses it), each network pair must: round-trip through ``save_pretrained`` /
``from_pretrained`` to identical outputs, pass gradients to every parameter,
and learn a tiny low-rank family of items of that shape.  A newly registered
architecture is tested here without a line of its own.
"""

import pytest
import torch
from torch import nn

from dirvae import DirichletVAE, DirichletVAEConfig
from dirvae.modalities import MODALITIES
from dirvae.nets.registry import ARCHITECTURES, Architecture
from dirvae.losses.reconstruction import default_loss_options

TINY_SOURCES = {
    "image": dict(source="tiny", item_shape=(3, 16, 16), image_size=16, grayscale=False),
    "video": dict(source="tiny", item_shape=(1, 16, 16), image_size=16, grayscale=True),
    "audio": dict(source="tiny", item_shape=(1, 1024), sample_rate=8000, sample_size=1024, pad_last="short"),
    "text": dict(source="tiny", item_shape=(60,), text_unit="auto", text_field="text", label_field=None, vocab_size=60, min_df=1,
                 max_df=1.0, vocabulary=tuple(f"w{i}" for i in range(60))),
}
"""A tiny data section per modality, for the items its architectures are built for."""
K = 4


def _built_ins() -> list[str]:
    return [name for name in ARCHITECTURES if isinstance(ARCHITECTURES[name], Architecture)]


def _data_for(architecture: str):
    for name in MODALITIES:
        spec = MODALITIES[name]
        if architecture in spec.architectures:
            return spec, spec.data_config(**TINY_SOURCES[name])
    raise AssertionError(f"no registered modality uses architecture {architecture!r}")


def _config(architecture: str) -> tuple[DirichletVAEConfig, tuple[int, ...]]:
    spec, data = _data_for(architecture)
    entry = ARCHITECTURES[architecture]
    bag_of_words = len(data.item_shape) == 1
    loss = spec.default_reconstruction(data, architecture)[0] if bag_of_words else "mse"
    return (
        DirichletVAEConfig(
            model_size=K, architecture=architecture, architecture_options=entry.options(data.item_shape, K, data),
            reconstruction=loss, reconstruction_options=default_loss_options(loss, data.item_shape), decode_head=entry.decode_head,
            decoder_input="simplex" if bag_of_words else None,
        ),
        data.item_shape,
    )


def test_every_registered_architecture_is_used_by_a_modality():
    for name in _built_ins():
        _data_for(name)


@pytest.mark.parametrize("architecture", _built_ins())
def test_save_and_load_round_trip_to_identical_outputs(architecture, tmp_path, one_thread):
    torch.manual_seed(0)
    config, shape = _config(architecture)
    model = DirichletVAE(config)
    x = torch.rand(2, *shape) * 2 - 1
    model(x)
    model.eval().save_pretrained(tmp_path)
    loaded = DirichletVAE.from_pretrained(tmp_path)
    assert loaded.config == model.config
    with torch.no_grad():
        mean = model.encode(x).mean
        assert torch.equal(loaded.encode(x).mean, mean)
        assert torch.equal(loaded.decode(mean), model.decode(mean))


@pytest.mark.parametrize("architecture", _built_ins())
def test_gradients_reach_every_parameter(architecture, one_thread):
    """After two SGD steps: nets may start parts at zero (residual blocks as identities), which the first step moves."""
    torch.manual_seed(0)
    config, shape = _config(architecture)
    encoder, decoder = ARCHITECTURES[architecture](**config.architecture_options)
    x = torch.randn(2, *shape) * 0.3
    features = encoder(x)
    mix = {2: nn.Linear, 3: nn.Conv1d, 4: nn.Conv2d}[features.dim()]
    head = mix(features.shape[1], K) if features.dim() == 2 else mix(features.shape[1], K, 1)
    parameters = [*encoder.parameters(), *head.parameters(), *decoder.parameters()]
    optimizer = torch.optim.SGD(parameters, lr=0.1)
    for _ in range(2):
        optimizer.zero_grad()
        nn.functional.mse_loss(decoder(head(encoder(x))), x).backward()
        optimizer.step()
    for name, parameter in [*encoder.named_parameters(), *decoder.named_parameters()]:
        if parameter.requires_grad:  # a net may hold some fixed on purpose (ProdLDA's batch-norm scale)
            assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


@pytest.mark.slow
@pytest.mark.parametrize("architecture", _built_ins())
def test_learns_a_tiny_low_rank_family(architecture, one_thread):
    """Items that are random mixtures of 3 smooth patterns: 60 Adam steps must take the held-out error below half.

    Bags of words are counts drawn from mixtures of 3 topics; there 200 steps must take a tenth off the held-out multinomial NLL.
    """
    torch.manual_seed(0)
    config, shape = _config(architecture)
    model = DirichletVAE(config)
    if len(shape) == 1:
        _learns_topics(model, shape[0])
        return
    smooth = (3, shape[0], *[max(2, n // 8) for n in shape[1:]])
    patterns = nn.functional.interpolate(torch.randn(smooth), size=shape[1:], mode="bilinear" if len(shape) == 3 else "linear")

    def batch(n: int) -> torch.Tensor:
        return 0.3 * torch.einsum("nr,r...->n...", torch.rand(n, 3), patterns)

    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    held_out = batch(32)

    def error() -> float:
        with torch.no_grad():
            model.eval()
            value = nn.functional.mse_loss(model.reconstruct_in_chunks(held_out), held_out).item()
            model.train()
            return value

    before = error()
    for _ in range(60):
        loss = model.loss(batch(16), kl_weight=0.01).total
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert error() < 0.5 * before


def _learns_topics(model: DirichletVAE, vocab: int) -> None:
    topics = torch.softmax(4 * torch.randn(3, vocab), dim=1)

    def batch(n: int) -> torch.Tensor:
        theta = torch.distributions.Dirichlet(torch.full((3,), 0.3)).sample((n,))
        return torch.distributions.Multinomial(40, probs=theta @ topics).sample()

    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    held_out = batch(64)

    def nll() -> float:
        with torch.no_grad():
            model.eval()
            value = model.reconstruction_loss(model.decoder_output(model.encode(held_out).mean), held_out).mean().item()
            model.train()
            return value

    before = nll()
    for _ in range(200):
        loss = model.loss(batch(32)).total
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    assert nll() < 0.9 * before  # from uniform (40·log 60 ≈ 164 nats) toward the three topics
