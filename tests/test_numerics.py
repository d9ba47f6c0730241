"""numerics: sigmoid, softmax, log_softmax, logsumexp against their naive float64 formulas
where those are safe, and finite, dtype-keeping answers where the naive ones overflow."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet import activations, numerics


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_the_overflow_free_formula(rng, dtype):
    x = (rng.standard_normal(1000) * 20).astype(dtype)
    expected = np.exp(np.minimum(x, 0)) / (1 + np.exp(-np.abs(x)))
    y = numerics.sigmoid(x)
    assert y.dtype == dtype and y.tobytes() == expected.astype(dtype).tobytes()
    np.testing.assert_allclose(y, 1 / (1 + np.exp(-x.astype(np.float64))),
                               rtol=1e-6 if dtype == np.float32 else 1e-14)


def test_sigmoid_and_softmax_are_the_activations_own(rng):
    x = rng.standard_normal((6, 5)) * 10
    assert numerics.sigmoid(x).tobytes() == activations.sigmoid(x).tobytes()
    assert numerics.softmax(x, 0).tobytes() == activations.softmax(x, axis=0).tobytes()


def test_nothing_overflows_and_underflow_is_not_an_error():
    x = np.array([[-1000.0, 0.0, 1000.0], [-800.0, -800.0, 800.0]])
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(numerics.sigmoid(x[0]), [0.0, 0.5, 1.0])
        np.testing.assert_array_equal(numerics.softmax(x), [[0, 0, 1], [0, 0, 1]])
        log_p = numerics.log_softmax(x)
        lse = numerics.logsumexp(x, axis=1)
    np.testing.assert_array_equal(log_p, [[-2000.0, -1000.0, 0.0], [-1600.0, -1600.0, 0.0]])
    np.testing.assert_array_equal(lse, [1000.0, 800.0])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_softmax_family_matches_the_naive_formulas(rng, axis):
    x = rng.standard_normal((4, 7))
    e = np.exp(x)
    np.testing.assert_allclose(numerics.softmax(x, axis), e / e.sum(axis, keepdims=True),
                               rtol=1e-14)
    np.testing.assert_allclose(numerics.log_softmax(x, axis),
                               np.log(e / e.sum(axis, keepdims=True)), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(numerics.logsumexp(x, axis), np.log(e.sum(axis)), rtol=1e-14)
    kept = numerics.logsumexp(x, axis, keepdims=True)
    assert kept.shape == np.log(e.sum(axis, keepdims=True)).shape


def test_float32_stays_float32(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    for y in (numerics.sigmoid(x), numerics.softmax(x), numerics.log_softmax(x),
              numerics.logsumexp(x)):
        assert y.dtype == np.float32


def test_logsumexp_of_infinite_rows():
    x = np.array([[-np.inf, -np.inf], [np.inf, 1.0], [1000.0, 1000.0]])
    np.testing.assert_array_equal(numerics.logsumexp(x, axis=1)[:2], [-np.inf, np.inf])
    assert numerics.logsumexp(x, axis=1)[2] == pytest.approx(1000.0 + np.log(2.0), rel=1e-15)
