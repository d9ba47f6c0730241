"""Activation functions: gradient checks, PyTorch references, numerics and look-up."""

from __future__ import annotations

import math

import numpy as np
import pytest

from glassnet import activations
from glassnet.gradcheck import check_layer

# (name, constructor arguments, points where the derivative jumps: x is kept away from them)
CASES = [
    ("linear", {}, ()),
    ("sigmoid", {}, ()),
    ("tanh", {}, ()),
    ("relu", {}, (0.0,)),
    ("relu", {"max_value": 1.5}, (0.0, 1.5)),
    ("relu", {"threshold": 0.5}, (0.5,)),
    ("relu", {"negative_slope": 0.1, "max_value": 2.0, "threshold": 0.3}, (0.3, 2.0)),
    ("leaky_relu", {}, (0.0,)),
    ("leaky_relu", {"negative_slope": 0.05}, (0.0,)),
    ("elu", {}, (0.0,)),
    ("elu", {"alpha": 0.5}, (0.0,)),
    ("selu", {}, (0.0,)),
    ("gelu", {}, ()),
    ("gelu", {"approximate": True}, ()),
    ("softplus", {}, ()),
    ("softmax", {}, ()),
    ("silu", {}, ()),
]
CASE_IDS = [name + "".join(f"-{k}={v}" for k, v in kwargs.items()) for name, kwargs, _ in CASES]


def make(name: str, kwargs: dict) -> activations.ActivationFunction:
    return activations.get({"class_name": name, "config": kwargs})


def away_from(x: np.ndarray, kinks, gap: float = 1e-3) -> np.ndarray:
    """x with every entry at least `gap` from the kinks (finite differences use eps = 1e-6)."""
    for kink in kinks:
        near = np.abs(x - kink) < gap
        x[near] = kink + np.where(x[near] < kink, -2 * gap, 2 * gap)
    return x


# ----- gradient checks ------------------------------------------------------------------
@pytest.mark.parametrize(("name", "kwargs", "kinks"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize("shape", [(7,), (4, 5), (2, 3, 4)])
def test_backward_matches_finite_differences(name, kwargs, kinks, shape, rng):
    x = away_from(rng.normal(scale=2.0, size=shape), kinks)
    report = check_layer(make(name, kwargs), x)
    assert report.passed, str(report)


@pytest.mark.parametrize("axis", [0, 1, -1, -2])
def test_softmax_gradient_along_any_axis(axis, rng):
    x = rng.normal(scale=3.0, size=(3, 4, 5))
    activation = activations.Softmax(axis=axis)
    np.testing.assert_allclose(activation(x).sum(axis=axis), 1.0, rtol=1e-14)
    report = check_layer(activation, x)
    assert report.passed, str(report)


# ----- PyTorch references (float64) -----------------------------------------------------
def torch_reference(torch, name):
    F = torch.nn.functional
    return {
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "relu": F.relu,
        "leaky_relu": lambda t: F.leaky_relu(t, negative_slope=0.2),    # Keras' default 0.2
        "elu": lambda t: F.elu(t, alpha=1.0),
        "selu": F.selu,
        "gelu": lambda t: F.gelu(t, approximate="none"),
        "gelu_tanh": lambda t: F.gelu(t, approximate="tanh"),
        # torch switches to y = x above x = 20 (threshold=20); inputs here stay below 15
        "softplus": F.softplus,
        "softmax": lambda t: F.softmax(t, dim=-1),
        "silu": F.silu,
    }[name]


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu",
                                  "gelu_tanh", "softplus", "softmax", "silu"])
def test_forward_and_backward_match_pytorch(name, torch, rng):
    """Same input and upstream gradient; tolerance rtol 1e-12, atol 1e-14 (float64).

    gelu_tanh: atol 1e-13, because PyTorch evaluates 1 + tanh(u) and 1 - tanh(u)^2, which
    cancel for x << 0 (e.g. at x = -7.149 its derivative is off by 5% at -4.9e-15; ours,
    through sigmoid(2u), agrees with 50-digit mpmath). The tail is tested separately below.
    """
    x = rng.uniform(-15.0, 15.0, size=(64, 33))
    dy = rng.normal(size=x.shape)
    ours = (activations.GELU(approximate=True) if name == "gelu_tanh"
            else activations.get(name))
    y = ours.forward(x.copy())
    dx = ours.backward(dy.copy())

    x_t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    y_t = torch_reference(torch, name)(x_t)
    y_t.backward(torch.tensor(dy, dtype=torch.float64))
    atol = 1e-13 if name == "gelu_tanh" else 1e-14
    np.testing.assert_allclose(y, y_t.detach().numpy(), rtol=1e-12, atol=atol)
    np.testing.assert_allclose(dx, x_t.grad.numpy(), rtol=1e-12, atol=atol)


def test_relu_options_match_pytorch_and_keras_formula(torch, rng):
    x = away_from(rng.uniform(-4.0, 8.0, size=500), (0.0, 1.0, 6.0))
    t = torch.tensor(x, dtype=torch.float64)
    F = torch.nn.functional
    np.testing.assert_array_equal(activations.relu(x, max_value=6.0), F.relu6(t).numpy())
    np.testing.assert_array_equal(activations.relu(x, threshold=1.0),
                                  F.threshold(t, 1.0, 0.0).numpy())
    np.testing.assert_allclose(activations.relu(x, negative_slope=0.1),
                               F.leaky_relu(t, 0.1).numpy(), rtol=1e-15)
    # all three at once, from the piecewise definition in Keras' docs
    expected = np.where(x >= 6.0, 6.0, np.where(x > 1.0, x, 0.1 * (x - 1.0)))
    np.testing.assert_allclose(activations.relu(x, negative_slope=0.1, max_value=6.0,
                                                threshold=1.0), expected, rtol=1e-15)


# ----- numerics ---------------------------------------------------------------------------
EXTREMES = [-1e4, -1e3, -750.0, -100.0, -30.0, -1.0, 0.0, 1.0, 30.0, 100.0, 750.0, 1e3, 1e4]


@pytest.mark.parametrize(("name", "kwargs", "kinks"), CASES, ids=CASE_IDS)
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_no_overflow_or_warnings_at_extremes(name, kwargs, kinks, dtype):
    x = np.array([EXTREMES, EXTREMES[::-1]], dtype=dtype)     # softmax rows with +-1e4
    dy = np.full(x.shape, 0.5, dtype=dtype)
    activation = make(name, kwargs)
    with np.errstate(all="raise"):
        y = activation.forward(x)
        dx = activation.backward(dy)
        z = activation(x)
    for array in (y, dx, z):
        assert array.dtype == np.dtype(dtype), (name, array.dtype)
        assert np.all(np.isfinite(array))


def test_saturated_values_are_exact():
    x = np.array([-1e4, 1e4])
    np.testing.assert_array_equal(activations.sigmoid(x), [0.0, 1.0])
    np.testing.assert_array_equal(activations.tanh(x), [-1.0, 1.0])
    np.testing.assert_array_equal(activations.softplus(x), [0.0, 1e4])
    np.testing.assert_array_equal(activations.softmax(x), [0.0, 1.0])
    np.testing.assert_array_equal(activations.elu(x), [-1.0, 1e4])
    np.testing.assert_array_equal(activations.gelu(x), [-0.0, 1e4])
    np.testing.assert_array_equal(activations.gelu(x, approximate=True), [-0.0, 1e4])
    np.testing.assert_array_equal(activations.silu(x), [-0.0, 1e4])


def test_sigmoid_keeps_relative_precision_in_the_left_tail():
    x = np.array([-700.0, -100.0, -40.0, -20.0, -5.0, 0.5, 5.0, 40.0])
    expected = np.array([math.exp(v) / (1.0 + math.exp(v)) for v in x])
    np.testing.assert_allclose(activations.sigmoid(x), expected, rtol=2e-15, atol=0)


def test_softplus_derivative_in_the_left_tail():
    """f'(x) = sigmoid(x) ~ e^x for x << 0, computed through y without losing precision."""
    x = np.array([-700.0, -40.0, -5.0, 0.0, 5.0, 40.0])
    softplus = activations.Softplus()
    softplus.forward(x)
    expected = np.array([math.exp(v) / (1.0 + math.exp(v)) for v in x])
    np.testing.assert_allclose(softplus.backward(np.ones_like(x)), expected, rtol=1e-14, atol=0)


@pytest.mark.parametrize("name", sorted({name for name, _, _ in CASES}))
def test_float32_in_float32_out_and_integers_become_floatx(name, rng):
    function = getattr(activations, name)
    x32 = rng.normal(size=(3, 4)).astype(np.float32)
    assert function(x32).dtype == np.float32
    assert function(np.arange(-3, 3)).dtype == np.float32          # config.floatx()
    activation = activations.get(name)
    activation.forward(x32)
    assert activation.backward(np.ones_like(x32)).dtype == np.float32


def test_erf_and_erfc_match_math_to_1e13():
    x = np.concatenate([np.linspace(-30.0, 30.0, 60001), [0.0, 1e-300, -1e-12, 0.46875, 4.0]])
    erf = activations.erf(x)
    erfc = activations.erfc(x)
    erf_ref = np.array([math.erf(v) for v in x])
    erfc_ref = np.array([math.erfc(v) for v in x])
    np.testing.assert_allclose(erf, erf_ref, rtol=1e-13, atol=0)
    normal = erfc_ref > 1e-300                # below: subnormal, where relative error is moot
    np.testing.assert_allclose(erfc[normal], erfc_ref[normal], rtol=1e-13, atol=0)
    np.testing.assert_allclose(erfc[~normal], erfc_ref[~normal], atol=1e-300)


def test_erf_in_float32():
    x = np.linspace(-6.0, 6.0, 1001)
    erf32 = activations.erf(x.astype(np.float32))
    assert erf32.dtype == np.float32
    np.testing.assert_allclose(erf32, [math.erf(v) for v in x.astype(np.float32)], rtol=1e-6,
                               atol=1e-7)


def test_gelu_is_accurate_in_the_left_tail():
    """x Phi(x) at x = -10 is -7.6e-23: 1 + erf(x/sqrt 2) would round it to 0.

    rtol 1e-12: erfc(y) at y = 21 amplifies the rounding of y = -x/sqrt(2) by 2y^2 ~ 900.
    """
    x = np.array([-30.0, -10.0, -3.0, 0.7, 3.0])
    expected = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2.0)) for v in x])
    np.testing.assert_allclose(activations.gelu(x), expected, rtol=1e-12, atol=0)

    # tanh form: 0.5 (1 + tanh(u)) = 1 / (1 + exp(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3)
    x = np.array([-18.0, -7.149227284093675, -3.0, 0.7, 3.0])
    u = [math.sqrt(2 / math.pi) * (v + 0.044715 * v**3) for v in x]
    expected = np.array([v / (1.0 + math.exp(-2.0 * w)) for v, w in zip(x, u)])
    np.testing.assert_allclose(activations.gelu(x, approximate=True), expected, rtol=1e-13,
                               atol=0)


# ----- the object contract ----------------------------------------------------------------
@pytest.mark.parametrize("name", ["sigmoid", "softmax"])
def test_sigmoid_and_softmax_keep_a_reference_to_the_logits(name, rng):
    x = rng.normal(size=(4, 3))
    activation = activations.get(name)
    activation.forward(x)
    assert activation.logits is x


def test_call_is_pure_and_does_not_touch_the_cache(rng):
    x1, x2 = rng.normal(size=(2, 5, 3))
    dy = rng.normal(size=(5, 3))
    tanh = activations.Tanh()
    tanh.forward(x1)
    x2_before = x2.copy()
    tanh(x2)                                              # must not replace forward's cache
    np.testing.assert_array_equal(x2, x2_before)
    np.testing.assert_allclose(tanh.backward(dy), (1 - np.tanh(x1) ** 2) * dy, rtol=1e-14)


def test_forward_does_not_modify_input_or_dy(rng):
    for name, kwargs, _ in CASES:
        activation = make(name, kwargs)
        x = rng.normal(size=(3, 4))
        dy = rng.normal(size=(3, 4))
        x_copy, dy_copy = x.copy(), dy.copy()
        activation.forward(x)
        activation.backward(dy)
        np.testing.assert_array_equal(x, x_copy, err_msg=name)
        np.testing.assert_array_equal(dy, dy_copy, err_msg=name)


# ----- get / serialize --------------------------------------------------------------------
def test_get_returns_a_new_object_every_time():
    assert activations.get("relu") is not activations.get("relu")
    original = activations.LeakyReLU(negative_slope=0.1)
    copy = activations.get(original)
    assert copy is not original and isinstance(copy, activations.LeakyReLU)
    assert copy.negative_slope == 0.1


@pytest.mark.parametrize(("identifier", "cls"), [
    (None, activations.Linear), ("linear", activations.Linear), ("swish", activations.SiLU),
    ("silu", activations.SiLU), ("gelu", activations.GELU), (activations.relu, activations.ReLU),
    (activations.Softmax, activations.Softmax),
])
def test_get_resolves_names_and_builtin_functions(identifier, cls):
    assert type(activations.get(identifier)) is cls


def test_get_wraps_any_other_callable_for_the_tape():
    """tests/activations/test_traced_activation.py checks what the wrapper computes."""
    assert isinstance(activations.get(np.tanh), activations.TracedActivation)


def test_get_rejects_unknown_names_listing_valid_ones():
    with pytest.raises(ValueError, match="relu") as info:
        activations.get("rectifier")
    assert "softmax" in str(info.value)
    with pytest.raises(TypeError):
        activations.get(3)


def test_serialize_gives_names_for_defaults_and_dicts_otherwise():
    assert activations.serialize(activations.get("relu")) == "relu"
    assert activations.serialize(activations.get("swish")) == "silu"
    assert activations.serialize(None) == "linear"
    spec = activations.serialize(activations.GELU(approximate=True))
    assert spec == {"class_name": "GELU", "config": {"approximate": True}}
    for activation in (activations.Softmax(axis=1), activations.ReLU(max_value=6.0),
                       activations.ELU(alpha=0.3), activations.Sigmoid()):
        restored = activations.get(activations.serialize(activation))
        assert type(restored) is type(activation)
        assert restored.get_config() == activation.get_config()


def test_custom_subclass_works_in_get_and_gradcheck(rng):
    class Cube(activations.ActivationFunction):
        name = "cube"

        def __call__(self, x):
            return x ** 3

        def forward(self, x, training=False):
            self._x = x
            return x ** 3

        def backward(self, dy):
            return 3 * self._x ** 2 * dy

    cube = activations.get(Cube())
    assert isinstance(cube, Cube)
    assert check_layer(cube, rng.normal(size=(3, 4))).passed
    assert activations.serialize(cube) == {"class_name": "Cube", "config": {}}


def test_leaky_relu_rejects_a_negative_slope():
    with pytest.raises(ValueError, match="negative_slope"):
        activations.LeakyReLU(negative_slope=-0.1)


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "gelu", "tanh"])
def test_forward_overwriting_equals_forward(name, rng):
    """forward_overwriting may write y over its input (plain ReLU does); the result and the
    backward that follows are those of forward."""
    x, dy = rng.standard_normal((6, 5)), rng.standard_normal((6, 5))
    plain, overwriting = activations.get(name), activations.get(name)
    y = plain.forward(x.copy(), training=True)
    y2 = overwriting.forward_overwriting(x.copy(), training=True)
    np.testing.assert_array_equal(y, y2)
    np.testing.assert_array_equal(plain.backward(dy), overwriting.backward(dy))


def test_plain_relu_overwrites_and_a_capped_one_does_not(rng):
    x = rng.standard_normal((4, 3))
    given = x.copy()
    assert activations.get("relu").forward_overwriting(given) is given        # written over
    capped = x.copy()
    y = activations.ReLU(max_value=0.5).forward_overwriting(capped)
    np.testing.assert_array_equal(capped, x)                                # left alone
    np.testing.assert_array_equal(y, np.clip(x, 0, 0.5))
