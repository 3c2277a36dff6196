import torch

from dirvae.training.running_means import RunningMeans


def test_means_over_the_span_then_start_again():
    means = RunningMeans(["a", "b"])
    assert means.take() == {}
    means.add(torch.tensor([1.0, 10.0]))
    means.add(torch.tensor([3.0, 20.0]))
    assert means.peek() == {"a": 2.0, "b": 15.0}
    assert means.take() == {"a": 2.0, "b": 15.0}
    means.add(torch.tensor([5.0, 0.0]))
    assert means.take() == {"a": 5.0, "b": 0.0}


def test_added_values_are_not_aliased():
    means = RunningMeans(["a"])
    value = torch.tensor([1.0])
    means.add(value)
    means.add(value)
    assert float(value) == 1.0 and means.take() == {"a": 1.0}
