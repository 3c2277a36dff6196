import torch
from torch import nn

from dirvae.training.optim import GradientSanitizer, make_optimizer, sanitize_gradients


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


def test_optimizer_uses_the_fused_kernel_and_matches_the_default_update():
    torch.manual_seed(0)
    fused_layer, plain_layer = nn.Linear(4, 3), nn.Linear(4, 3)
    plain_layer.load_state_dict(fused_layer.state_dict())
    fused = make_optimizer(fused_layer.parameters(), 1e-2)
    plain = torch.optim.Adam(plain_layer.parameters(), lr=1e-2, betas=(0.9, 0.99))
    assert fused.defaults["fused"] is True
    x = torch.randn(8, 4)
    for _ in range(5):
        for layer, optimizer in ((fused_layer, fused), (plain_layer, plain)):
            optimizer.zero_grad()
            layer(x).square().sum().backward()
            optimizer.step()
    torch.testing.assert_close(fused_layer.weight, plain_layer.weight)


def test_a_checkpoint_of_the_unfused_adam_resumes_fused():
    layer = nn.Linear(2, 2)
    old = torch.optim.Adam(layer.parameters(), betas=(0.9, 0.99))
    layer(torch.ones(1, 2)).sum().backward()
    old.step()
    saved = old.state_dict()
    resumed = make_optimizer(layer.parameters())
    resumed.load_state_dict(saved)
    assert resumed.param_groups[0]["fused"] is True and saved["param_groups"][0]["fused"] is None
    resumed.step()


def test_sanitize_and_clip_clips_clean_gradients_like_clip_grad_norm():
    from dirvae.training.optim import sanitize_and_clip

    torch.manual_seed(0)
    a, b = nn.Linear(4, 3), nn.Linear(4, 3)
    b.load_state_dict(a.state_dict())
    x = torch.randn(5, 4) * 10
    a(x).pow(2).sum().backward()
    b(x).pow(2).sum().backward()
    count, norm = sanitize_and_clip(a.parameters(), 1.0)
    expected = torch.nn.utils.clip_grad_norm_(b.parameters(), 1.0)
    assert count == 0 and torch.isclose(norm, expected)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p.grad, q.grad)


def test_sanitize_and_clip_zeroes_nonfinite_then_clips_to_a_finite_norm():
    from dirvae.training.optim import sanitize_and_clip

    layer = nn.Linear(2, 1)
    layer.weight.grad = torch.tensor([[float("nan"), 30.0]])
    layer.bias.grad = torch.tensor([40.0])
    count, norm = sanitize_and_clip(layer.parameters(), 1.0)
    assert count == 1 and abs(float(norm) - 50.0) < 1e-4
    total = torch.cat([p.grad.flatten() for p in layer.parameters()]).norm()
    assert abs(float(total) - 1.0) < 1e-4
