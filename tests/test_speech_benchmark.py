"""benchmarks/speech.py's diagnosis: where a reconstruction's log-mel L1 comes from (no espeak-ng needed)."""

import math

import pytest
import torch

from tests.conftest import load_benchmark


@pytest.fixture(scope="module")
def speech():
    return load_benchmark("speech")


def _sentence() -> torch.Tensor:
    """A 150 Hz harmonic tone, a pause of digital silence, the tone again."""
    t = torch.arange(16000, dtype=torch.float64) / 16000
    tone = sum(0.1 / k * torch.sin(2 * math.pi * 150 * k * t) for k in range(1, 20))
    tone[6000:10000] = 0.0
    return tone


def test_identical_output_costs_nothing_anywhere(speech):
    x = _sentence()
    parts = speech.diagnosis(x, x.clone())
    assert 0.1 < parts["quiet_frames"] < 0.3  # the pause, not the tone
    assert parts["voiced_l1"] == parts["quiet_l1"] == 0.0 and parts["low_voiced_bias"] == 0.0


def test_hiss_in_the_pause_is_charged_to_the_quiet_frames(speech):
    x = _sentence()
    hiss = 3e-4 * torch.randn(x.numel(), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    output = x + torch.where(x == 0, hiss, torch.zeros_like(x))
    parts = speech.diagnosis(x, output)
    total = speech.metrics(x, output)["mel_l1"]
    assert parts["quiet_share"] > 0.8 and parts["quiet_l1"] > 3.0 and parts["high_quiet_bias"] > 3.0
    assert parts["quiet_l1"] * parts["quiet_frames"] == pytest.approx(parts["quiet_share"] * total, rel=0.05)


def test_budget_learning_rate_anneals_by_the_share_of_the_budget_spent(speech):
    assert speech.annealed(3e-3, 0.7) == 3e-3  # constant, as every run before the option
    assert speech.annealed(3e-3, 0.0, "cosine") == pytest.approx(3e-3)
    assert speech.annealed(3e-3, 0.5, "cosine") == pytest.approx(3e-3 * 0.55)
    assert speech.annealed(3e-3, 1.3, "cosine") == speech.annealed(3e-3, 1.0, "linear") == pytest.approx(3e-4)
