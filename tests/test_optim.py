import torch
from torch import nn

from dirvae.optim import GradientSanitizer, make_optimizer, sanitize_gradients


def test_sanitizer_zeroes_and_counts_nonfinite_entries_then_clips():
    layer = nn.Linear(3, 2)
    layer.weight.grad = torch.tensor([[float("nan"), 1.0, 2.0], [float("inf"), 0.0, 5.0]])
    layer.bias.grad = torch.tensor([-float("inf"), 3.0])
    sanitizer = GradientSanitizer(max_norm=1.0)
    norm = sanitizer(layer.parameters())
    assert sanitizer.last_nonfinite == 3 and sanitizer.total_nonfinite == 3
    assert torch.isfinite(norm)
    total = torch.cat([p.grad.flatten() for p in layer.parameters()]).norm()
    assert abs(float(total) - 1.0) < 1e-4
    assert float(layer.weight.grad[0, 0]) == 0.0


def test_sanitize_counts_nothing_on_clean_gradients():
    layer = nn.Linear(2, 2)
    layer(torch.ones(1, 2)).sum().backward()
    before = layer.weight.grad.clone()
    assert sanitize_gradients(layer.parameters()) == 0
    torch.testing.assert_close(layer.weight.grad, before)


def test_optimizer_is_adam_with_seed_betas():
    optimizer = make_optimizer(nn.Linear(2, 2).parameters(), 1e-3)
    assert isinstance(optimizer, torch.optim.Adam)
    assert optimizer.defaults["betas"] == (0.9, 0.99)
