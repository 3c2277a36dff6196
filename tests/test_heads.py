import torch

from dirvae.model.heads import PointwiseLinear


def test_pointwise_linear_acts_on_dim_1_at_every_position():
    head = PointwiseLinear(3, 2)
    x = torch.randn(4, 3, 5, 6)
    y = head(x)
    assert y.shape == (4, 2, 5, 6)
    torch.testing.assert_close(y[:, :, 2, 3], head(x[:, :, 2, 3]))


def test_identity_init_is_identity():
    x = torch.randn(2, 4, 3)
    torch.testing.assert_close(PointwiseLinear(4, 4, identity_init=True)(x), x)
