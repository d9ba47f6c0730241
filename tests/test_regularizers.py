"""Regularizers: gradient checks, Keras penalties, `get`, validation, dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet import gradcheck, regularizers


def _weights_away_from_zero(rng, shape=(4, 3)):
    """|W| >= 0.1, so that central differences never straddle L1's kink at 0."""
    W = rng.uniform(0.1, 1.0, shape)
    return W * rng.choice([-1.0, 1.0], shape)


@pytest.mark.parametrize("regularizer", [
    regularizers.L1(0.03), regularizers.L2(0.05), regularizers.L1L2(l1=0.02, l2=0.07),
])
def test_gradient_matches_central_differences(regularizer, rng):
    report = gradcheck.check_regularizer(regularizer, _weights_away_from_zero(rng))
    assert report.passed, str(report)


def test_penalties_are_keras_formulas(rng):
    W = rng.standard_normal((5, 2))
    np.testing.assert_allclose(regularizers.L1(0.3)(W), 0.3 * np.abs(W).sum(), rtol=1e-14)
    np.testing.assert_allclose(regularizers.L2(0.3)(W), 0.3 * (W**2).sum(), rtol=1e-14)
    np.testing.assert_allclose(regularizers.L1L2(0.1, 0.2)(W),
                               0.1 * np.abs(W).sum() + 0.2 * (W**2).sum(), rtol=1e-14)
    np.testing.assert_allclose(regularizers.L2(0.3).gradient(W), 0.6 * W, rtol=1e-14)


def test_l2_of_lambda_over_2m_is_the_course_cost_term(rng):
    # cost term lambda / (2m) * sum(theta^2)  <->  L2(l2 = lambda / (2m)); gradient (lambda/m) theta
    theta, lam, m = rng.standard_normal((3, 3)), 0.5, 40
    reg = regularizers.L2(l2=lam / (2 * m))
    np.testing.assert_allclose(reg(theta), lam / (2 * m) * (theta**2).sum(), rtol=1e-14)
    np.testing.assert_allclose(reg.gradient(theta), lam / m * theta, rtol=1e-14)


def test_l1_gradient_is_zero_at_zero():
    W = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_array_equal(regularizers.L1(0.5).gradient(W), [[-0.5, 0.0, 0.5]])


def test_float32_stays_float32(rng):
    W = rng.standard_normal((3, 4)).astype(np.float32)
    for reg in (regularizers.L1(), regularizers.L2(), regularizers.L1L2(0.1, 0.1)):
        assert reg(W).dtype == np.float32
        assert reg.gradient(W).dtype == np.float32


def test_get():
    assert regularizers.get(None) is None
    reg = regularizers.L2(0.2)
    assert regularizers.get(reg) is reg
    l1, l2 = regularizers.get("l1"), regularizers.get("l2")
    assert isinstance(l1, regularizers.L1) and l1.l1 == 0.01
    assert isinstance(l2, regularizers.L2) and l2.l2 == 0.01
    both = regularizers.get("l1_l2")
    assert isinstance(both, regularizers.L1L2) and (both.l1, both.l2) == (0.01, 0.01)
    assert regularizers.get("L1L2").get_config() == {"l1": 0.0, "l2": 0.0}
    restored = regularizers.get(regularizers.serialize(regularizers.L1L2(0.3, 0.4)))
    assert isinstance(restored, regularizers.L1L2) and (restored.l1, restored.l2) == (0.3, 0.4)
    with pytest.raises(ValueError, match="valid names"):
        regularizers.get("l3")
    with pytest.raises(TypeError):
        regularizers.get(0.01)


@pytest.mark.parametrize("factor", [-0.1, float("nan"), float("inf"), "a lot"])
def test_bad_factors_are_rejected(factor):
    with pytest.raises(ValueError, match="l2"):
        regularizers.L2(factor)
    with pytest.raises(ValueError, match="l1"):
        regularizers.L1L2(l1=factor)


def test_lower_case_names_are_the_keras_3_classes(keras):
    """Keras 3: `regularizers.l2(1e-4)` builds an L2; `l1_l2()` defaults to zeros."""
    assert regularizers.l1 is regularizers.L1 and regularizers.l2 is regularizers.L2
    assert regularizers.l1_l2 is regularizers.L1L2
    for name in ["l1", "l2", "l1_l2"]:
        ours, theirs = getattr(regularizers, name)(), getattr(keras.regularizers, name)()
        assert ours.get_config() == pytest.approx(theirs.get_config(), rel=1e-7)
    assert regularizers.l2(1e-4).get_config() == pytest.approx(
        keras.regularizers.l2(1e-4).get_config(), rel=1e-7)
