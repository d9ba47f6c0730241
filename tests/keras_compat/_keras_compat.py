"""Shared pieces of the Keras compatibility suite: Keras-side twins of glassnet models,
a cached MNIST subset, and the tolerances the comparisons use."""

from __future__ import annotations

import functools

import numpy as np

from conftest import data_dir, require_data

# float32 forward passes computed in a different order (NumPy vs torch): a few ulps of the
# values involved, grown by the depth of the models compared here (at most ~6 layers)
RTOL, ATOL = 1e-5, 1e-6


def same_weights(glassnet_model, keras_model) -> None:
    """Give the Keras model glassnet's weights (both list them in Keras' order)."""
    ours = glassnet_model.get_weights()
    theirs = keras_model.get_weights()
    assert [w.shape for w in ours] == [w.shape for w in theirs]
    keras_model.set_weights(ours)


def assert_close(ours, theirs, rtol=RTOL, atol=ATOL) -> None:
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=rtol, atol=atol)


@functools.lru_cache(maxsize=1)
def _mnist_arrays():
    from glassnet.datasets import mnist

    return mnist.load_data(data_dir=data_dir())


def mnist_subset(train: int, test: int):
    """The first `train` / `test` MNIST images as float32 in [0, 1], (N, 28, 28, 1), with
    uint8 labels; under CI=true a missing file fails, else the test is skipped."""
    for name in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                 "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]:
        require_data(f"mnist/{name}")
    (x_train, y_train), (x_test, y_test) = _mnist_arrays()
    scale = np.float32(1 / 255)
    return ((x_train[:train, :, :, None] * scale, y_train[:train]),
            (x_test[:test, :, :, None] * scale, y_test[:test]))
