"""Step buffers: fit's layers write into last step's arrays, with the numbers of fresh ones."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import layers
from glassnet.training.buffers import StepBuffers, step_buffer
from glassnet.utils import set_random_seed


def test_the_same_call_gets_the_same_array_step_after_step():
    buffers, owner = StepBuffers(), object()
    seen = []
    for _ in range(3):
        with buffers.reusing():
            first = step_buffer(owner, "z", (4, 3), np.float32)
            second = step_buffer(owner, "z", (4, 3), np.float32)   # a second call, same step
            seen.append((first, second))
    assert all(a is seen[0][0] and b is seen[0][1] for a, b in seen)
    assert not np.shares_memory(seen[0][0], seen[0][1])
    with buffers.reusing():                         # a new shape or dtype: a new array
        assert step_buffer(owner, "z", (2, 3), np.float32) is not seen[0][0]
        assert step_buffer(owner, "z", (4, 3), np.float64).dtype == np.float64
    buffers.clear()
    with buffers.reusing():
        assert step_buffer(owner, "z", (4, 3), np.float32) is not seen[0][0]


def test_outside_a_training_step_every_call_gets_a_new_array(rng):
    layer = layers.Dense(5, activation="relu")
    x = rng.standard_normal((4, 3)).astype("float32")
    y1 = layer(x, training=True)
    y2 = layer(x * 2, training=True)
    assert not np.shares_memory(y1, y2)
    np.testing.assert_array_equal(y2, layer(x * 2))
    dx1 = layer.backward(np.ones_like(y2))
    dx2 = layer.backward(np.ones_like(y2))
    assert not np.shares_memory(dx1, dx2)


def shared_layer_model():
    """Two inputs through one shared Dense (two calls a step), added, then a softmax."""
    a, b = layers.Input(shape=(3,)), layers.Input(shape=(3,))
    shared = layers.Dense(8, activation="relu")
    h = layers.Add()([shared(a), shared(b)])
    return gn.Model([a, b], layers.Dense(3, activation="softmax")(layers.Dense(8,
                                                                     activation="relu")(h)))


def cnn_model():
    """A max pooling on the input (unfused) and one after a Conv2D (fused with it)."""
    return gn.Sequential([layers.Input(shape=(6, 6, 2)), layers.MaxPooling2D(2),
                          layers.Conv2D(4, 2, activation="relu"), layers.MaxPooling2D(2),
                          layers.Flatten(), layers.Dense(3, activation="softmax")])


@pytest.mark.parametrize("make", [
    lambda: gn.Sequential([layers.Input(shape=(3,)), layers.Dense(16, activation="relu"),
                           layers.Dense(8, activation="relu"),
                           layers.Dense(3, activation="softmax")]),
    shared_layer_model,
    cnn_model,
], ids=["sequential", "shared-layer", "cnn-max-pooling"])
def test_fit_with_step_buffers_equals_steps_without_them(rng, make):
    """fit (buffers reused across steps) and train_on_batch (fresh arrays every step) give
    bitwise the same weights, also with a layer called twice a step, and with max pooling
    (its window cells and dL/dx are step buffers; its output is a view of the cells)."""
    x = rng.standard_normal((40, 6, 6, 2) if make is cnn_model else (40, 3)).astype("float32")
    y = rng.integers(0, 3, 40)
    inputs = [x, x[::-1].copy()] if make is shared_layer_model else x
    models = []
    for _ in range(2):
        set_random_seed(3)
        model = make()
        model.compile(optimizer=gn.optimizers.SGD(0.1), loss="sparse_categorical_crossentropy")
        models.append(model)
    fitted, stepped = models
    fitted.fit(inputs, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    for _ in range(2):
        for start in range(0, 40, 8):
            part = slice(start, start + 8)
            batch = [a[part] for a in inputs] if isinstance(inputs, list) else inputs[part]
            stepped.train_on_batch(batch, y[part])
    for a, b in zip(fitted.get_weights(), stepped.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert fitted._step_buffers._arrays == {}       # released when fit returns
