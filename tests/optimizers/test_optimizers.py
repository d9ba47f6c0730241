"""Optimizers against PyTorch and against float64 NumPy transcriptions of the Keras 3 source.

Where Keras and torch differ, the test says how and compares with the Keras transcription:
  - SGD momentum: Keras v = m v - lr g, w += v; torch b = m b + g, w -= lr b. Equal for a
    constant lr (v = -lr b), compared with torch at rtol 1e-12.
  - RMSprop, Adagrad: Keras divides by sqrt(v + eps), torch by sqrt(v) + eps. Compared with
    torch at eps = 1e-20 (negligible next to v in both), and with Keras at the default eps.
  - Adam, AdamW: Keras adds eps to sqrt(v), torch to sqrt(v / (1 - beta_2^t)). Compared with
    torch at eps = 1e-12 (both negligible), and with Keras at eps = 1e-7 and at eps = 0.1
    (where torch visibly differs).
All reference runs are float64 on copied weights with the same 20 gradients.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from glassnet import optimizers, schedules
from glassnet.layers.base import Parameter

SHAPES = [(4, 3), (3,), (2, 2, 2)]
STEPS = 20


def make_weights(rng, dtype=np.float64):
    return [rng.normal(size=shape).astype(dtype) for shape in SHAPES]


def make_grads(rng, steps=STEPS, dtype=np.float64):
    return [[rng.normal(size=shape).astype(dtype) for shape in SHAPES] for _ in range(steps)]


def run_glassnet(optimizer, weights, grads):
    """Final weights after one `apply` per entry of `grads` (grads set as the model would)."""
    params = [Parameter(w.copy(), name=f"w{i}") for i, w in enumerate(weights)]
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad[...] = g
        optimizer.apply(params)
    return [p.value for p in params]


def run_torch(torch, make_optimizer, weights, grads, make_scheduler=None):
    tensors = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in weights]
    optimizer = make_optimizer(tensors)
    scheduler = make_scheduler(optimizer) if make_scheduler else None
    for step_grads in grads:
        for t, g in zip(tensors, step_grads):
            t.grad = torch.tensor(g, dtype=torch.float64)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
    return [t.detach().numpy() for t in tensors]


def assert_weights_close(actual, expected, weights, rtol, atol=0.0):
    for a, e, w in zip(actual, expected, weights):
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol)
        assert not np.allclose(a, w), "the optimizer did not move the weights"


# ----- float64 NumPy transcriptions of keras/src/optimizers/*.py (update_step) ------------
def keras_sgd(w, grads, lr, momentum=0.0, nesterov=False):
    w, v = w.copy(), np.zeros_like(w)
    for t, g in enumerate(grads):
        if momentum == 0:
            w = w - lr(t) * g
            continue
        v = v * momentum - g * lr(t)
        w = w + (v * momentum - g * lr(t) if nesterov else v)
    return w


def keras_rmsprop(w, grads, lr, rho, momentum, epsilon, centered):
    w, v, m, a = w.copy(), np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads):
        v = rho * v + (1 - rho) * g**2
        if centered:
            a = rho * a + (1 - rho) * g
            denominator = v - a**2 + epsilon
        else:
            denominator = v + epsilon
        increment = lr(t) * g / np.sqrt(denominator)
        if momentum > 0:
            m = momentum * m + increment
            w = w - m
        else:
            w = w - increment
    return w


def keras_adagrad(w, grads, lr, initial_accumulator_value, epsilon):
    w, s = w.copy(), np.full_like(w, initial_accumulator_value)
    for t, g in enumerate(grads):
        s = s + g**2
        w = w - lr(t) * g / np.sqrt(s + epsilon)
    return w


def keras_adam(w, grads, lr, beta_1, beta_2, epsilon, amsgrad=False, weight_decay=None):
    w, m, v, v_hat = w.copy(), np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)
    for t, g in enumerate(grads):
        if weight_decay is not None:
            w = w - w * weight_decay * lr(t)           # base_optimizer._apply_weight_decay
        step = t + 1
        alpha = lr(t) * np.sqrt(1 - beta_2**step) / (1 - beta_1**step)
        m = m + (g - m) * (1 - beta_1)
        v = v + (g**2 - v) * (1 - beta_2)
        if amsgrad:
            v_hat = np.maximum(v_hat, v)
            v_used = v_hat
        else:
            v_used = v
        w = w - m * alpha / (np.sqrt(v_used) + epsilon)
    return w


def keras_reference(update, weights, grads, **kwargs):
    """Run a per-array transcription on every weight array."""
    return [update(w, [step[i] for step in grads], **kwargs) for i, w in enumerate(weights)]


def constant(lr):
    return lambda step: lr


# ----- against PyTorch -------------------------------------------------------------------
TORCH_CASES = {
    "sgd": (lambda: optimizers.SGD(0.1),
            lambda torch, p: torch.optim.SGD(p, lr=0.1), 1e-12),
    "sgd_momentum": (lambda: optimizers.SGD(0.05, momentum=0.9),
                     lambda torch, p: torch.optim.SGD(p, lr=0.05, momentum=0.9), 1e-12),
    "sgd_nesterov": (lambda: optimizers.SGD(0.05, momentum=0.9, nesterov=True),
                     lambda torch, p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
                     1e-12),
    "rmsprop": (lambda: optimizers.RMSprop(0.01, rho=0.8, epsilon=1e-20),
                lambda torch, p: torch.optim.RMSprop(p, lr=0.01, alpha=0.8, eps=1e-20), 1e-12),
    "rmsprop_centered_momentum": (
        lambda: optimizers.RMSprop(0.01, rho=0.8, momentum=0.5, epsilon=1e-20, centered=True),
        lambda torch, p: torch.optim.RMSprop(p, lr=0.01, alpha=0.8, eps=1e-20, momentum=0.5,
                                             centered=True),
        1e-12),
    "adagrad": (lambda: optimizers.Adagrad(0.1, initial_accumulator_value=0.1, epsilon=1e-20),
                lambda torch, p: torch.optim.Adagrad(p, lr=0.1, initial_accumulator_value=0.1,
                                                     eps=1e-20),
                1e-12),
    "adam": (lambda: optimizers.Adam(0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-12),
             lambda torch, p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), eps=1e-12), 1e-9),
    "adam_amsgrad": (
        lambda: optimizers.Adam(0.01, epsilon=1e-12, amsgrad=True),
        lambda torch, p: torch.optim.Adam(p, lr=0.01, eps=1e-12, amsgrad=True), 1e-9),
    "adamw": (lambda: optimizers.AdamW(0.01, weight_decay=0.1, epsilon=1e-12),
              lambda torch, p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1, eps=1e-12),
              1e-9),
}


@pytest.mark.parametrize("case", sorted(TORCH_CASES))
def test_matches_torch_for_20_steps(torch, rng, case):
    """Same float64 weights and gradients; rtol as listed in TORCH_CASES (1e-9 for Adam:
    there the eps conventions differ by eps * (1 / sqrt(1 - beta_2^t) - 1) ~ 1e-11)."""
    make_ours, make_theirs, rtol = TORCH_CASES[case]
    weights, grads = make_weights(rng), make_grads(rng)
    ours = run_glassnet(make_ours(), weights, grads)
    theirs = run_torch(torch, lambda params: make_theirs(torch, params), weights, grads)
    assert_weights_close(ours, theirs, weights, rtol=rtol)


# ----- against the Keras formulas ----------------------------------------------------------
KERAS_CASES = {
    "sgd": (lambda: optimizers.SGD(0.1), keras_sgd, {"lr": constant(0.1)}),
    "sgd_nesterov": (lambda: optimizers.SGD(0.1, momentum=0.7, nesterov=True), keras_sgd,
                     {"lr": constant(0.1), "momentum": 0.7, "nesterov": True}),
    "rmsprop_default_eps": (
        lambda: optimizers.RMSprop(0.01), keras_rmsprop,
        {"lr": constant(0.01), "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7, "centered": False}),
    "rmsprop_centered_large_eps": (
        lambda: optimizers.RMSprop(0.01, momentum=0.5, epsilon=0.1, centered=True),
        keras_rmsprop,
        {"lr": constant(0.01), "rho": 0.9, "momentum": 0.5, "epsilon": 0.1, "centered": True}),
    "adagrad_large_eps": (
        lambda: optimizers.Adagrad(0.1, initial_accumulator_value=0.5, epsilon=0.1),
        keras_adagrad, {"lr": constant(0.1), "initial_accumulator_value": 0.5, "epsilon": 0.1}),
    "adam_default_eps": (lambda: optimizers.Adam(0.01), keras_adam,
                         {"lr": constant(0.01), "beta_1": 0.9, "beta_2": 0.999,
                          "epsilon": 1e-7}),
    "adam_amsgrad_large_eps": (
        lambda: optimizers.Adam(0.01, epsilon=0.1, amsgrad=True), keras_adam,
        {"lr": constant(0.01), "beta_1": 0.9, "beta_2": 0.999, "epsilon": 0.1,
         "amsgrad": True}),
    "adamw_large_eps": (
        lambda: optimizers.AdamW(0.01, weight_decay=0.2, epsilon=0.1), keras_adam,
        {"lr": constant(0.01), "beta_1": 0.9, "beta_2": 0.999, "epsilon": 0.1,
         "weight_decay": 0.2}),
}


@pytest.mark.parametrize("case", sorted(KERAS_CASES))
def test_matches_keras_formula_for_20_steps(rng, case):
    """float64, rtol 1e-12: only the order of floating-point operations differs."""
    make_ours, reference, kwargs = KERAS_CASES[case]
    weights, grads = make_weights(rng), make_grads(rng)
    ours = run_glassnet(make_ours(), weights, grads)
    expected = keras_reference(reference, weights, grads, **kwargs)
    assert_weights_close(ours, expected, weights, rtol=1e-12)


def test_adam_epsilon_is_keras_epsilon_hat_not_torch_eps(torch, rng):
    """With a large epsilon the conventions visibly differ: we follow Keras, not torch."""
    weights, grads = make_weights(rng), make_grads(rng)
    ours = run_glassnet(optimizers.Adam(0.01, epsilon=0.1), weights, grads)
    theirs = run_torch(torch, lambda p: torch.optim.Adam(p, lr=0.01, eps=0.1), weights, grads)
    assert not np.allclose(ours[0], theirs[0], rtol=1e-3)
    keras = keras_reference(keras_adam, weights, grads, lr=constant(0.01), beta_1=0.9,
                            beta_2=0.999, epsilon=0.1)
    np.testing.assert_allclose(ours[0], keras[0], rtol=1e-12)


def test_adam_weight_decay_equals_adamw(rng):
    weights, grads = make_weights(rng), make_grads(rng, steps=5)
    adam = run_glassnet(optimizers.Adam(0.01, weight_decay=0.3), weights, grads)
    adamw = run_glassnet(optimizers.AdamW(0.01, weight_decay=0.3), weights, grads)
    plain = run_glassnet(optimizers.Adam(0.01), weights, grads)
    for a, b, c in zip(adam, adamw, plain):
        np.testing.assert_array_equal(a, b)
        assert not np.allclose(a, c)


def test_exclude_from_weight_decay_by_name(rng):
    weights, grads = make_weights(rng), make_grads(rng, steps=3)
    excluded = optimizers.AdamW(0.01, weight_decay=0.3)
    excluded.exclude_from_weight_decay(var_names=["w1"])
    ours = run_glassnet(excluded, weights, grads)
    decayed = run_glassnet(optimizers.AdamW(0.01, weight_decay=0.3), weights, grads)
    plain = run_glassnet(optimizers.Adam(0.01), weights, grads)
    np.testing.assert_array_equal(ours[1], plain[1])       # "w1" skipped
    np.testing.assert_array_equal(ours[0], decayed[0])     # "w0" decayed


# ----- clipping ----------------------------------------------------------------------------
def clipped_sgd_step(grads, **clip):
    """The gradients SGD(lr=1) actually applied: w_before - w_after."""
    params = [Parameter(np.zeros_like(g)) for g in grads]
    for p, g in zip(params, grads):
        p.grad[...] = g
    optimizers.SGD(1.0, **clip).apply(params)
    return [-p.value for p in params]


def test_clipnorm_clips_each_gradient_separately():
    big, small = np.array([3.0, 4.0]), np.array([0.3, 0.4])      # norms 5 and 0.5
    applied = clipped_sgd_step([big, small], clipnorm=1.0)
    np.testing.assert_allclose(applied[0], big / 5.0, rtol=1e-15)
    np.testing.assert_array_equal(applied[1], small)


def test_clipnorm_leaves_zero_gradient_finite():
    applied = clipped_sgd_step([np.zeros(3)], clipnorm=1.0)
    np.testing.assert_array_equal(applied[0], np.zeros(3))


def test_global_clipnorm_matches_torch_clip_grad_norm(torch, rng):
    grads = [rng.normal(size=shape) * 3 for shape in SHAPES]
    applied = clipped_sgd_step(grads, global_clipnorm=1.0)
    total = math.sqrt(sum(float(np.sum(a**2)) for a in applied))
    np.testing.assert_allclose(total, 1.0, rtol=1e-12)
    tensors = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for t, g in zip(tensors, grads):
        t.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_norm_(tensors, max_norm=1.0)
    for a, t in zip(applied, tensors):
        # torch divides by (norm + 1e-6): relative difference ~1e-6 / norm
        np.testing.assert_allclose(a, t.grad.numpy(), rtol=1e-6)


def test_global_clipnorm_below_threshold_is_identity(rng):
    grads = [rng.normal(size=shape) * 1e-3 for shape in SHAPES]
    for a, g in zip(clipped_sgd_step(grads, global_clipnorm=1.0), grads):
        np.testing.assert_array_equal(a, g)


def test_global_clipnorm_with_infinite_gradient_gives_nan():
    applied = clipped_sgd_step([np.array([np.inf, 1.0]), np.array([1.0])], global_clipnorm=1.0)
    assert np.isnan(applied[1]).all()


def test_clipvalue_matches_torch_clip_grad_value(torch, rng):
    grads = [rng.normal(size=shape) for shape in SHAPES]
    applied = clipped_sgd_step(grads, clipvalue=0.5)
    tensors = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for t, g in zip(tensors, grads):
        t.grad = torch.tensor(g)
    torch.nn.utils.clip_grad_value_(tensors, clip_value=0.5)
    for a, t in zip(applied, tensors):
        np.testing.assert_array_equal(a, t.grad.numpy())
    assert max(float(np.abs(g).max()) for g in grads) > 0.5   # something was clipped


@pytest.mark.parametrize("clips", [{"clipnorm": 1.0, "clipvalue": 1.0},
                                   {"clipnorm": 1.0, "global_clipnorm": 1.0},
                                   {"clipvalue": 1.0, "global_clipnorm": 1.0}])
def test_two_clip_options_raise(clips):
    with pytest.raises(ValueError, match="only one of"):
        optimizers.Adam(**clips)


# ----- state, dtype, in-place ----------------------------------------------------------------
STATEFUL = {
    "sgd_momentum": lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    "rmsprop": lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    "adagrad": lambda: optimizers.Adagrad(0.1),
    "adam_amsgrad": lambda: optimizers.Adam(0.01, amsgrad=True),
    "adamw_schedule": lambda: optimizers.AdamW(
        schedules.ExponentialDecay(0.01, decay_steps=2, decay_rate=0.5), weight_decay=0.1),
}


def float32_params(rng):
    params = [Parameter(w, name=f"w{i}") for i, w in enumerate(make_weights(rng, np.float32))]
    for p in params:
        p.grad[...] = rng.normal(size=p.shape)
    return params


@pytest.mark.parametrize("case", sorted(STATEFUL))
def test_state_round_trip_gives_bitwise_identical_next_step(rng, case):
    params = float32_params(rng)
    original = STATEFUL[case]()
    for _ in range(5):
        original.apply(params)
    state, config = original.get_state(), original.get_config()
    clone_params = [Parameter(p.value.copy(), name=p.name) for p in params]
    for p, q in zip(params, clone_params):
        q.grad[...] = p.grad
    restored = type(original).from_config(config)
    restored.set_state(state, clone_params)

    original.apply(params)
    restored.apply(clone_params)
    for p, q in zip(params, clone_params):
        assert p.value.tobytes() == q.value.tobytes()
    after, after_restored = original.get_state(), restored.get_state()
    assert after.keys() == after_restored.keys()
    for key in after:
        assert after[key].tobytes() == after_restored[key].tobytes(), key
    assert restored.iterations == 6


def test_state_contents_and_learning_rate_restored(rng):
    params = float32_params(rng)
    optimizer = optimizers.Adam(0.01)
    optimizer.apply(params)
    optimizer.learning_rate = 0.003                      # as ReduceLROnPlateau would
    state = optimizer.get_state()
    expected = {"iterations", "learning_rate"} | {
        f"{slot}/{i}" for slot in ("momentum", "velocity") for i in range(len(SHAPES))}
    assert set(state) == expected
    assert state["iterations"].dtype == np.int64 and state["iterations"] == 1
    fresh = optimizers.Adam(0.01)
    fresh.set_state(state, params)
    assert fresh.learning_rate == 0.003 and fresh.iterations == 1


@pytest.mark.parametrize("corrupt, message", [
    (lambda s: s.pop("velocity/1"), "missing keys"),
    (lambda s: s.update({"velocity_hat/0": np.zeros((4, 3))}), "unexpected keys"),
    (lambda s: s.update({"momentum/0": np.zeros((3, 4))}), r"momentum/0.*expected shape"),
    (lambda s: s.update({"iterations": np.array(1.5)}), "iterations"),
    (lambda s: [s.pop(k) for k in list(s) if "/" in k], "missing keys"),
])
def test_set_state_rejects_bad_state_and_keeps_old_one(rng, corrupt, message):
    params = float32_params(rng)
    optimizer = optimizers.Adam(0.01)
    optimizer.apply(params)
    state = optimizer.get_state()
    corrupt(state)
    before = optimizer.get_state()
    with pytest.raises(ValueError, match=message):
        optimizer.set_state(state, params)
    for key, value in optimizer.get_state().items():
        np.testing.assert_array_equal(value, before[key])


def test_state_of_never_stepped_optimizer_round_trips(rng):
    params = float32_params(rng)
    clone_params = [Parameter(p.value.copy(), name=p.name) for p in params]
    for p, q in zip(params, clone_params):
        q.grad[...] = p.grad
    restored = optimizers.Adam(0.01)
    restored.set_state(optimizers.Adam(0.02).get_state(), clone_params)
    assert not restored.built and restored.learning_rate == 0.02
    optimizers.Adam(0.02).apply(params)
    restored.apply(clone_params)
    for p, q in zip(params, clone_params):
        assert p.value.tobytes() == q.value.tobytes()


ALL_OPTIMIZERS = {
    "sgd": lambda: optimizers.SGD(momentum=0.9, nesterov=True),
    "rmsprop": lambda: optimizers.RMSprop(momentum=0.9, centered=True),
    "adagrad": lambda: optimizers.Adagrad(),
    "adam": lambda: optimizers.Adam(amsgrad=True),
    "adamw": lambda: optimizers.AdamW(global_clipnorm=1.0),
    "nadam": lambda: optimizers.Nadam(),
    "adamax": lambda: optimizers.Adamax(),
    "adadelta": lambda: optimizers.Adadelta(),
    "lion": lambda: optimizers.Lion(),
    "lamb": lambda: optimizers.Lamb(),
    "ftrl": lambda: optimizers.Ftrl(l1_regularization_strength=0.01),
    "adafactor": lambda: optimizers.Adafactor(),
}


@pytest.mark.parametrize("case", sorted(ALL_OPTIMIZERS))
def test_float32_updates_in_place_without_upcast(rng, case):
    params = float32_params(rng)
    arrays = [p.value for p in params]
    before = [a.copy() for a in arrays]
    optimizer = ALL_OPTIMIZERS[case]()
    optimizer.apply(params)
    optimizer.apply(params)
    for p, array, old in zip(params, arrays, before):
        assert p.value is array and p.value.dtype == np.float32
        assert not np.array_equal(array, old)
    slots = {k: v for k, v in optimizer.get_state().items() if "/" in k}
    assert slots and all(v.dtype == np.float32 for v in slots.values())


def test_apply_with_different_parameters_raises(rng):
    optimizer = optimizers.Adam()
    optimizer.apply(float32_params(rng))
    with pytest.raises(ValueError, match="was built for 3 parameters"):
        optimizer.apply(float32_params(rng)[:2])


# ----- hyper-parameters, config, get ------------------------------------------------------
@pytest.mark.parametrize("make, argument", [
    (lambda: optimizers.SGD(-0.1), "learning_rate"),
    (lambda: optimizers.SGD(momentum=1.5), "momentum"),
    (lambda: optimizers.SGD(momentum=-0.1), "momentum"),
    (lambda: optimizers.RMSprop(rho=1.0), "rho"),
    (lambda: optimizers.RMSprop(epsilon=0.0), "epsilon"),
    (lambda: optimizers.RMSprop(momentum=2.0), "momentum"),
    (lambda: optimizers.Adagrad(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    (lambda: optimizers.Adagrad(epsilon=-1e-7), "epsilon"),
    (lambda: optimizers.Adam(beta_1=1.0), "beta_1"),
    (lambda: optimizers.Adam(beta_2=-0.5), "beta_2"),
    (lambda: optimizers.Adam(epsilon=0.0), "epsilon"),
    (lambda: optimizers.Adam(learning_rate=float("nan")), "learning_rate"),
    (lambda: optimizers.AdamW(weight_decay=-0.1), "weight_decay"),
    (lambda: optimizers.AdamW(weight_decay=None), "weight_decay"),
    (lambda: optimizers.Adam(clipnorm=0.0), "clipnorm"),
    (lambda: optimizers.Adam(clipvalue=-1.0), "clipvalue"),
    (lambda: optimizers.Adam(global_clipnorm=float("inf")), "global_clipnorm"),
])
def test_invalid_hyper_parameters_raise(make, argument):
    with pytest.raises(ValueError, match=argument):
        make()


def test_keras_defaults():
    sgd, rms, ada, adam, adamw = (optimizers.get(name) for name in
                                  ("sgd", "rmsprop", "adagrad", "adam", "adamw"))
    assert (sgd.learning_rate, sgd.momentum, sgd.nesterov) == (0.01, 0.0, False)
    assert (rms.learning_rate, rms.rho, rms.momentum, rms.epsilon, rms.centered) == (
        0.001, 0.9, 0.0, 1e-7, False)
    assert (ada.learning_rate, ada.initial_accumulator_value, ada.epsilon) == (0.001, 0.1, 1e-7)
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon, adam.amsgrad) == (
        0.001, 0.9, 0.999, 1e-7, False)
    assert (adamw.learning_rate, adamw.weight_decay) == (0.001, 0.004)


def test_get_resolves_names_instances_and_dicts():
    assert type(optimizers.get("adam")) is optimizers.Adam
    assert type(optimizers.get("RMSProp")) is optimizers.RMSprop
    assert type(optimizers.get("AdamW")) is optimizers.AdamW
    instance = optimizers.SGD(0.5)
    assert optimizers.get(instance) is instance
    clone = optimizers.get(optimizers.serialize(optimizers.SGD(0.5, momentum=0.25)))
    assert type(clone) is optimizers.SGD and clone.momentum == 0.25


def test_get_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown optimizer 'adamx'.*adam.*sgd"):
        optimizers.get("adamx")
    with pytest.raises(TypeError):
        optimizers.get(3)


@pytest.mark.parametrize("case", sorted(STATEFUL))
def test_config_round_trip(case):
    optimizer = STATEFUL[case]()
    clone = type(optimizer).from_config(optimizer.get_config())
    assert clone.get_config() == optimizer.get_config()


def test_learning_rate_property_and_setter(rng):
    optimizer = optimizers.SGD(schedules.ExponentialDecay(1.0, decay_steps=1, decay_rate=0.5))
    assert optimizer.learning_rate == 1.0
    optimizer.apply(float32_params(rng))
    assert optimizer.learning_rate == 0.5                  # schedule at iterations = 1
    with pytest.raises(TypeError, match="LearningRateSchedule"):
        optimizer.learning_rate = 0.1
    plain = optimizers.SGD(0.1)
    plain.learning_rate = 0.05
    assert plain.learning_rate == 0.05 and plain.get_config()["learning_rate"] == 0.05
    with pytest.raises(ValueError, match="learning_rate"):
        plain.learning_rate = -1.0


@pytest.mark.parametrize("make", [
    lambda: optimizers.SGD(0.1), lambda: optimizers.SGD(0.1, momentum=0.9),
    lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
    lambda: optimizers.RMSprop(0.01, momentum=0.5, centered=True),
    lambda: optimizers.Adagrad(0.1), lambda: optimizers.Adam(0.01),
    lambda: optimizers.Adam(0.01, amsgrad=True), lambda: optimizers.AdamW(0.01),
    lambda: optimizers.Nadam(0.01), lambda: optimizers.Adamax(0.01),
    lambda: optimizers.Adadelta(1.0), lambda: optimizers.Lion(0.01),
    lambda: optimizers.Ftrl(0.1, l1_regularization_strength=0.01,
                            l2_shrinkage_regularization_strength=0.1),
])
def test_block_by_block_update_equals_the_whole_array_update(make, rng):
    """A parameter larger than UPDATE_BLOCK is updated in flat blocks with a shared scratch:
    bit for bit what the same update on whole arrays gives (elementwise=False)."""
    shape = (3, optimizers.UPDATE_BLOCK // 2 + 5)        # 1.5 blocks and a bit
    values = rng.standard_normal(shape).astype("float32")
    blocked, whole = make(), make()
    whole.elementwise = False
    params = {name: [Parameter(values.copy()), Parameter(values[0, :7].copy())]
              for name in ("blocked", "whole")}
    for _ in range(3):
        grads = [rng.standard_normal(shape).astype("float32"),
                 rng.standard_normal(7).astype("float32")]
        for name, optimizer in (("blocked", blocked), ("whole", whole)):
            for param, grad in zip(params[name], grads):
                param.grad = grad.copy()
            optimizer.apply(params[name])
    for a, b in zip(params["blocked"], params["whole"]):
        np.testing.assert_array_equal(a.value, b.value)
    for key, value in blocked.get_state().items():
        np.testing.assert_array_equal(value, whole.get_state()[key])


def test_a_non_elementwise_optimizer_gets_whole_parameters(rng):
    seen = []

    class LayerwiseSGD(optimizers.SGD):
        elementwise = False                      # e.g. LARS: a norm over the whole weight

        def update_step(self, index, w, g, learning_rate):
            seen.append(w.shape)
            super().update_step(index, w, g, learning_rate)

    param = Parameter(rng.standard_normal((4, optimizers.UPDATE_BLOCK)))
    param.grad = np.ones_like(param.value)
    LayerwiseSGD(0.1).apply([param])
    assert seen == [(4, optimizers.UPDATE_BLOCK)]
