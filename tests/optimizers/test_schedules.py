"""Learning-rate schedules against the Keras 3 formulas and the equivalent torch schedulers,
and optimizers stepping under a schedule for 20 steps (float64, copied weights)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from glassnet import optimizers, schedules
from glassnet.layers.base import Parameter

STEPS = 20


def torch_learning_rates(torch, make_scheduler, initial_lr, steps):
    """lr used at steps 0..steps-1 by a torch scheduler stepped once per optimizer step."""
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=initial_lr)
    scheduler = make_scheduler(optimizer)
    rates = []
    for _ in range(steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.array(rates)


def rates(schedule, steps=STEPS):
    return np.array([schedule(step) for step in range(steps)])


# ----- Keras formulas (keras/src/optimizers/schedules/learning_rate_schedule.py) -----------
def test_exponential_decay_formula():
    schedule = schedules.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5)
    expected = [0.1 * 0.5 ** (step / 4) for step in range(STEPS)]
    np.testing.assert_allclose(rates(schedule), expected, rtol=1e-15)
    staircase = schedules.ExponentialDecay(0.1, decay_steps=4, decay_rate=0.5, staircase=True)
    assert [staircase(s) for s in (0, 3, 4, 7, 8)] == [0.1, 0.1, 0.05, 0.05, 0.025]


def test_piecewise_constant_boundaries_are_inclusive():
    schedule = schedules.PiecewiseConstantDecay([3, 7], [1.0, 0.5, 0.1])
    expected = [1.0 if s <= 3 else 0.5 if s <= 7 else 0.1 for s in range(STEPS)]
    np.testing.assert_array_equal(rates(schedule), expected)


def keras_cosine(step, initial, decay_steps, alpha, warmup_target=None, warmup_steps=0):
    if warmup_target is None:
        step = min(step, decay_steps)
        return initial * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * step / decay_steps))
                          + alpha)
    step = min(step, decay_steps + warmup_steps)
    if step < warmup_steps:
        return (warmup_target - initial) * (step / warmup_steps) + initial
    step -= warmup_steps
    return warmup_target * ((1 - alpha) * 0.5 * (1 + math.cos(math.pi * step / decay_steps))
                            + alpha)


@pytest.mark.parametrize("kwargs", [
    {"decay_steps": 10, "alpha": 0.1},
    {"decay_steps": 10, "alpha": 0.0, "warmup_target": 0.5, "warmup_steps": 5},
])
def test_cosine_decay_formula(kwargs):
    schedule = schedules.CosineDecay(0.2, **kwargs)
    expected = [keras_cosine(s, 0.2, **kwargs) for s in range(STEPS)]
    np.testing.assert_allclose(rates(schedule), expected, rtol=1e-15)
    assert schedule(1000) == pytest.approx(kwargs["alpha"] * (kwargs.get("warmup_target")
                                                              or 0.2))


def test_cosine_warmup_endpoints():
    schedule = schedules.CosineDecay(0.0, decay_steps=10, warmup_target=1.0, warmup_steps=4)
    assert [schedule(s) for s in (0, 2, 4)] == [0.0, 0.5, 1.0]
    assert schedule(14) == pytest.approx(0.0, abs=1e-15)


def test_schedules_accept_numpy_steps():
    schedule = schedules.ExponentialDecay(0.1, decay_steps=2, decay_rate=0.5)
    assert schedule(np.int64(2)) == schedule(np.array(2)) == 0.05


# ----- against torch schedulers -----------------------------------------------------------
def test_exponential_decay_matches_torch_exponential_lr(torch):
    ours = rates(schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.9))
    theirs = torch_learning_rates(
        torch, lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9), 0.1, STEPS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-13)    # torch multiplies step by step


def test_staircase_decay_matches_torch_step_lr(torch):
    ours = rates(schedules.ExponentialDecay(0.1, decay_steps=3, decay_rate=0.5, staircase=True))
    theirs = torch_learning_rates(
        torch, lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5), 0.1, STEPS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-15)


def test_piecewise_constant_matches_torch_multistep_lr(torch):
    """Keras switches *after* each boundary (step > b), so torch milestones are b + 1."""
    boundaries = [4, 11]
    ours = rates(schedules.PiecewiseConstantDecay(boundaries, [0.1, 0.1 * 0.3, 0.1 * 0.3**2]))
    theirs = torch_learning_rates(
        torch, lambda o: torch.optim.lr_scheduler.MultiStepLR(
            o, milestones=[b + 1 for b in boundaries], gamma=0.3), 0.1, STEPS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-14)


def test_cosine_decay_matches_torch_cosine_annealing(torch):
    """Equal for step <= decay_steps (torch rises again after, Keras stays at the floor);
    torch's recursive form drifts by ~1e-16 per step, hence atol 1e-14."""
    decay_steps = STEPS - 1
    ours = rates(schedules.CosineDecay(0.1, decay_steps=decay_steps, alpha=0.2))
    theirs = torch_learning_rates(
        torch, lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(
            o, T_max=decay_steps, eta_min=0.2 * 0.1), 0.1, STEPS)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-14)


def test_cosine_warmup_matches_torch_linear_lr(torch):
    """Warmup from 0.01 to 0.1: torch LinearLR(start_factor=0.1) on base lr 0.1."""
    warmup = 8
    ours = rates(schedules.CosineDecay(0.01, decay_steps=10, warmup_target=0.1,
                                       warmup_steps=warmup), warmup)
    theirs = torch_learning_rates(
        torch, lambda o: torch.optim.lr_scheduler.LinearLR(
            o, start_factor=0.1, end_factor=1.0, total_iters=warmup), 0.1, warmup)
    np.testing.assert_allclose(ours, theirs, rtol=1e-14)


# ----- optimizers under a schedule ------------------------------------------------------
def run_glassnet(optimizer, weights, grads):
    params = [Parameter(w.copy()) for w in weights]
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad[...] = g
        optimizer.apply(params)
    return [p.value for p in params]


def run_torch(torch, optimizer_class, kwargs, make_scheduler, weights, grads):
    tensors = [torch.tensor(w, requires_grad=True) for w in weights]
    optimizer = optimizer_class(tensors, **kwargs)
    scheduler = make_scheduler(optimizer)
    for step_grads in grads:
        for t, g in zip(tensors, step_grads):
            t.grad = torch.tensor(g)
        optimizer.step()
        scheduler.step()
    return [t.detach().numpy() for t in tensors]


@pytest.fixture
def problem(rng):
    shapes = [(5, 3), (3,)]
    weights = [rng.normal(size=s) for s in shapes]
    grads = [[rng.normal(size=s) for s in shapes] for _ in range(STEPS)]
    return weights, grads


@pytest.mark.parametrize("case", ["adam_exponential", "adamw_step", "sgd_cosine"])
def test_optimizer_under_schedule_matches_torch(torch, problem, case):
    """Adam eps 1e-12 (conventions coincide, rtol 1e-9); plain SGD rtol 1e-12."""
    weights, grads = problem
    if case == "adam_exponential":
        ours = optimizers.Adam(schedules.ExponentialDecay(0.05, 1, 0.9), epsilon=1e-12)
        theirs = (torch.optim.Adam, {"lr": 0.05, "eps": 1e-12},
                  lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9))
    elif case == "adamw_step":
        ours = optimizers.AdamW(schedules.ExponentialDecay(0.05, 4, 0.5, staircase=True),
                                weight_decay=0.1, epsilon=1e-12)
        theirs = (torch.optim.AdamW, {"lr": 0.05, "eps": 1e-12, "weight_decay": 0.1},
                  lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=4, gamma=0.5))
    else:
        ours = optimizers.SGD(schedules.CosineDecay(0.1, decay_steps=STEPS))
        theirs = (torch.optim.SGD, {"lr": 0.1},
                  lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=STEPS))
    got = run_glassnet(ours, weights, grads)
    expected = run_torch(torch, *theirs, weights, grads)
    for a, e, w in zip(got, expected, weights):
        np.testing.assert_allclose(a, e, rtol=1e-9, atol=1e-12)
        assert not np.allclose(a, w)


def test_sgd_momentum_under_schedule_is_keras_not_torch(torch, problem):
    """Keras folds lr into the velocity (v = m v - lr_t g); torch applies lr_t to the whole
    buffer. With a changing lr they differ; we follow the Keras transcription (rtol 1e-12)."""
    weights, grads = problem
    schedule = schedules.PiecewiseConstantDecay([5], [0.1, 0.01])
    got = run_glassnet(optimizers.SGD(schedule, momentum=0.9), weights, grads)
    for i, w in enumerate(weights):
        expected, v = w.copy(), np.zeros_like(w)
        for t, step_grads in enumerate(grads):
            v = 0.9 * v - schedule(t) * step_grads[i]
            expected = expected + v
        np.testing.assert_allclose(got[i], expected, rtol=1e-12)
    torch_result = run_torch(
        torch, torch.optim.SGD, {"lr": 0.1, "momentum": 0.9},
        lambda o: torch.optim.lr_scheduler.MultiStepLR(o, milestones=[6], gamma=0.1),
        weights, grads)
    assert not np.allclose(got[0], torch_result[0], rtol=1e-3)


def test_adam_under_warmup_cosine_matches_keras_formula(problem):
    weights, grads = problem
    kwargs = {"decay_steps": 10, "alpha": 0.1, "warmup_target": 0.05, "warmup_steps": 5}
    got = run_glassnet(optimizers.Adam(schedules.CosineDecay(0.0, **kwargs)), weights, grads)
    for i, w in enumerate(weights):
        expected, m, v = w.copy(), np.zeros_like(w), np.zeros_like(w)
        for t, step_grads in enumerate(grads):
            g, lr = step_grads[i], keras_cosine(t, 0.0, **kwargs)
            m = m + (g - m) * 0.1
            v = v + (g**2 - v) * 0.001
            alpha = lr * math.sqrt(1 - 0.999 ** (t + 1)) / (1 - 0.9 ** (t + 1))
            expected = expected - m * alpha / (np.sqrt(v) + 1e-7)
        np.testing.assert_allclose(got[i], expected, rtol=1e-12)


# ----- validation and serialisation -------------------------------------------------------
@pytest.mark.parametrize("make, argument", [
    (lambda: schedules.ExponentialDecay(0.1, decay_steps=0, decay_rate=0.5), "decay_steps"),
    (lambda: schedules.ExponentialDecay(-0.1, decay_steps=1, decay_rate=0.5),
     "initial_learning_rate"),
    (lambda: schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.0), "decay_rate"),
    (lambda: schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2]), "len"),
    (lambda: schedules.PiecewiseConstantDecay([2, 1], [0.1, 0.2, 0.3]), "increase"),
    (lambda: schedules.PiecewiseConstantDecay([1], [0.1, -0.2]), "values"),
    (lambda: schedules.CosineDecay(0.1, decay_steps=-5), "decay_steps"),
    (lambda: schedules.CosineDecay(0.1, decay_steps=5, alpha=1.5), "alpha"),
    (lambda: schedules.CosineDecay(0.1, decay_steps=5, warmup_target=-1.0), "warmup_target"),
    (lambda: schedules.CosineDecay(0.1, decay_steps=5, warmup_steps=-1), "warmup_steps"),
])
def test_invalid_arguments_raise(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


def test_negative_step_raises():
    with pytest.raises(ValueError, match="step"):
        schedules.CosineDecay(0.1, decay_steps=5)(-1)


@pytest.mark.parametrize("schedule", [
    schedules.ExponentialDecay(0.1, decay_steps=3, decay_rate=0.5, staircase=True),
    schedules.PiecewiseConstantDecay([3, 7], [1.0, 0.5, 0.1]),
    schedules.CosineDecay(0.0, decay_steps=10, alpha=0.1, warmup_target=0.5, warmup_steps=3),
])
def test_serialize_round_trip_and_in_optimizer_config(schedule):
    clone = schedules.deserialize(schedules.serialize(schedule))
    assert type(clone) is type(schedule) and clone.get_config() == schedule.get_config()
    np.testing.assert_array_equal(rates(clone), rates(schedule))
    optimizer = optimizers.Adam(schedule)
    config = optimizer.get_config()
    assert config["learning_rate"] == {"class_name": type(schedule).__name__,
                                       "config": schedule.get_config()}
    restored = optimizers.Adam.from_config(config)
    assert restored.get_config() == config


def test_deserialize_unknown_schedule_lists_valid_names():
    with pytest.raises(ValueError, match="CosineDecay"):
        schedules.deserialize({"class_name": "Nope", "config": {}})


def test_optimizers_module_exposes_schedules():
    assert optimizers.schedules is schedules
