"""The generated datasets of the seed posts: tiny_table, sqrt_mean, bmi."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet.datasets import bmi, sqrt_mean, tiny_table
from glassnet.random import set_random_seed


def test_tiny_table_is_the_classic_xor_with_a_bias_column():
    x, y = tiny_table()
    assert x.shape == (4, 3) and y.shape == (4, 1)
    assert x.dtype == np.float32 and y.dtype == np.float32
    assert x.tolist() == [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
    np.testing.assert_array_equal(y[:, 0], np.logical_xor(x[:, 0], x[:, 1]))


def test_sqrt_mean_targets_and_ranges():
    x, y = sqrt_mean(n=500, dim=7, seed=3)
    assert x.shape == (500, 7) and y.shape == (500, 1)
    assert x.dtype == np.float32 and y.dtype == np.float32
    assert x.min() >= 0 and x.max() < 1
    expected = np.sqrt(x.astype(np.float64).mean(axis=1, keepdims=True))
    np.testing.assert_allclose(y, expected, rtol=1e-6)
    assert abs(x.mean() - 0.5) < 0.02  # uniform on (0, 1)


def test_seeds_make_draws_repeatable():
    np.testing.assert_array_equal(sqrt_mean(50, seed=1)[0], sqrt_mean(50, seed=1)[0])
    assert not np.array_equal(sqrt_mean(50, seed=1)[0], sqrt_mean(50, seed=2)[0])
    np.testing.assert_array_equal(bmi(50, seed=1)[0], bmi(50, seed=1)[0])
    set_random_seed(7)
    first = bmi(20)[0]
    set_random_seed(7)
    np.testing.assert_array_equal(bmi(20)[0], first)  # seed=None follows the global seed


def test_bmi_labels_agree_with_the_features():
    x, y = bmi(n=5000, seed=0)
    assert x.shape == (5000, 2) and y.shape == (5000, 1)
    assert x.dtype == np.float32 and y.dtype == np.float32
    height, weight = x[:, 0].astype(np.float64), x[:, 1].astype(np.float64)
    np.testing.assert_array_equal(y[:, 0], (weight / height**2 >= 25).astype(np.float32))


def test_bmi_population_is_plausible():
    x, y = bmi(n=40000, seed=1)
    height, weight = x[:, 0], x[:, 1]
    # Equal mixture of N(1.62, 0.07) and N(1.76, 0.07): mean 1.69, sd sqrt(0.07^2 + 0.07^2).
    assert abs(height.mean() - 1.69) < 0.003
    assert abs(height.std() - np.hypot(0.07, 0.07)) < 0.003
    assert 1.3 < height.min() and height.max() < 2.1
    low, high = np.percentile(weight, [1, 99])
    assert 40 < low and high < 120  # kg: adults, not children or giants
    bmi_values = weight / height**2
    assert abs(np.median(bmi_values) - 25) < 0.2
    assert abs(y.mean() - 0.5) < 0.02  # median at the threshold: balanced classes


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_sizes_must_be_positive_integers(bad):
    with pytest.raises(ValueError, match="positive integer"):
        sqrt_mean(n=bad)
    with pytest.raises(ValueError, match="dim"):
        sqrt_mean(n=5, dim=bad)
    with pytest.raises(ValueError, match="n: expected"):
        bmi(n=bad)
