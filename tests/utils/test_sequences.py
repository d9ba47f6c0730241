"""pad_sequences: Keras' examples and arguments."""

from __future__ import annotations

import numpy as np
import pytest

from glassnet.utils import pad_sequences

SEQUENCES = [[1], [2, 3], [4, 5, 6]]


def test_keras_docstring_examples():
    np.testing.assert_array_equal(pad_sequences(SEQUENCES), [[0, 0, 1], [0, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(SEQUENCES, value=-1),
                                  [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(SEQUENCES, padding="post"),
                                  [[1, 0, 0], [2, 3, 0], [4, 5, 6]])
    np.testing.assert_array_equal(pad_sequences(SEQUENCES, maxlen=2), [[0, 1], [2, 3], [5, 6]])
    assert pad_sequences(SEQUENCES).dtype == np.int32


def test_truncating_dtype_items_and_empty_sequences():
    np.testing.assert_array_equal(pad_sequences(SEQUENCES, maxlen=2, truncating="post"),
                                  [[0, 1], [2, 3], [4, 5]])
    out = pad_sequences([[0.5, 1.5], []], maxlen=3, dtype="float32", padding="post")
    np.testing.assert_array_equal(out, [[0.5, 1.5, 0.0], [0, 0, 0]])
    assert out.dtype == np.float32
    vectors = pad_sequences([np.ones((2, 4)), np.ones((1, 4))], dtype="float64")
    assert vectors.shape == (2, 2, 4) and vectors[1, 0].sum() == 0 and vectors[1, 1].sum() == 4
    words = pad_sequences([["a", "b"], ["c"]], dtype=object, value="<pad>")
    assert words.tolist() == [["a", "b"], ["<pad>", "c"]]
    assert pad_sequences([]).shape == (0, 0)
    assert pad_sequences(SEQUENCES, maxlen=0).shape == (3, 0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="padding"):
        pad_sequences(SEQUENCES, padding="middle")
    with pytest.raises(ValueError, match="truncating"):
        pad_sequences(SEQUENCES, truncating="both")
    with pytest.raises(ValueError, match="item 1 is 5"):
        pad_sequences([[1], 5])
    with pytest.raises(ValueError, match="dtype=object"):
        pad_sequences(SEQUENCES, value="x")
    with pytest.raises(ValueError, match="item 1 has items of shape"):
        pad_sequences([np.ones((2, 4)), np.ones((2, 3))], dtype="float64")
