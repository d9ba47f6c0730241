"""fit(shuffle=True) gathers each batch from the epoch's permutation into a reused buffer:
the same batches, in the same order, as indexing a shuffled copy of the data set would give,
without ever holding that copy (issue 14)."""

from __future__ import annotations

import tracemalloc

import numpy as np

import glassnet as gn
from glassnet import layers


def _model(features: int, seed: int = 0):
    gn.utils.set_random_seed(seed)
    model = gn.Sequential([layers.Input(shape=(features,)), layers.Dense(8, activation="relu"),
                           layers.Dense(1)])
    model.compile(optimizer=gn.optimizers.SGD(0.01, momentum=0.9), loss="mse")
    return model


def _data(n: int, features: int = 64):
    rng = np.random.default_rng(n)
    x = rng.standard_normal((n, features)).astype("float32")
    return x, x[:, :3].sum(axis=1, keepdims=True)


def test_shuffled_batches_are_those_of_a_shuffled_copy_bitwise():
    x, y = _data(1000, 16)
    weights = np.linspace(0.5, 1.5, len(x)).astype("float32")
    fitted = _model(16)
    gn.utils.set_random_seed(7)
    history = fitted.fit(x, y, sample_weight=weights, batch_size=64, epochs=3, verbose=0)

    by_hand = _model(16)                      # the same initial weights
    gn.utils.set_random_seed(7)
    losses = []
    for _ in range(3):
        order = gn.random.global_generator().permutation(len(x))
        xs, ys, ws = x[order], y[order], weights[order]     # the copy fit no longer makes
        total = 0.0
        for start in range(0, len(x), 64):
            part = slice(start, start + 64)
            logs = by_hand.train_on_batch(xs[part], ys[part], sample_weight=ws[part],
                                          return_dict=True)
            total += logs["loss"] * len(xs[part])     # fit's loss: the mean over samples
        losses.append(total / len(x))
    for a, b in zip(fitted.get_weights(), by_hand.get_weights()):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(history.history["loss"], losses, rtol=1e-6)


def _peak_during_fit(n: int) -> tuple[int, int]:
    """(bytes of x and y, peak bytes allocated during one shuffled epoch beyond the start)."""
    x, y = _data(n)
    model = _model(x.shape[1])
    model.fit(x[:256], y[:256], batch_size=64, epochs=1, verbose=0)   # one-off allocations
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        model.fit(x, y, batch_size=64, epochs=1, shuffle=True, verbose=0)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    return x.nbytes + y.nbytes, peak


def test_peak_memory_of_a_shuffled_epoch_does_not_grow_with_the_data():
    small_data, small_peak = _peak_during_fit(20_000)
    large_data, large_peak = _peak_during_fit(80_000)
    # a copy of the data set would add 3/4 of the data's growth (15 MiB); the permutation
    # itself is 8 bytes a sample (3% of a 260-byte sample), the rest is a few batches
    growth = large_peak - small_peak
    assert growth < 0.1 * (large_data - small_data), (small_peak, large_peak)
    assert large_peak < 0.15 * large_data, (large_peak, large_data)
