import lightning as L
import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

from dirvae import DirichletVAE
from dirvae.data import digits
from dirvae.data.split import VAL_CAP, GroupedSubset, validation_split
from dirvae.training.data_module import DirvaeDataModule
from dirvae.training.module import DirichletVAEModule


class _Grouped(Dataset):
    """Items tagged with their file: file f holds ``sizes[f]`` items, item = (tensor [f, i], -1)."""

    item_shape = (2,)

    def __init__(self, sizes):
        self.items = [(f, i) for f, n in enumerate(sizes) for i in range(n)]
        self.starts = [sum(sizes[:f]) for f in range(len(sizes))]
        self.sizes = sizes

    def groups(self):
        return list(zip(self.starts, self.sizes))

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        return torch.tensor(self.items[index], dtype=torch.float32), -1


def _indices(subset):
    return list(subset.indices)


def test_image_split_is_deterministic_disjoint_and_five_percent():
    data = digits(8)
    train, val = validation_split(data, 0.05)
    again_train, again_val = validation_split(digits(8), 0.05)
    assert _indices(val) == _indices(again_val) and _indices(train) == _indices(again_train)
    assert not set(_indices(train)) & set(_indices(val))
    assert sorted(_indices(train) + _indices(val)) == list(range(len(data)))
    assert len(val) == round(0.05 * len(data))


def test_split_is_capped_and_can_be_turned_off():
    class Big(Dataset):
        def __len__(self):
            return 100_000

    _, val = validation_split(Big(), 0.05)
    assert len(val) == VAL_CAP
    data = digits(8)
    assert validation_split(data, 0.0) == (data, None)


def test_grouped_data_holds_out_whole_files():
    data = _Grouped([30, 25, 40, 20, 35])
    train, val = validation_split(data, 0.3)
    assert isinstance(train, GroupedSubset)
    train_files = {int(train[i][0][0]) for i in range(len(train))}
    val_files = {int(val[i][0][0]) for i in range(len(val))}
    assert train_files and val_files and not train_files & val_files
    assert len(train) + len(val) == len(data)
    # The training part keeps file-by-file groups for the sampler.
    for start, count in train.groups():
        assert len({int(train[i][0][0]) for i in range(start, start + count)}) == 1
    assert _indices(val) == _indices(validation_split(_Grouped([30, 25, 40, 20, 35]), 0.3)[1])


def test_one_file_cannot_be_split():
    data = _Grouped([50])
    assert validation_split(data, 0.05) == (data, None)


def test_data_module_trains_and_validates_with_a_plain_lightning_trainer(tmp_path):
    torch.manual_seed(0)
    data = DirvaeDataModule.from_dataset(digits(8), val_fraction=0.1, batch_size=32)
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(64, 5))
    decoder = nn.Sequential(nn.Linear(5, 64), nn.Unflatten(1, (1, 8, 8)))
    module = DirichletVAEModule(DirichletVAE(encoder, decoder, 5, reconstruction="bernoulli"), psnr=True)
    trainer = L.Trainer(
        accelerator="cpu", max_epochs=1, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
    )  # fmt: skip
    trainer.fit(module, datamodule=data)
    assert trainer.global_step == len(data.train_dataloader())
    metrics = trainer.callback_metrics
    for name in ("val/elbo", "val/reconstruction", "val/kl", "val/psnr"):
        assert name in metrics and torch.isfinite(metrics[name]), name
    assert float(metrics["val/elbo"]) < 0
    assert torch.isclose(metrics["val/elbo"], -(metrics["val/reconstruction"] + metrics["val/kl"]), rtol=1e-4)


def test_without_validation_data_the_val_loader_is_empty():
    data = DirvaeDataModule.from_dataset(digits(8), val_fraction=0)
    assert data.val is None and data.val_dataloader() == [] and data.validation_inputs(4) is None


@pytest.mark.parametrize("shuffle", [False, True])
def test_grouped_train_loader_keeps_files_together(shuffle):
    data = DirvaeDataModule.from_dataset(_Grouped([6, 6, 6, 6]), val_fraction=0.25, batch_size=6, shuffle=shuffle)
    for batch in data.train_dataloader():
        assert len(set(batch.data[:, 0].tolist())) == 1


def test_batches_move_to_the_device_as_batches():
    data = DirvaeDataModule.from_dataset(digits(8), val_fraction=0)
    batch = next(iter(data.train_dataloader()))
    same = data.transfer_batch_to_device(batch, torch.device("cpu"), 0)
    assert same is batch
    moved = data.transfer_batch_to_device(batch, torch.device("meta"), 0)
    assert type(moved) is type(batch) and moved.data.device.type == "meta" and moved.labels.device.type == "meta"
    assert moved.skipped == batch.skipped
    # Anything else goes through Lightning's own walk.
    assert data.transfer_batch_to_device({"x": torch.ones(2)}, torch.device("meta"), 0)["x"].device.type == "meta"
