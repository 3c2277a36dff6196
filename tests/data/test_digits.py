import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from dirvae.data import digits, make_loader
from dirvae.modalities import MODALITIES


def test_digits_are_the_bundled_set_upscaled():
    dataset = digits()
    assert len(dataset) == 1797 and dataset.item_shape == (1, 32, 32)
    assert dataset.classes == [str(d) for d in range(10)]
    assert "digits" in MODALITIES["image"].named_sets  # the image modality's embedded set
    labels = [dataset[i][1] for i in range(len(dataset))]
    assert sorted(set(labels)) == list(range(10))
    assert min(np.bincount(labels)) > 170  # about 180 of each digit
    original = load_digits()
    for index in (0, 100, 1796):
        picture, label = dataset[index]
        assert label == original.target[index]
        assert picture.shape == (1, 32, 32) and 0 <= picture.min() and picture.max() <= 1
        # upscaling keeps the ink where it was: block means match the 8x8 pixels
        blocks = picture[0].reshape(8, 4, 8, 4).mean(dim=(1, 3)).numpy()
        assert np.corrcoef(blocks.ravel(), original.images[index].ravel())[0, 1] > 0.95
        assert blocks.mean() == pytest.approx(original.images[index].mean() / 16, abs=0.02)
    assert dataset.describe(7) == "digits#0007"


def test_digits_sizes_colour_and_batching():
    small = digits(image_size=8)
    assert torch.equal(small[3][0][0], torch.from_numpy(load_digits().images[3] / 16).float())
    colour = digits(image_size=16, grayscale=False)
    picture = colour[0][0]
    assert picture.shape == (3, 16, 16) and torch.equal(picture[0], picture[2])
    batch = next(iter(make_loader(colour, 64, shuffle=True, seed=0)))
    assert batch.data.shape == (64, 3, 16, 16) and batch.skipped == 0 and batch.labels.shape == (64,)


def test_digit_classes_differ_on_average():
    dataset = digits(image_size=8)
    means = torch.stack([torch.stack([dataset[i][0] for i in range(len(dataset)) if dataset[i][1] == d]).mean(0)
                         for d in (0, 1)])
    # a 0 is a ring (ink away from the centre column), a 1 a stroke down it
    assert means[0, 0, :, 3:5].mean() < means[1, 0, :, 3:5].mean()
    with pytest.raises(Exception):
        digits(image_size=0)
