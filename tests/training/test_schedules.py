import pytest

from dirvae.training.schedules import ConstantKL, CyclicalKL, make_kl_schedule


def test_cyclical_ramps_then_holds_then_restarts():
    schedule = CyclicalKL(cycle_steps=10, ratio=0.5, max_weight=2.0)
    assert schedule(0) == 0.0
    assert schedule(2) == pytest.approx(0.8)
    assert schedule(5) == 2.0 and schedule(9) == 2.0
    assert schedule(10) == 0.0
    assert schedule(12) == schedule(2)


def test_constant_and_factory():
    assert ConstantKL(0.3)(12345) == 0.3
    assert isinstance(make_kl_schedule("cyclical", cycle_steps=5), CyclicalKL)
    with pytest.raises(ValueError):
        make_kl_schedule("sawtooth")
    with pytest.raises(ValueError):
        CyclicalKL(cycle_steps=0)


def test_linear_warmup_ramps_once_then_holds():
    from dirvae.training.schedules import LinearWarmupKL

    schedule = make_kl_schedule("linear", weight=2.0, warmup_steps=10)
    assert isinstance(schedule, LinearWarmupKL)
    assert schedule(0) == 0.0 and schedule(5) == pytest.approx(1.0)
    assert schedule(10) == 2.0 and schedule(10_000) == 2.0
    assert make_kl_schedule("linear", cycle_steps=4)(2) == pytest.approx(0.5)  # defaults to the cycle length
    with pytest.raises(ValueError):
        LinearWarmupKL(0)
