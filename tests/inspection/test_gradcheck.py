"""The gradient checker itself: it must pass correct gradients and catch wrong ones."""

import numpy as np
import pytest

from glassnet import gradcheck
from glassnet.layers import Dense, Layer


class Square(Layer):
    """y = x², with a backward that can be made wrong on purpose."""

    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def forward(self, x, training=False):
        self._x = x
        return x * x

    def backward(self, dy):
        return self.factor * self._x * dy


def test_correct_backward_passes(rng):
    report = gradcheck.check_layer(Square(), rng.standard_normal((3, 4)))
    assert report.passed, report
    assert report["x"].relative_error < 1e-8


def test_wrong_backward_fails(rng):
    report = gradcheck.check_layer(Square(factor=2.001), rng.standard_normal((3, 4)))
    assert not report.passed
    assert "FAILED" in str(report)


def test_wrong_weight_gradient_is_caught(rng):
    class BrokenDense(Dense):
        def backward_preactivation(self, dz, input_gradient=True):
            dx = super().backward_preactivation(dz, input_gradient)
            self.W.grad *= 1.01  # off by 1%: must be detected
            return dx

    report = gradcheck.check_layer(BrokenDense(3), rng.standard_normal((5, 4)))
    assert report["x"].passed
    assert not report[report.results[1].name].passed


def test_parameters_become_float64_and_sampling_limits_checks(rng):
    layer = Dense(50)
    report = gradcheck.check_layer(layer, rng.standard_normal((4, 60)), max_checks=100)
    assert report.passed, report
    assert layer.W.value.dtype == np.float64
    assert all(r.checked <= 100 for r in report.results)


def test_dy_shape_mismatch_raises(rng):
    with pytest.raises(ValueError, match="dy"):
        gradcheck.check_layer(Square(), rng.standard_normal((3, 4)), dy=np.ones((3, 5)))
