"""Padding masks through models, as Keras 3 passes them: every layer that supports masking
passes the Embedding's mask on, the layers that use it get it, and the loss and metrics skip
the masked steps (issue 11, bugs 1 and 2)."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import gradcheck, layers

PASS_THROUGH = [
    lambda: layers.Dropout(0.5),
    lambda: layers.Dense(6, activation="tanh"),
    lambda: layers.Activation("relu"),
    lambda: layers.LayerNormalization(),
    lambda: layers.BatchNormalization(),
]


@pytest.mark.parametrize("make_middle", PASS_THROUGH)
@pytest.mark.parametrize("rnn", ["SimpleRNN", "LSTM", "GRU"])
def test_sequential_passes_the_mask_through_to_the_rnn(make_middle, rnn):
    """With mask_zero the padding is skipped: post- and pre-padding give the same last state,
    and the RNN sees the Embedding's mask as if it were passed explicitly."""
    gn.utils.set_random_seed(0)
    model = gn.Sequential([layers.Embedding(10, 4, mask_zero=True), make_middle(),
                           getattr(layers, rnn)(3)])
    post = np.array([[3, 5, 0, 0], [7, 1, 2, 0]])
    pre = np.array([[0, 0, 3, 5], [0, 7, 1, 2]])
    out = model.predict(post, verbose=0)
    np.testing.assert_allclose(out, model.predict(pre, verbose=0), atol=1e-6)
    hidden = post
    for layer in model.layers[:-1]:
        hidden = layer(hidden)
    np.testing.assert_allclose(out, model.layers[-1](hidden, mask=post != 0), atol=1e-6)


def test_masked_steps_do_not_count_in_the_loss_or_metrics():
    """Keras averages a sequence loss over the unmasked steps only."""
    gn.utils.set_random_seed(1)
    model = gn.Sequential([layers.Embedding(10, 4, mask_zero=True),
                           layers.LSTM(5, return_sequences=True),
                           layers.Dense(3, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    ids = np.array([[3, 5, 0, 0], [7, 1, 2, 0]])
    labels = np.array([[0, 1, 2, 2], [1, 1, 0, 2]])
    probs = model.predict(ids, verbose=0)
    mask = ids != 0
    per_step = -np.log(np.take_along_axis(probs, labels[..., None], axis=-1)[..., 0])
    expected_loss = per_step[mask].mean()
    expected_acc = (probs.argmax(-1) == labels)[mask].mean()
    result = model.evaluate(ids, labels, verbose=0, return_dict=True)
    assert result["loss"] == pytest.approx(expected_loss, rel=1e-5)
    assert result["accuracy"] == pytest.approx(expected_acc, rel=1e-6)

def test_global_average_pooling_1d_averages_the_unmasked_steps_only():
    gn.utils.set_random_seed(2)
    embedding = layers.Embedding(10, 4, mask_zero=True)
    model = gn.Sequential([embedding, layers.GlobalAveragePooling1D()])
    ids = np.array([[3, 5, 0, 0], [7, 1, 2, 0]])
    out = model.predict(ids, verbose=0)
    table = embedding.get_weights()[0]
    assert np.allclose(out[0], table[[3, 5]].mean(axis=0), atol=1e-6)
    assert np.allclose(out[1], table[[7, 1, 2]].mean(axis=0), atol=1e-6)


def test_global_average_pooling_1d_mask_gradient_is_checked():
    layer = layers.GlobalAveragePooling1D()
    x = np.random.default_rng(3).normal(size=(2, 4, 3))
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 0]], dtype=bool)
    y = layer.forward(x, mask=mask)
    assert np.allclose(y[0], x[0, :2].mean(axis=0))
    dx = layer.backward(np.ones_like(y))
    assert np.allclose(dx[0], np.array([0.5, 0.5, 0, 0])[:, None] * np.ones(3))


def test_functional_model_passes_masks_like_sequential():
    gn.utils.set_random_seed(3)
    embedding, dense, rnn = layers.Embedding(9, 3, mask_zero=True), layers.Dense(4), \
        layers.GRU(2)
    sequential = gn.Sequential([embedding, dense, rnn])
    inputs = layers.Input((4,))
    functional = gn.Model(inputs, rnn(dense(embedding(inputs))))
    ids = np.array([[3, 5, 0, 0], [7, 1, 2, 0]])
    np.testing.assert_allclose(functional.predict(ids, verbose=0),
                               sequential.predict(ids, verbose=0), rtol=1e-6)
    np.testing.assert_allclose(functional.predict(ids, verbose=0),
                               functional.predict(np.array([[0, 0, 3, 5], [0, 7, 1, 2]]),
                                                  verbose=0), atol=1e-6)


def test_merge_and_time_distributed_pass_the_mask_on():
    gn.utils.set_random_seed(4)
    inputs = layers.Input((4,))
    embedded = layers.Embedding(9, 3, mask_zero=True)(inputs)
    merged = layers.Add()([layers.TimeDistributed(layers.Dense(3))(embedded), embedded])
    model = gn.Model(inputs, layers.SimpleRNN(2)(merged))
    np.testing.assert_allclose(model.predict(np.array([[3, 5, 0, 0]]), verbose=0),
                               model.predict(np.array([[0, 0, 3, 5]]), verbose=0), atol=1e-6)
    assert model.output_mask is None            # the RNN returns no sequence: no mask


def test_batch_normalization_takes_statistics_over_unmasked_steps():
    """Keras: the padding (here an embedding of 100) does not count in the batch moments."""
    embedding = layers.Embedding(4, 1, mask_zero=True)
    norm = layers.BatchNormalization(momentum=0.0)
    model = gn.Sequential([layers.Input((3,)), embedding, norm])
    embedding.set_weights([np.array([[100.0], [1.0], [2.0], [3.0]])])
    model(np.array([[1, 2, 0], [3, 0, 0]]), training=True)
    np.testing.assert_allclose(norm.moving_mean.value, [2.0], rtol=1e-5)
    np.testing.assert_allclose(norm.moving_variance.value, [2 / 3], rtol=1e-5)


def test_masked_batch_normalization_gradient_is_checked():
    gn.config.set_floatx("float64")
    try:
        norm = layers.BatchNormalization()
        x = np.random.default_rng(5).normal(size=(3, 4, 2))
        mask = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [1, 0, 0, 0]], dtype=bool)
        norm.maybe_build((None, 4, 2))

        class Masked(layers.Layer):   # the layer with its mask fixed, for the checker
            def forward(self, x, training=False):
                return norm.forward(x, training=training, mask=mask)

            def backward(self, dy, input_gradient=True):
                return norm.backward(dy)

            def parameters(self, trainable_only=False):
                return norm.parameters(trainable_only)

        report = gradcheck.check_layer(Masked(), x, training=True)
        assert report.passed, report
    finally:
        gn.config.set_floatx("float32")
