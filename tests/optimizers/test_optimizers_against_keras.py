"""Every glassnet optimizer against Keras 3.15 (torch backend), float32, same gradients.

CASES must name every optimizer class in the registry (test_cases_cover_every_optimizer),
so a new optimizer cannot go untested. Each case runs on weights shaped like a small dense
model (kernel, bias, a 3-D kernel) for STEPS steps; the per-step gradients are fixed random
arrays; both sides start from the same float32 weights.
"""

from __future__ import annotations

import numpy as np
import pytest

from glassnet import optimizers, registry
from glassnet.layers.base import Parameter

SHAPES = [(5, 4), (4,), (2, 3, 2)]
STEPS = 6


def decay(module):
    return module.optimizers.schedules.ExponentialDecay(0.05, decay_steps=2, decay_rate=0.7)


# name -> (class name shared by glassnet and Keras, keyword arguments; a callable value is
# called with the module, for schedules)
CASES = {
    "sgd": ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "nesterov": True}),
    "rmsprop": ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5, "centered": True}),
    "adagrad": ("Adagrad", {"learning_rate": 0.1}),
    "adam": ("Adam", {"learning_rate": 0.01, "amsgrad": True}),
    "adamw": ("AdamW", {"learning_rate": decay, "weight_decay": 0.1}),
    "nadam": ("Nadam", {"learning_rate": 0.01}),
    "nadam_schedule": ("Nadam", {"learning_rate": decay, "beta_1": 0.8, "epsilon": 1e-3}),
    "adamax": ("Adamax", {"learning_rate": 0.02}),
    "adadelta": ("Adadelta", {"learning_rate": 1.0, "rho": 0.9}),
    "lion": ("Lion", {"learning_rate": 0.01, "weight_decay": 0.05}),
    "lamb": ("Lamb", {"learning_rate": 0.01}),
    "ftrl": ("Ftrl", {"learning_rate": 0.1}),
    "ftrl_regularized": ("Ftrl", {
        "learning_rate": decay, "learning_rate_power": -0.3, "initial_accumulator_value": 0.5,
        "l1_regularization_strength": 0.01, "l2_regularization_strength": 0.02,
        "l2_shrinkage_regularization_strength": 0.03, "beta": 0.1}),
    "adafactor": ("Adafactor", {"learning_rate": 0.05}),
    "adafactor_options": ("Adafactor", {"learning_rate": decay, "beta_2_decay": -0.5,
                                        "epsilon_2": 0.5, "clip_threshold": 0.3}),
    "lamb_clip": ("Lamb", {"learning_rate": 0.02, "global_clipnorm": 1.0, "epsilon": 1e-4}),
}


def build(module, case):
    class_name, kwargs = CASES[case]
    kwargs = {k: v(module) if callable(v) else v for k, v in kwargs.items()}
    return getattr(module.optimizers, class_name)(**kwargs)


def data(seed=0, steps=STEPS):
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
    grads = [[rng.normal(size=s).astype(np.float32) for s in SHAPES] for _ in range(steps)]
    return weights, grads


def run_glassnet(optimizer, params, grads):
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad[...] = g
        optimizer.apply(params)
    return [p.value.copy() for p in params]


def make_params(weights):
    return [Parameter(w.copy(), name=f"w{i}") for i, w in enumerate(weights)]


def run_keras(keras, optimizer, weights, grads):
    import torch
    variables = [keras.Variable(w.copy(), dtype="float32") for w in weights]
    for step_grads in grads:
        optimizer.apply([torch.tensor(g) for g in step_grads], variables)
    return [keras.ops.convert_to_numpy(v.value) for v in variables]


def test_cases_cover_every_optimizer():
    registered = {cls.__name__ for cls in registry.table("optimizer").values()}
    assert registered <= {class_name for class_name, _ in CASES.values()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_weights_match_keras(keras, case):
    weights, grads = data()
    expected = run_keras(keras, build(keras, case), weights, grads)
    actual = run_glassnet(build(_glassnet, case), make_params(weights), grads)
    for a, e, w in zip(actual, expected, weights):
        assert a.dtype == np.float32
        # atol: float32 rounding of a few steps on weights of size ~1 (cancellation)
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=4e-6)
        assert not np.allclose(a, w), "the optimizer did not move the weights"


@pytest.mark.parametrize("case", sorted(CASES))
def test_config_round_trip_and_keras_keys(keras, case):
    optimizer = build(_glassnet, case)
    config = optimizer.get_config()
    clone = type(optimizer).from_config(config)
    assert clone.get_config() == config
    assert optimizers.get(optimizers.serialize(optimizer)).get_config() == config
    keras_config = build(keras, case).get_config()
    for key, value in config.items():
        assert key in keras_config, key
        if not isinstance(value, dict) and key != "name":
            assert value == pytest.approx(keras_config[key]), key


@pytest.mark.parametrize("case", sorted(CASES))
def test_resume_from_state_equals_straight_run(case):
    weights, grads = data(seed=1, steps=5)
    straight = run_glassnet(build(_glassnet, case), make_params(weights), grads)
    first = build(_glassnet, case)
    params = make_params(weights)
    run_glassnet(first, params, grads[:3])
    state = first.get_state()
    second = type(first).from_config(first.get_config())
    resumed_params = make_params([p.value for p in params])
    second.set_state(state, resumed_params)
    resumed = run_glassnet(second, resumed_params, grads[3:])
    for a, b in zip(resumed, straight):
        assert a.tobytes() == b.tobytes()


@pytest.mark.parametrize("class_name", ["Nadam", "Adamax", "Adadelta", "Lion", "Lamb", "Ftrl",
                                        "Adafactor"])
def test_get_by_name_gives_keras_defaults(keras, class_name):
    optimizer = optimizers.get(class_name.lower())
    assert type(optimizer).__name__ == class_name
    keras_config = getattr(keras.optimizers, class_name)().get_config()
    for key, value in optimizer.get_config().items():
        if key == "name":           # Keras makes names unique: "lamb_2", ...
            assert keras_config[key].startswith(value)
        elif isinstance(value, float):
            assert value == pytest.approx(keras_config[key], rel=1e-7), key
        else:
            assert value == keras_config[key], key


class _GlassnetModule:
    """`build` for glassnet: the same attribute path as keras.optimizers(.schedules)."""
    optimizers = optimizers


_glassnet = _GlassnetModule
