"""normalize: unit vectors along an axis (Keras' keras.utils.normalize)."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet.utils import normalize


def test_rows_become_unit_vectors_and_zero_rows_stay_zero(rng):
    x = rng.normal(size=(5, 3))
    x[2] = 0
    out = normalize(x)
    norms = np.linalg.norm(out, axis=-1)
    np.testing.assert_allclose(norms[[0, 1, 3, 4]], 1.0, rtol=1e-12)
    assert norms[2] == 0
    np.testing.assert_allclose(out, x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True),
                                                   1e-300) * (norms[:, None] > 0))


def test_axis_and_order():
    x = np.array([[3.0, 1.0], [4.0, -1.0]])
    np.testing.assert_allclose(normalize(x, axis=0), [[0.6, 1 / np.sqrt(2)],
                                                      [0.8, -1 / np.sqrt(2)]])
    np.testing.assert_allclose(normalize(x, order=1), [[0.75, 0.25], [0.8, -0.2]])
    np.testing.assert_allclose(normalize([3, 4]), [0.6, 0.8])
    with pytest.raises(TypeError, match="expected numbers"):
        normalize(np.array(["a"]))
