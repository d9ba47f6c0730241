"""Gradient buckets in one process: how the flat buffer is cut, when each bucket starts, and
that fit gives the same numbers with buckets as with one all-reduce (the 2-rank check over
real MPI is tests/distribution/test_mpi.py)."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers, losses, optimizers
from glassnet.distribution import Distribution, FlatBuffer, SingleProcess
from glassnet.training import gradient_buckets


class InFlight(SingleProcess):
    """Rank 0 of 2 whose partner holds the same numbers, so a sum doubles. A started
    all-reduce takes the numbers it was started with and delivers their sum only at
    `wait_all`, as MPI does: a gradient written into a bucket after its start is lost."""

    size = 2

    def __init__(self):
        super().__init__()
        self.started: list[int] = []
        self._flights: list[tuple[np.ndarray, np.ndarray]] = []

    def allreduce_sum(self, buffer):
        buffer *= 2
        return buffer

    def start_allreduce_sum(self, buffer):
        self.started.append(buffer.size)
        self._flights.append((buffer, 2 * buffer))
        return len(self._flights)

    def wait_all(self, requests):
        for buffer, result in self._flights:
            buffer[...] = result
        self._flights.clear()


def _mlp(shared: bool) -> gn.Sequential:
    dense = layers.Dense(7, activation="tanh")
    middle = [dense, dense] if shared else [dense, layers.Dense(7, activation="relu")]
    return gn.Sequential([layers.Input((7,)), *middle, layers.Dropout(0.2),
                          layers.Dense(4, activation="softmax")])


def _fit(bucket_bytes, shared: bool, loss) -> tuple[np.ndarray, dict, InFlight]:
    comm = InFlight()
    setting = Distribution(comm)
    setting.bucket_bytes = bucket_bytes
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((45, 7)), rng.integers(0, 4, 45)
    with _float64(), setting.scope():
        gn.random.set_random_seed(5)
        model = _mlp(shared)
        model.compile(optimizer=optimizers.SGD(0.1, momentum=0.5), loss=loss,
                      metrics=["accuracy"])
        history = model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=True)
    weights = np.concatenate([p.value.ravel() for p in model.parameters()])
    return weights, history.history, comm


@contextlib.contextmanager
def _float64():
    previous = gn.config.floatx()
    gn.config.set_floatx("float64")
    try:
        yield
    finally:
        gn.config.set_floatx(previous)


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy",
                                  losses.SparseCategoricalCrossentropy(ignore_class=1)])
def test_buckets_give_the_single_all_reduce_bit_for_bit(shared, loss):
    """Every weight its own bucket (1 byte): the same weights and History as one
    all-reduce, with a layer called twice, a Dropout, a last batch of 5 (rank 0 of 2: 3
    rows) and a loss whose share is known only after the reduction (ignore_class)."""
    single, single_history, single_comm = _fit(None, shared, loss)
    bucketed, bucketed_history, comm = _fit(1, shared, loss)
    np.testing.assert_array_equal(bucketed, single)
    assert bucketed_history == single_history
    assert not single_comm.started
    # a step's buckets, last weights first: b3, W3, (b2, W2,) b1; W1 rides with the scalars
    assert comm.started[:5] == ([4, 28, 7, 4, 28] if shared else [4, 28, 7, 49, 7])


def test_buckets_start_before_backward_reaches_the_first_layer():
    comm = InFlight()
    setting = Distribution(comm)
    setting.bucket_bytes = 1
    model = _mlp(shared=False)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    first = model.layers[0]
    seen = []

    def hook(layer, phase, call):
        if phase == "backward":
            seen.append(len(comm.started))
        return call()

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((32, 7)).astype("float32"), rng.integers(0, 4, 32)
    model.build((None, 7))
    first.add_hook(hook)
    with setting.scope():
        model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    # the first step makes the buffer (one all-reduce); at the second, the 2 later layers'
    # W and b are in flight when backward reaches the first layer
    assert seen == [0, 4]


def test_plan_cuts_the_buffer_from_its_end_in_reverse_layer_order():
    model = gn.Sequential([layers.Input((5,)), layers.Dense(6), layers.Dense(3)])
    params = model.parameters(trainable_only=True)       # W1 (5, 6), b1, W2 (6, 3), b2
    buffer = FlatBuffer([p.value.shape for p in params], scalars=4, dtype=np.float64)
    buckets = gradient_buckets.plan(model, buffer, params, cap_bytes=8 * 18)
    assert buckets.members == [[3, 2], [1, 0]]
    assert buckets.slices == [(4 + 36, 4 + 57), (0, 4 + 36)]   # scalars with the last one
    assert gradient_buckets.plan(model, buffer, params, cap_bytes=None) is None
    assert gradient_buckets.plan(model, buffer, params, cap_bytes=10**6) is None   # one
