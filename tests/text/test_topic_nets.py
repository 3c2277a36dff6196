"""The topic networks and the multinomial loss: shapes, registration, sparse input, topic-word access."""

import math

import pytest
import torch

from dirvae import DirichletVAE
from dirvae.losses import LOSSES, make_reconstruction_loss
from dirvae.nets.registry import ARCHITECTURES, build_networks
from dirvae.text import MultinomialLoss, topic_word  # registers the loss and the architecture
from dirvae.text.loop import infer_theta, word_probabilities

V, K = 30, 4


def test_registered_by_name():
    assert "multinomial" in LOSSES and "topic" in ARCHITECTURES
    assert isinstance(make_reconstruction_loss("multinomial"), MultinomialLoss)


def test_multinomial_loss_by_hand_and_on_sparse_targets():
    logits = torch.log(torch.tensor([[0.5, 0.25, 0.25]]))
    counts = torch.tensor([[2.0, 1.0, 0.0]])
    loss = MultinomialLoss()
    expected = -(2 * math.log(0.5) + math.log(0.25))
    assert loss(logits, counts).item() == pytest.approx(expected)
    assert loss(logits, counts.to_sparse()).item() == pytest.approx(expected)
    assert torch.allclose(loss.mean(logits + 3.0), torch.tensor([[0.5, 0.25, 0.25]]))


@pytest.mark.parametrize("decoder", ["prodlda", "mixture"])
@pytest.mark.parametrize("latent", ["dirichlet", "gaussian"])
def test_a_model_trains_a_step_and_exposes_topics(decoder, latent):
    torch.manual_seed(0)
    encoder, topic_decoder = build_networks(
        "topic", {"vocab_size": V, "model_size": K, "decoder": decoder, "softmax_input": latent == "gaussian"}
    )
    model = DirichletVAE(
        encoder, topic_decoder, K, latent=latent, decoder_input="simplex", reconstruction="multinomial", prior_alpha=0.5
    )
    model.decode_head.requires_grad_(False)
    counts = torch.poisson(torch.full((8, V), 0.5))
    terms = model.loss(counts.to_sparse())  # batches may stay sparse up to the encoder and the loss
    assert torch.isfinite(terms.total)
    terms.total.backward()
    assert topic_word(topic_decoder).shape == (K, V)
    if decoder == "mixture":
        assert torch.allclose(topic_word(topic_decoder).sum(1), torch.ones(K))
    import scipy.sparse as sp

    theta = infer_theta(model, sp.csr_matrix(counts.numpy()))
    assert theta.shape == (8, K) and abs(theta.sum(1) - 1).max() < 1e-5
    assert (infer_theta(model, sp.csr_matrix(counts.numpy())) == theta).all()  # deterministic
    p = word_probabilities(model, sp.csr_matrix(counts.numpy()))
    assert p.shape == (8, V) and abs(p.sum(1) - 1).max() < 1e-5


def test_encoder_rejects_a_wrong_vocabulary_size():
    encoder, _ = build_networks("topic", {"vocab_size": V, "model_size": K})
    with pytest.raises(ValueError, match="counts"):
        encoder(torch.zeros(2, V + 1))


def test_topic_word_needs_a_topic_decoder():
    with pytest.raises(TypeError):
        topic_word(torch.nn.Linear(2, 2))


def test_prodlda_without_a_background_keeps_its_parameters_and_reading():
    _, decoder = build_networks("topic", {"vocab_size": V, "model_size": K})
    assert "background" not in decoder.state_dict()  # runs saved before the option load unchanged
    decoder.eval()
    vertex = decoder(torch.eye(K))
    assert torch.allclose(topic_word(decoder), vertex, atol=1e-5)


@pytest.mark.parametrize("background", ["fixed", "init"])
def test_a_background_offsets_the_logits_and_is_read_at_the_vertex(background):
    torch.manual_seed(0)
    _, decoder = build_networks("topic", {"vocab_size": V, "model_size": K, "background": background})
    log_frequencies = torch.log(torch.linspace(1, 30, V) / 465.0)
    decoder.set_background(log_frequencies)
    centred = log_frequencies - log_frequencies.mean()
    decoder.eval()
    at_vertex = decoder(torch.eye(K))
    assert torch.allclose(topic_word(decoder), at_vertex, atol=1e-5)
    # untrained W is near zero: every topic starts at the background
    assert torch.allclose(at_vertex, centred.expand(K, V), atol=1.0)
    assert decoder.batch_norm.bias.requires_grad == (background == "init")
    with pytest.raises(ValueError, match="background"):
        build_networks("topic", {"vocab_size": V, "model_size": K, "background": "learned"})


def test_batch_norm_annealing_moves_to_the_plain_logits():
    torch.manual_seed(0)
    _, decoder = build_networks("topic", {"vocab_size": V, "model_size": K, "background": "fixed", "bn_anneal_steps": 4})
    decoder.set_background(torch.zeros(V))
    theta = torch.softmax(torch.randn(8, K), 1)
    shares = []
    for _ in range(5):
        shares.append(decoder.bn_share())
        out = decoder(theta)
        if 0.0 < decoder.bn_share() < 1.0:  # a mixture of two word distributions: normalised log-probabilities
            assert torch.allclose(torch.logsumexp(out, 1), torch.zeros(8), atol=1e-5)
    assert shares == [1.0, 0.75, 0.5, 0.25, 0.0]
    decoder.eval()
    plain = decoder.topics(torch.eye(K)) + decoder.background
    assert torch.allclose(topic_word(decoder), plain, atol=1e-5)
    assert int(decoder.state_dict()["anneal_step"]) == 5  # saved with the weights: a resumed run continues the schedule
