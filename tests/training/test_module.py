import lightning as L
import torch
from torch import nn

from dirvae import DirichletVAE
from dirvae.data import Batch
from dirvae.training.module import DirichletVAEModule
from dirvae.training.schedules import CyclicalKL


def _module(**kwargs):
    torch.manual_seed(0)
    encoder = nn.Sequential(nn.Flatten(), nn.Linear(16, 6))
    decoder = nn.Sequential(nn.Linear(6, 16), nn.Unflatten(1, (1, 4, 4)))
    model = DirichletVAE(encoder, decoder, 6, reconstruction="bernoulli", **kwargs)
    return DirichletVAEModule(model, learning_rate=1e-2, kl_schedule=CyclicalKL(cycle_steps=4))


def _trainer(tmp_path, steps):
    return L.Trainer(
        accelerator="cpu", max_steps=steps, logger=False, enable_checkpointing=False,
        enable_progress_bar=False, enable_model_summary=False, default_root_dir=tmp_path,
        gradient_clip_val=1.0,
    )


class _Batches(torch.utils.data.Dataset):
    """Yields Batch objects; batch 2 has a NaN input, batch 3 is empty (all files bad)."""

    def __len__(self):
        return 6

    def __getitem__(self, index):
        data = (torch.rand(4, 1, 4, 4) > 0.5).float()
        if index == 2:
            data[0, 0, 0, 0] = float("nan")
        if index == 3:
            data = data[:0]
        return Batch(data, torch.full((data.shape[0],), -1), 1 if index == 3 else 0)


def test_nonfinite_batches_are_skipped_and_counted_and_empty_batches_ignored(tmp_path):
    module = _module()
    loader = torch.utils.data.DataLoader(_Batches(), batch_size=None)
    _trainer(tmp_path, 6).fit(module, loader)
    assert module.nonfinite_losses == 1
    assert module.skipped_items == 1  # items; distinct files need a tracked dataset (test_bad_files_count_once)
    # The non-finite batch made no update: every parameter is still finite.
    assert all(torch.isfinite(p).all() for p in module.parameters())


def test_prior_is_re_estimated_after_burn_in_during_training(tmp_path):
    module = _module(prior_burn_in=2)
    loader = torch.utils.data.DataLoader([(torch.rand(1, 4, 4) > 0.5).float() for _ in range(40)], batch_size=8)
    _trainer(tmp_path, 5).fit(module, loader)
    assert int(module.model.prior_steps) == 5
    assert not torch.allclose(module.model.prior_alpha, torch.full((6,), 0.98))


def test_gradient_sanitiser_runs_before_clipping_and_counts(tmp_path):
    module = _module()

    def poison(grad):
        grad = grad.clone()
        grad[0, 0] = float("nan")
        return grad

    module.model.decode_head.weight.register_hook(poison)
    loader = torch.utils.data.DataLoader([(torch.rand(1, 4, 4) > 0.5).float() for _ in range(16)], batch_size=8)
    _trainer(tmp_path, 2).fit(module, loader)
    assert module.sanitized_gradients == 2
    assert all(torch.isfinite(p).all() for p in module.parameters())


def test_counters_survive_a_checkpoint():
    module = _module()
    module.nonfinite_losses, module.sanitized_gradients = 2, 1
    module.bad_files = {"a.png", "b.png"}
    module.track_bad_files(lambda: ["b.png", "c.png"])  # b.png met again this session counts once
    checkpoint = {}
    module.on_save_checkpoint(checkpoint)
    restored = _module()
    restored.on_load_checkpoint(checkpoint)
    assert (restored.skipped_files, restored.nonfinite_losses, restored.sanitized_gradients) == (3, 2, 1)


def test_bad_files_count_once_across_windows_epochs_and_workers(tmp_path):
    """An audio file that fails on every window, read for three epochs by two workers: one file, one warning."""
    import subprocess
    import sys
    import textwrap

    import soundfile

    from tests.data.builders import sine

    folder = tmp_path / "sounds"
    folder.mkdir()
    for name in ("a", "c"):
        soundfile.write(folder / f"{name}.wav", sine(8000, 8000), 8000)
    samples = sine(8000, 8000, 330.0)
    samples[4000:, 0] = float("nan")  # the header reads; windows 2.. of this file fail
    soundfile.write(folder / "b.wav", samples, 8000, subtype="FLOAT")
    script = textwrap.dedent(f"""
        import warnings
        from dirvae.data import AudioFolder, make_loader
        from dirvae.training.module import batch_data
        dataset = AudioFolder({str(folder)!r}, sample_size=1000, sample_rate=8000)
        loader = make_loader(dataset, 2, num_workers=2, persistent_workers=True)
        items = 0
        for epoch in range(3):
            for batch in loader:
                items += batch_data(batch)[1]
        print(items, [dataset.paths[i] for i in dataset.bad_files.indices()])
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    items, names = result.stdout.split(" ", 1)
    assert int(items) >= 3 * 4 and names.strip() == "['b.wav']"  # 4+ windows lost each epoch, one file
    assert result.stderr.count("skipping unreadable file b.wav") == 1, result.stderr


class _Recorder:
    """A logger stand-in that keeps every point it is given."""

    def __init__(self):
        self.points = []

    def log_metrics(self, metrics, step):
        self.points.append((step, dict(metrics)))


def test_curves_write_rare_scalars_only_when_they_change_and_at_epoch_ends(tmp_path, monkeypatch):
    module = _module()
    recorder = _Recorder()
    monkeypatch.setattr(DirichletVAEModule, "loggers", property(lambda self: [recorder]))
    for step in (1, 10, 20):
        module._interval.add(torch.arange(7.0))
        if step == 20:
            module.sanitized_gradients = 3
        module._write_point(step)
    module._interval.add(torch.arange(7.0))
    module._write_point(25, every_scalar=True)
    points = dict(recorder.points)
    assert "health/sanitized_gradients" in points[1] and "alpha/prior_mean" in points[1]
    assert "health/sanitized_gradients" not in points[10] and "alpha/prior_mean" not in points[10]
    assert points[20]["health/sanitized_gradients"] == 3 and "health/skipped_files" not in points[20]
    assert {"health/skipped_files", "health/sanitized_gradients", "alpha/prior_mean"} <= set(points[25])
    # The running means are in every point.
    assert all("train/loss" in metrics and "train/kl_weight" in metrics for metrics in points.values())
