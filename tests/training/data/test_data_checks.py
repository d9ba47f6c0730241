"""checks.check_finite: the row-sum fast path finds what the exact test finds."""

import numpy as np
import pytest

from glassnet.training.data.checks import check_finite


@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("shape", [(7,), (5, 4), (3, 2, 6)])
def test_a_non_finite_entry_is_named_wherever_it_is(dtype, bad, shape, rng):
    for flat_index in (0, int(np.prod(shape)) // 2, int(np.prod(shape)) - 1):
        x = rng.standard_normal(shape).astype(dtype)
        x.reshape(-1)[flat_index] = bad
        index = np.unravel_index(flat_index, shape)
        with pytest.raises(ValueError, match=rf"x: contains {bad} at index "
                                             rf"\({', '.join(map(str, index))},?\)"):
            check_finite(x, "x")


def test_plus_and_minus_inf_in_one_row_are_found(rng):
    x = rng.standard_normal((4, 3)).astype("float32")
    x[2, 0], x[2, 2] = np.inf, -np.inf          # the row sum is NaN: still found
    with pytest.raises(ValueError, match="contains inf at index"):
        check_finite(x, "x")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_finite_values_whose_row_sums_overflow_pass(dtype):
    big = np.finfo(dtype).max
    x = np.full((3, 4), big, dtype=dtype)       # every row sum is inf, every entry finite
    x[1] = -big
    check_finite(x, "x")
    check_finite(x.T, "x")                      # not contiguous: the exact test alone
    check_finite(np.full(5, big, dtype=dtype), "x")


def test_non_contiguous_and_integer_arrays(rng):
    x = rng.standard_normal((6, 4))
    view = x[:, ::2]
    check_finite(view, "x")
    x[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"contains nan at index \(3, 1\)"):
        check_finite(view, "x")
    check_finite(np.arange(10), "y")             # integers are always finite
    check_finite(np.zeros((0, 3), "float32"), "x")
