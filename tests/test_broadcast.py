import pytest
import torch

from dirvae import broadcast


def test_seed_example_outer_product_over_i_and_j_with_swapped_output_axes():
    x = torch.randn(3, 4, 5)  # x[i, :, j]
    y = torch.randn(3, 6)  # y[i, :]
    result = broadcast(torch.outer, (x, "i : j"), (y, "i :"), out="i j 1 0")
    assert result.shape == (3, 5, 6, 4)
    for i in range(3):
        for j in range(5):
            torch.testing.assert_close(result[i, j], torch.outer(x[i, :, j], y[i]).T)


def test_gradients_flow_through_broadcast():
    x = torch.randn(2, 3, requires_grad=True)
    w = torch.randn(3, 3)
    broadcast(lambda v: w @ v, (x, "b :"), out="b 0").sum().backward()
    torch.testing.assert_close(x.grad, w.sum(0).expand(2, 3))


def test_size_mismatch_and_bad_output_order_are_errors():
    with pytest.raises(ValueError, match="size"):
        broadcast(torch.add, (torch.ones(2, 3), "i :"), (torch.ones(4, 3), "i :"), out="i 0")
    with pytest.raises(ValueError, match="exactly once"):
        broadcast(torch.add, (torch.ones(2, 3), "i :"), (torch.ones(2, 3), "i :"), out="i")
