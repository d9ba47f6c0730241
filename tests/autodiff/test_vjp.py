"""Every differentiable op's VJP against central differences in float64, driven by the registry.

`CASES` gives each op one or more argument lists; the test walks `autodiff.REGISTRY`, so a
new differentiable op without a case here fails `test_every_differentiable_op_has_a_case`.
Every float64 array among an op's arguments (and inside a list argument) is differentiated:
L = Σ dy * op(...) with a random dy, each element of each input perturbed by ±1e-6.
"""

from __future__ import annotations

import numpy as np
import pytest

from glassnet import autodiff, ops

TOLERANCE = 1e-6
EPS = 1e-6


def normal(rng, *shape):
    return rng.standard_normal(shape)


def positive(rng, *shape):
    return rng.uniform(0.5, 2.0, shape)


def unit(rng, *shape):
    return rng.uniform(-0.8, 0.8, shape)


def away_from_zero(rng, *shape):
    return rng.uniform(0.3, 2.0, shape) * rng.choice([-1.0, 1.0], shape)


def _unary(make=normal, **kwargs):
    return [lambda rng: ((make(rng, 3, 4),), kwargs)]


def _binary(make1=normal, make2=normal):
    return [lambda rng: ((make1(rng, 3, 4), make2(rng, 3, 4)), {}),
            lambda rng: ((make1(rng, 3, 4), make2(rng, 4)), {}),          # broadcast
            lambda rng: ((make1(rng, 3, 1), make2(rng, 1, 4)), {})]


CASES = {
    "add": _binary(), "subtract": _binary(), "multiply": _binary(),
    "divide": _binary(normal, away_from_zero),
    "divide_no_nan": [lambda rng: ((normal(rng, 3, 4), away_from_zero(rng, 3, 4)), {})],
    "power": [lambda rng: ((positive(rng, 3, 4), normal(rng, 3, 4)), {}),
              lambda rng: ((positive(rng, 3, 4), normal(rng, 4)), {})],
    "maximum": _binary(), "minimum": _binary(),
    "mod": [lambda rng: ((rng.uniform(0.1, 0.9, (3, 4)) + 2 * rng.integers(-3, 3, (3, 4)),
                          np.full((3, 4), 2.0)), {})],
    "logaddexp": _binary(), "arctan2": _binary(normal, away_from_zero),
    "hypot": _binary(away_from_zero, away_from_zero),
    "negative": _unary(), "abs": _unary(away_from_zero), "square": _unary(),
    "sqrt": _unary(positive), "rsqrt": _unary(positive), "reciprocal": _unary(away_from_zero),
    "exp": _unary(), "exp2": _unary(), "expm1": _unary(), "log": _unary(positive),
    "log1p": _unary(positive), "log2": _unary(positive), "log10": _unary(positive),
    "sin": _unary(), "cos": _unary(), "tan": _unary(unit), "arctan": _unary(),
    "arcsin": _unary(unit), "arccos": _unary(unit), "sinh": _unary(), "cosh": _unary(),
    "tanh": _unary(), "arctanh": _unary(unit), "arcsinh": _unary(), "erf": _unary(),
    "clip": [lambda rng: ((normal(rng, 3, 4) * 2, -1.0, 1.0), {}),
             lambda rng: ((normal(rng, 3, 4) * 2, np.full(4, -1.0), np.full((3, 4), 1.0)),
                          {})],
    "nan_to_num": _unary(),
    "matmul": [lambda rng: ((normal(rng, 3, 4), normal(rng, 4, 2)), {}),
               lambda rng: ((normal(rng, 2, 3, 4), normal(rng, 4, 2)), {}),
               lambda rng: ((normal(rng, 4), normal(rng, 2, 4, 3)), {}),
               lambda rng: ((normal(rng, 2, 3, 4), normal(rng, 4)), {}),
               lambda rng: ((normal(rng, 4), normal(rng, 4)), {})],
    "einsum": [lambda rng: (("ij,jk->ik", normal(rng, 3, 4), normal(rng, 4, 2)), {}),
               lambda rng: (("bij,bjk", normal(rng, 2, 3, 4), normal(rng, 2, 4, 2)), {}),
               lambda rng: (("...i,i->...", normal(rng, 2, 3, 4), normal(rng, 4)), {}),
               lambda rng: (("ij->i", normal(rng, 3, 4)), {}),
               lambda rng: (("ij,jk,kl->il", normal(rng, 2, 3), normal(rng, 3, 4),
                             normal(rng, 4, 2)), {})],
    "sum": [lambda rng: ((normal(rng, 3, 4),), {}),
            lambda rng: ((normal(rng, 3, 4, 2),), {"axis": (0, 2), "keepdims": True}),
            lambda rng: ((normal(rng, 3, 4),), {"axis": -1})],
    "mean": [lambda rng: ((normal(rng, 3, 4),), {"axis": 0}),
             lambda rng: ((normal(rng, 3, 4),), {"keepdims": True})],
    "max": [lambda rng: ((normal(rng, 3, 4),), {"axis": 1}),
            lambda rng: ((normal(rng, 3, 4),), {})],
    "min": [lambda rng: ((normal(rng, 3, 4),), {"axis": 0, "keepdims": True})],
    "prod": [lambda rng: ((normal(rng, 3, 4),), {"axis": 1}),
             lambda rng: ((normal(rng, 2, 3, 2),), {"axis": (0, 2)})],
    "var": [lambda rng: ((normal(rng, 3, 4),), {"axis": 1}),
            lambda rng: ((normal(rng, 3, 4),), {})],
    "logsumexp": [lambda rng: ((normal(rng, 3, 4),), {"axis": -1}),
                  lambda rng: ((normal(rng, 3, 4),), {"keepdims": True})],
    "cumsum": [lambda rng: ((normal(rng, 3, 4),), {"axis": 1}),
               lambda rng: ((normal(rng, 3, 4),), {})],
    "reshape": [lambda rng: ((normal(rng, 3, 4), (2, 6)), {})],
    "transpose": [lambda rng: ((normal(rng, 2, 3, 4), (2, 0, 1)), {}),
                  lambda rng: ((normal(rng, 3, 4),), {})],
    "expand_dims": [lambda rng: ((normal(rng, 3, 4), 1), {})],
    "squeeze": [lambda rng: ((normal(rng, 3, 1, 4),), {})],
    "broadcast_to": [lambda rng: ((normal(rng, 3, 1), (2, 3, 4)), {})],
    "concatenate": [lambda rng: (([normal(rng, 3, 2), normal(rng, 3, 4)],), {"axis": 1})],
    "stack": [lambda rng: (([normal(rng, 3, 4), normal(rng, 3, 4)],), {"axis": 1})],
    "tile": [lambda rng: ((normal(rng, 2, 3), (2, 1, 2)), {})],
    "repeat": [lambda rng: ((normal(rng, 2, 3), 2), {"axis": 1}),
               lambda rng: ((normal(rng, 2, 3), [1, 0, 3]), {"axis": 1}),
               lambda rng: ((normal(rng, 2, 3), 2), {})],
    "pad": [lambda rng: ((normal(rng, 2, 3), ((1, 0), (2, 1))), {}),
            lambda rng: ((normal(rng, 3, 4), ((1, 2), (2, 1))), {"mode": "reflect"}),
            lambda rng: ((normal(rng, 3, 4), 2), {"mode": "symmetric"})],
    "flip": [lambda rng: ((normal(rng, 3, 4),), {"axis": 1})],
    "roll": [lambda rng: ((normal(rng, 3, 4), 2), {"axis": 1})],
    "get_item": [lambda rng: ((normal(rng, 3, 4), (slice(None), slice(1, 3))), {}),
                 lambda rng: ((normal(rng, 3, 4), (np.array([0, 2, 0]),)), {})],
    "tril": [lambda rng: ((normal(rng, 4, 4),), {})],
    "triu": [lambda rng: ((normal(rng, 4, 4),), {"k": 1})],
    "take": [lambda rng: ((normal(rng, 3, 4), np.array([[0, 3], [3, 1]])), {"axis": 1}),
             lambda rng: ((normal(rng, 3, 4), np.array([5, 5, 0])), {})],
    "take_along_axis": [lambda rng: ((normal(rng, 3, 4), np.array([[0], [3], [3]])),
                                     {"axis": 1}),
                        lambda rng: ((normal(rng, 3, 4), np.array([[0, 2, 1, 0]])),
                                     {"axis": 0})],
    "where": [lambda rng: ((normal(rng, 3, 4) > 0, normal(rng, 3, 4), normal(rng, 4)), {})],
    "scatter": [lambda rng: ((np.array([[0, 1], [2, 3], [0, 1]]), normal(rng, 3), (3, 4)),
                             {})],
    "scatter_update": [lambda rng: ((normal(rng, 3, 4), np.array([[0, 1], [2, 3]]),
                                     normal(rng, 2)), {})],
    "cast": [lambda rng: ((normal(rng, 3, 4), "float64"), {})],
    "relu": _unary(away_from_zero), "relu6": [lambda rng: ((normal(rng, 3, 4) * 4,), {})],
    "leaky_relu": _unary(away_from_zero), "elu": _unary(away_from_zero),
    "sigmoid": _unary(), "softplus": _unary(), "log_sigmoid": _unary(), "silu": _unary(),
    "gelu": _unary() + _unary(approximate=False), "softsign": _unary(away_from_zero),
    "hard_sigmoid": [lambda rng: ((normal(rng, 3, 4) * 4,), {})],
    "softmax": _unary() + _unary(axis=0), "log_softmax": _unary() + _unary(axis=0),
    "conv": [lambda rng: ((normal(rng, 2, 5, 5, 2), normal(rng, 3, 3, 2, 3)), {}),
             lambda rng: ((normal(rng, 2, 6, 5, 2), normal(rng, 3, 2, 2, 2)),
                          {"strides": 2, "padding": "same"}),
             lambda rng: ((normal(rng, 1, 9, 2), normal(rng, 3, 2, 2)),
                          {"dilation_rate": 2, "padding": "same"}),
             lambda rng: ((normal(rng, 1, 2, 5, 5), normal(rng, 2, 2, 2, 3)),
                          {"data_format": "channels_first"})],
    "depthwise_conv": [lambda rng: ((normal(rng, 2, 5, 5, 2), normal(rng, 3, 3, 2, 2)),
                                    {"padding": "same"})],
    "conv_transpose": [lambda rng: ((normal(rng, 2, 3, 3, 2), normal(rng, 3, 3, 4, 2)),
                                    {"strides": 2}),
                       lambda rng: ((normal(rng, 1, 4, 3), normal(rng, 3, 2, 3)),
                                    {"strides": 2, "padding": "same"})],
    "max_pool": [lambda rng: ((normal(rng, 2, 4, 4, 3), 2), {}),
                 lambda rng: ((normal(rng, 1, 5, 5, 2), 3), {"strides": 2, "padding": "same"})],
    "average_pool": [lambda rng: ((normal(rng, 2, 4, 4, 3), 2), {}),
                     lambda rng: ((normal(rng, 1, 5, 5, 2), 2),
                                  {"strides": 2, "padding": "same"})],
}


def _differentiable():
    return sorted(name for name, o in autodiff.REGISTRY.items() if o.differentiable)


def test_every_differentiable_op_has_a_case():
    missing = [name for name in _differentiable() if name not in CASES]
    assert not missing, f"ops without a gradient-check case in tests/autodiff/test_vjp.py: " \
                        f"{missing}"


def test_cases_name_only_registered_ops():
    assert set(CASES) <= set(_differentiable())


def _watched(args):
    """Positions of the float64 arrays in args (a list argument gives (i, j))."""
    spots = []
    for i, arg in enumerate(args):
        if isinstance(arg, np.ndarray) and arg.dtype == np.float64:
            spots.append((i,))
        elif isinstance(arg, list):
            spots += [(i, j) for j, a in enumerate(arg)
                      if isinstance(a, np.ndarray) and a.dtype == np.float64]
    return spots


def _replace(args, spot, value):
    args = [list(a) if isinstance(a, list) else a for a in args]
    if len(spot) == 1:
        args[spot[0]] = value
    else:
        args[spot[0]][spot[1]] = value
    return args


def _get(args, spot):
    return args[spot[0]] if len(spot) == 1 else args[spot[0]][spot[1]]


def check_op(operation, args, kwargs, rng):
    spots = _watched(args)
    assert spots, f"{operation.name}: a case needs at least one float64 input"
    with autodiff.trace() as tape:
        traced = list(args)
        leaves = []
        for spot in spots:
            leaf = tape.watch(_get(args, spot))
            leaves.append(leaf)
            traced = _replace(traced, spot, leaf)
        out = operation(*traced, **kwargs)
    dy = rng.standard_normal(out.value.shape)
    tape.backward([(out, dy)])

    def loss(call_args):
        return float(np.sum(dy * np.asarray(operation(*call_args, **kwargs))))

    for spot, leaf in zip(spots, leaves):
        x = _get(args, spot)
        analytic = np.zeros_like(x) if leaf.grad is None else leaf.grad
        numeric = np.zeros_like(x)
        for index in np.ndindex(x.shape):
            plus, minus = x.copy(), x.copy()
            plus[index] += EPS
            minus[index] -= EPS
            numeric[index] = (loss(_replace(args, spot, plus))
                              - loss(_replace(args, spot, minus))) / (2 * EPS)
        scale = max(np.linalg.norm(analytic) + np.linalg.norm(numeric), 1e-12)
        error = np.linalg.norm(analytic - numeric) / scale
        assert analytic.shape == x.shape and analytic.dtype == x.dtype
        assert error < TOLERANCE, f"{operation.name} input {spot}: relative error {error:.2e}"


@pytest.mark.parametrize("name", _differentiable())
def test_vjp_matches_central_differences(name):
    operation = autodiff.REGISTRY[name]
    for k, case in enumerate(CASES.get(name, [])):
        rng = np.random.default_rng(1000 + k)
        args, kwargs = case(rng)
        check_op(operation, list(args), kwargs, rng)


def test_count_of_checked_vjps():
    """The figure reported for the issue: every differentiable op is checked."""
    assert len(_differentiable()) >= 80
    assert ops.result_type is not None
