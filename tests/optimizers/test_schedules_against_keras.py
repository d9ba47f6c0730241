"""Learning-rate schedules against Keras 3.15 (torch backend) at many steps.

Keras evaluates schedules in float32, glassnet in float64: compared at rtol 1e-6 (atol 1e-8,
the float32 spacing of rates ~0.1, for rates near 0 after a cancellation). SCHEDULES
must name every schedule class in the registry, so a new one cannot go untested.
"""

from __future__ import annotations

import numpy as np
import pytest

from glassnet import registry, schedules

STEPS = [0, 1, 2, 3, 5, 7, 9, 10, 11, 13, 17, 19, 20, 25, 29, 31, 44, 60, 69, 71, 100, 151]

# name -> (class name, positional arguments, keyword arguments), the same for both
SCHEDULES = {
    "exponential": ("ExponentialDecay", (0.1, 7, 0.8), {}),
    "exponential_staircase": ("ExponentialDecay", (0.1, 7, 0.8, True), {}),
    "piecewise": ("PiecewiseConstantDecay", ([10, 20], [1.0, 0.5, 0.1]), {}),
    "cosine": ("CosineDecay", (0.1, 50, 0.1), {}),
    "cosine_warmup_positional": ("CosineDecay", (0.01, 40, 0.2, "warm", 0.1, 10), {}),
    "restarts": ("CosineDecayRestarts", (0.1, 10), {}),
    "restarts_options": ("CosineDecayRestarts", (0.1, 7), {"t_mul": 1.5, "m_mul": 0.8,
                                                         "alpha": 0.05}),
    "restarts_constant_period": ("CosineDecayRestarts", (0.1, 9, 1.0, 0.5, 0.1), {}),
    "inverse_time": ("InverseTimeDecay", (0.1, 5, 0.5), {}),
    "inverse_time_staircase": ("InverseTimeDecay", (0.1, 5, 0.5, True), {}),
    "polynomial": ("PolynomialDecay", (0.1, 30), {}),
    "polynomial_power": ("PolynomialDecay", (0.1, 30, 0.01, 2.0), {}),
    "polynomial_cycle": ("PolynomialDecay", (0.1, 30), {"end_learning_rate": 0.0,
                                                        "power": 0.5, "cycle": True}),
}


def keras_rate(keras, schedule, step):
    return float(keras.ops.convert_to_numpy(schedule(step)))


def test_cases_cover_every_schedule():
    registered = {cls.__name__ for cls in registry.table(schedules.KIND).values()}
    assert registered <= {class_name for class_name, _, _ in SCHEDULES.values()}


@pytest.mark.parametrize("case", sorted(SCHEDULES))
def test_values_match_keras(keras, case):
    class_name, args, kwargs = SCHEDULES[case]
    ours = getattr(schedules, class_name)(*args, **kwargs)
    theirs = getattr(keras.optimizers.schedules, class_name)(*args, **kwargs)
    steps = STEPS
    expected = [keras_rate(keras, theirs, s) for s in steps]
    actual = [ours(s) for s in steps]
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-8)  # float32 of ~0.1
    assert len(set(np.round(actual, 9))) > 2, "the schedule did not change"
    config = ours.get_config()
    for key, value in theirs.get_config().items():
        assert config[key] == value, key
    clone = schedules.deserialize(schedules.serialize(ours))
    assert [clone(s) for s in steps] == actual


def test_restarts_exactly_at_restart_steps():
    schedule = schedules.CosineDecayRestarts(0.1, 10, t_mul=2.0, m_mul=0.5)
    # periods start at 0, 10, 30, 70, 150: the peak, scaled by m_mul per restart
    for period, start in enumerate([0, 10, 30, 70, 150]):
        assert schedule(start) == pytest.approx(0.1 * 0.5**period, rel=1e-12)
        assert schedule(start + 1) < schedule(start)


def test_cosine_decay_positional_order_is_keras():
    schedule = schedules.CosineDecay(0.01, 40, 0.2, "warm", 0.1, 10)
    assert schedule.name == "warm"
    assert (schedule.warmup_target, schedule.warmup_steps) == (0.1, 10)


@pytest.mark.parametrize("make, argument", [
    (lambda: schedules.CosineDecayRestarts(0.1, 0), "first_decay_steps"),
    (lambda: schedules.CosineDecayRestarts(0.1, 5, t_mul=0.0), "t_mul"),
    (lambda: schedules.InverseTimeDecay(0.1, -1, 0.5), "decay_steps"),
    (lambda: schedules.InverseTimeDecay(0.1, 5, -0.5), "decay_rate"),
    (lambda: schedules.PolynomialDecay(0.1, 0), "decay_steps"),
    (lambda: schedules.PolynomialDecay(0.1, 5, end_learning_rate=-1.0), "end_learning_rate"),
])
def test_invalid_arguments_raise(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()
