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


# ----- Keras 3's names and the orthogonal regularizer ------------------------------------------
def test_every_keras_regularizer_name_exists(keras):
    public = [name for name in dir(keras.regularizers) if not name.startswith("_")]
    assert [name for name in public if not hasattr(regularizers, name)] == []
    assert regularizers.l1 is regularizers.L1 and regularizers.l2 is regularizers.L2
    for name in ("l1", "l2", "l1_l2", "orthogonal_regularizer"):
        ours = getattr(regularizers, name)().get_config()
        theirs = getattr(keras.regularizers, name)().get_config()   # Keras' l1: a float32
        assert ours.keys() == theirs.keys(), name
        assert all(ours[key] == (pytest.approx(theirs[key], rel=1e-7) if key != "mode"
                                 else theirs[key]) for key in ours), name


@pytest.mark.parametrize("mode", ["rows", "columns"])
@pytest.mark.parametrize("shape", [(4, 6), (6, 4), (3, 3)])
def test_orthogonal_penalty_matches_keras(keras, mode, shape, rng):
    W = rng.standard_normal(shape).astype(np.float32)
    W[1] = 0.0                                   # a zero row: Keras' norm bound (1e7)
    ours = regularizers.OrthogonalRegularizer(factor=0.3, mode=mode)(W)
    theirs = keras.regularizers.OrthogonalRegularizer(factor=0.3, mode=mode)(
        keras.ops.convert_to_tensor(W))
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, keras.ops.convert_to_numpy(theirs), rtol=1e-5)


@pytest.mark.parametrize("mode", ["rows", "columns"])
def test_orthogonal_gradient_matches_central_differences(mode, rng):
    regularizer = regularizers.orthogonal_regularizer(factor=0.2, mode=mode)
    report = gradcheck.check_regularizer(regularizer, rng.standard_normal((5, 4)))
    assert report.passed, str(report)


def test_orthogonal_regularizer_makes_a_kernel_orthogonal_and_checks_its_arguments(rng):
    regularizer = regularizers.OrthogonalRegularizer(factor=1.0, mode="columns")
    W = rng.standard_normal((8, 3))
    start = regularizer(W)
    for _ in range(300):
        W -= 0.5 * regularizer.gradient(W)
    assert regularizer(W) < 0.1 * start         # |P| is a kink at 0: descent hovers near it
    assert regularizers.get(regularizers.serialize(regularizer)).get_config() == \
        {"factor": 1.0, "mode": "columns"}
    with pytest.raises(ValueError, match="mode"):
        regularizers.OrthogonalRegularizer(mode="diagonal")
    with pytest.raises(ValueError, match="rank 2"):
        regularizer(np.ones((2, 2, 2)))


def test_lower_case_names_are_the_keras_3_classes(keras):
    """Keras 3: `regularizers.l2(1e-4)` builds an L2; `l1_l2()` defaults to zeros."""
    assert regularizers.l1 is regularizers.L1 and regularizers.l2 is regularizers.L2
    assert regularizers.l1_l2 is regularizers.L1L2
    for name in ["l1", "l2", "l1_l2"]:
        ours, theirs = getattr(regularizers, name)(), getattr(keras.regularizers, name)()
        assert ours.get_config() == pytest.approx(theirs.get_config(), rel=1e-7)
    assert regularizers.l2(1e-4).get_config() == pytest.approx(
        keras.regularizers.l2(1e-4).get_config(), rel=1e-7)
