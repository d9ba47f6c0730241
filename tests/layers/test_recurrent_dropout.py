"""dropout= and recurrent_dropout= of SimpleRNN, LSTM and GRU: the same masks give Keras 3.15's
numbers (its cells stepped by hand with glassnet's masks), float64 gradient checks with the
masks fixed, inference untouched, one mask per sequence, training that learns, configs."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
from glassnet import gradcheck, layers

VARIANTS = [(layers.SimpleRNN, {}), (layers.LSTM, {}), (layers.GRU, {}),
            (layers.GRU, {"reset_after": False})]
IDS = ["SimpleRNN", "LSTM", "GRU", "GRU-reset_before"]


def _keras_steps(keras, layer, x, gates: int):
    """Keras' cell of the same class and weights, stepped over x with `layer`'s last masks
    (Keras draws one mask per gate when recurrent_dropout > 0: each gets the same one)."""
    config = {k: v for k, v in layer.get_config().items()
              if k not in ("name", "trainable", "dtype", "return_sequences", "return_state",
                           "go_backwards", "stateful", "unroll", "zero_output_for_mask",
                           "use_cudnn", "kernel_initializer", "recurrent_initializer",
                           "bias_initializer", "kernel_regularizer", "recurrent_regularizer",
                           "bias_regularizer")}
    keras_layer = getattr(keras.layers, type(layer).__name__)(**config, return_sequences=True)
    keras_layer.build(x.shape)
    keras_layer.set_weights(layer.get_weights())
    cell = keras_layer.cell
    many = gates > 1
    m_x, m_h = (keras.ops.convert_to_tensor(m) for m in (layer._input_mask,
                                                         layer._recurrent_mask))
    cell._dropout_mask = [m_x] * gates if many else m_x
    cell._recurrent_dropout_mask = [m_h] * gates if many else m_h
    states = [np.zeros((len(x), layer.units), "float32")] * (2 if gates == 4 else 1)
    outputs = []
    for t in range(x.shape[1]):
        h, states = cell(x[:, t], states, training=True)
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        outputs.append(keras.ops.convert_to_numpy(h.detach()))
    return np.stack(outputs, axis=1)


@pytest.mark.parametrize(("cls", "kwargs"), VARIANTS, ids=IDS)
def test_with_the_same_masks_the_outputs_are_keras(keras, cls, kwargs, rng):
    layer = cls(4, dropout=0.3, recurrent_dropout=0.4, seed=3, return_sequences=True,
                **kwargs)
    x = rng.standard_normal((5, 6, 3)).astype("float32")
    ours = layer(x, training=True)
    assert layer._input_mask.shape == (5, 3) and layer._recurrent_mask.shape == (5, 4)
    assert (layer._input_mask == 0).any() and (layer._recurrent_mask == 0).any()
    np.testing.assert_allclose(ours, _keras_steps(keras, layer, x, layer.gates),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(("cls", "kwargs"), VARIANTS + [
    (layers.LSTM, {"return_sequences": True, "go_backwards": True}),
    (layers.GRU, {"return_state": True}), (layers.SimpleRNN, {"activation": "relu"})],
    ids=IDS + ["LSTM-backwards", "GRU-state", "SimpleRNN-relu"])
@pytest.mark.parametrize(("rate", "recurrent_rate"), [(0.3, 0.0), (0.0, 0.4), (0.3, 0.4)])
def test_gradients_with_the_masks_fixed(cls, kwargs, rate, recurrent_rate, rng):
    layer = cls(3, dropout=rate, recurrent_dropout=recurrent_rate, seed=7, **kwargs)
    x = rng.standard_normal((4, 5, 2))
    if kwargs.get("return_state"):
        layer.maybe_build((None, 5, 2))
        dy = [rng.standard_normal((4, 3)), rng.standard_normal((4, 3))]
        assert _state_gradient_error(layer, x, dy) < 1e-6
    else:
        report = gradcheck.check_layer(layer, x, training=True)
        assert report.passed, str(report)


def _state_gradient_error(layer, x, dy):
    """Largest relative error of backward against central differences of
    Σ output·dy_0 + h·dy_1, for x and every weight (the masks replayed at each forward)."""
    gradcheck.to_float64(layer)
    state = layer._generator.bit_generator.state

    def objective():
        layer._generator.bit_generator.state = state
        out, h = layer.forward(x, training=True)
        return float((out * dy[0]).sum() + (h * dy[1]).sum())

    objective()
    layer.zero_grad()
    dx = layer.backward(dy)
    pairs = [(dx, x)] + [(p.grad.copy(), p.value) for p in layer.parameters()]
    return max(gradcheck.relative_error(
        analytic, gradcheck.numerical_gradient(objective, array, range(array.size), 1e-6))
        for analytic, array in pairs)


@pytest.mark.parametrize(("cls", "kwargs"), VARIANTS, ids=IDS)
def test_inference_is_unchanged_and_training_draws_a_mask_per_sequence(cls, kwargs, rng):
    plain = cls(4, return_sequences=True, **kwargs)
    dropped = cls(4, dropout=0.5, recurrent_dropout=0.5, return_sequences=True, **kwargs)
    x = rng.standard_normal((6, 5, 3)).astype("float32")
    plain.maybe_build(x.shape)
    dropped.maybe_build(x.shape)
    dropped.set_weights(plain.get_weights())
    np.testing.assert_array_equal(dropped(x), plain(x))
    np.testing.assert_array_equal(dropped(x, training=False), plain(x))
    first = dropped(x, training=True)
    first_masks = dropped._input_mask.copy(), dropped._recurrent_mask.copy()
    assert not np.allclose(first, plain(x))
    dropped(x, training=True)                    # the next sequence (batch): new masks
    assert not np.array_equal(dropped._input_mask, first_masks[0])
    assert set(np.unique(first_masks[0])) <= {0.0, 2.0}        # kept / (1 - rate)
    # one mask for the whole sequence: the first step alone gives the first step's output
    np.testing.assert_allclose(
        _first_step(dropped, x, first_masks), first[:, 0], rtol=1e-5, atol=1e-6)


def _first_step(layer, x, masks):
    """Step 0 from the zero state with the recorded masks: x_0 ⊙ m_x through the layer with
    dropout off (the recurrent mask multiplies a zero state)."""
    clone = type(layer).from_config({**layer.get_config(), "dropout": 0.0,
                                     "recurrent_dropout": 0.0, "name": None})
    clone.maybe_build(x.shape)
    clone.set_weights(layer.get_weights())
    return clone(x[:, :1] * masks[0][:, None])[:, 0]


def test_masks_are_reproducible_from_a_seed_and_saved_in_the_config(rng):
    x = rng.standard_normal((4, 3, 2)).astype("float32")
    a = layers.LSTM(3, dropout=0.25, recurrent_dropout=0.5, seed=11)
    b = layers.LSTM.from_config(a.get_config())
    assert b.get_config()["dropout"] == 0.25 and b.get_config()["recurrent_dropout"] == 0.5
    assert b.get_config()["seed"] == 11
    a.maybe_build(x.shape)
    b.maybe_build(x.shape)
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(a(x, training=True), b(x, training=True))
    for bad in (-0.1, 1.0, "half", True):
        with pytest.raises(ValueError, match="recurrent_dropout"):
            layers.GRU(2, recurrent_dropout=bad)
        with pytest.raises(ValueError, match="dropout"):
            layers.SimpleRNN(2, dropout=bad)


def test_layers_without_dropout_leave_the_global_random_stream_alone():
    gn.random.set_random_seed(5)
    layers.LSTM(3)
    after_plain = gn.random.global_generator().random()
    gn.random.set_random_seed(5)
    after_nothing = gn.random.global_generator().random()
    assert after_plain == after_nothing


@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU, layers.SimpleRNN])
def test_a_model_with_rnn_dropout_learns(cls, tmp_path):
    """Is the sum of a sequence positive? Training with both dropouts still learns it."""
    gn.random.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 8, 1)).astype("float32")
    y = (x.sum(axis=(1, 2)) > 0).astype("float32")
    model = gn.Sequential([layers.Input(shape=(8, 1)),
                           cls(8, dropout=0.1, recurrent_dropout=0.2, seed=1),
                           layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=gn.optimizers.Adam(0.02), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=25, batch_size=32, verbose=0)
    scores = model.evaluate(x, y, verbose=0, return_dict=True)        # dropout off
    assert scores["loss"] < 0.5 * history.history["loss"][0] and scores["accuracy"] > 0.9
    model.save(tmp_path / "rnn.glassnet")
    loaded = gn.load_model(tmp_path / "rnn.glassnet")
    assert loaded.layers[0].recurrent_dropout == 0.2
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("cls", [layers.LSTM, layers.GRU, layers.SimpleRNN])
def test_bidirectional_with_dropout_gradients(cls, rng):
    """Both directions draw their masks; the checker replays the inner layers' generators."""
    layer = layers.Bidirectional(cls(3, dropout=0.2, recurrent_dropout=0.3, seed=2,
                                     return_sequences=True), merge_mode="concat")
    report = gradcheck.check_layer(layer, rng.standard_normal((3, 4, 2)), training=True)
    assert report.passed, str(report)
